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
// stands for, and how to use one. A template shows its language, header,
// parameters, its status when it cannot be sent, and whether it was typed
// in by hand. Admins manage the lists on the admin page; /templates sync
// reads the templates from the account.
func catalogList(kind ops.CatalogKind) func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
	return func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
		plural := words.Plural(string(kind))
		if len(c.cmd.Args) > 0 {
			if kind == ops.CatalogTemplate {
				return nil, userErrorf("Usage: /templates, or /templates sync to read them from the account.")
			}
			return nil, userErrorf("Usage: /%s", plural)
		}
		list, err := r.ops.Catalog(ctx, kind)
		if err != nil {
			return nil, err
		}
		use := fmt.Sprintf("/campaign set <id> %s=<name>", kind)
		if len(list) == 0 {
			if kind == ops.CatalogTemplate {
				return text("No saved templates yet. /templates sync reads them from the WhatsApp Business Account (meta.waba_id); admins add others on the admin page; until then use template=<name>:<language>."), nil
			}
			return text(fmt.Sprintf("No saved %s yet. Admins add them on the admin page; until then use flow=<flow id>.", plural)), nil
		}
		lines := []string{fmt.Sprintf("Saved %s (%d):", plural, len(list))}
		for _, e := range list {
			line := fmt.Sprintf("• %s → %s", quoted(e.Name), e.ExternalID)
			if e.Language != "" {
				line += " · " + e.Language
			}
			switch {
			case kind == ops.CatalogTemplate:
				line += templateDetails(e)
			case e.Params > 0:
				line += " · " + paramCount(e.Params)
			}
			lines = append(lines, line)
		}
		if kind == ops.CatalogTemplate {
			lines = append(lines, fmt.Sprintf("Use one with %s. /templates sync reads them from the account; admins add others on the admin page.", use))
		} else {
			lines = append(lines, fmt.Sprintf("Use one with %s. Admins manage this list on the admin page.", use))
		}
		return text(strings.Join(lines, "\n")), nil
	}
}

// templateDetails is what a template line adds after the language: the
// header, the parameters, the status when it cannot be sent, and
// "hand-made" for an entry typed in by hand.
func templateDetails(e ops.CatalogEntry) string {
	var out string
	if h := e.HeaderWords(); h != "" {
		out += " · " + h
	}
	out += " · " + e.ParamWords()
	if !e.Approved() {
		out += " · " + e.Status
	}
	if !e.Synced {
		out += " · hand-made"
	}
	return out
}

// maxSyncLines bounds each list of a /templates sync reply.
const maxSyncLines = 20

// templatesSync reads the templates from the account and answers with
// the counts and what needs attention: templates that cannot be sent,
// those gone from the account, clashes with hand-made entries.
func (r *Router) templatesSync(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) > 0 {
		return nil, userErrorf("Usage: %s", usageOf("templates sync"))
	}
	res, err := r.ops.SyncTemplates(ctx, c.who)
	if err != nil {
		return nil, err
	}
	lines := []string{fmt.Sprintf("Templates synced from %s: %s.", words.List(res.Gateways), res.Summary())}
	section := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		lines = append(lines, title)
		for _, it := range items[:min(len(items), maxSyncLines)] {
			lines = append(lines, "• "+it)
		}
		if more := len(items) - maxSyncLines; more > 0 {
			lines = append(lines, fmt.Sprintf("… and %s more", words.Number(more)))
		}
	}
	var notApproved, gone, clashes []string
	for _, e := range res.NotApproved {
		notApproved = append(notApproved, fmt.Sprintf("%s (%s): %s", quoted(e.Name), e.Language, e.Status))
	}
	for _, e := range res.Removed {
		gone = append(gone, fmt.Sprintf("%s (%s)", quoted(e.Name), e.Language))
	}
	for _, cl := range res.Clashes {
		clashes = append(clashes, cl.ClashText())
	}
	section("Not approved, so campaigns cannot send them:", notApproved)
	section("No longer in the account (kept as DELETED):", gone)
	section("Left alone:", clashes)
	section("Skipped:", res.Skipped)
	if len(res.NotApproved)+len(res.Removed)+len(res.Clashes)+len(res.Skipped) == 0 {
		lines = append(lines, "/templates lists them.")
	}
	return text(strings.Join(lines, "\n")), nil
}

// paramCount is "no params", "1 param", "3 params".
func paramCount(n int) string {
	if n == 0 {
		return "no params"
	}
	return words.Count(n, "param")
}
