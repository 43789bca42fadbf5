package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

// catalogList lists the saved flows or templates: each name with what it
// stands for, and how to use one. Admins manage the lists on the admin
// page.
func catalogList(kind ops.CatalogKind) func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
	return func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
		plural := words.Plural(string(kind))
		if len(c.cmd.Args) > 0 {
			return nil, userErrorf("Usage: /%s", plural)
		}
		list, err := r.ops.Catalog(ctx, kind)
		if err != nil {
			return nil, err
		}
		use := fmt.Sprintf("/campaign set <id> %s=<name>", kind)
		if len(list) == 0 {
			raw := "flow=<flow id>"
			if kind == ops.CatalogTemplate {
				raw = "template=<name>:<language>"
			}
			return text(fmt.Sprintf("No saved %s yet. Admins add them on the admin page; until then use %s.", plural, raw)), nil
		}
		lines := []string{fmt.Sprintf("Saved %s (%d):", plural, len(list))}
		for _, e := range list {
			line := fmt.Sprintf("• %s → %s", quoted(e.Name), e.ExternalID)
			if e.Language != "" {
				line += " · " + e.Language
			}
			if kind == ops.CatalogTemplate || e.Params > 0 {
				line += " · " + paramCount(e.Params)
			}
			lines = append(lines, line)
		}
		lines = append(lines, fmt.Sprintf("Use one with %s. Admins manage this list on the admin page.", use))
		return text(strings.Join(lines, "\n")), nil
	}
}

// paramCount is "no params", "1 param", "3 params".
func paramCount(n int) string {
	if n == 0 {
		return "no params"
	}
	return words.Count(n, "param")
}
