package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

// settingsList shows every setting with its value, secrets masked; with a
// group ("/settings meta") or a key, each with its help line.
func (r *Router) settingsList(ctx context.Context, c call) ([]bot.Reply, error) {
	vals, err := r.ops.Settings(ctx, c.who)
	if err != nil {
		return nil, err
	}
	filter := ""
	if len(c.cmd.Args) > 0 {
		filter = strings.ToLower(c.cmd.Args[0])
	}
	var lines []string
	group := ""
	for _, v := range vals {
		if filter != "" && v.Group() != filter && v.Key != filter {
			continue
		}
		if v.Group() != group && filter == "" {
			group = v.Group()
			lines = append(lines, "")
		}
		value := v.Value
		switch {
		case value == "":
			value = "(not set)"
		case !v.Set:
			value += " (default)"
		case v.FromEnv():
			value += " (from " + strings.TrimPrefix(v.UpdatedBy, "env:") + ")"
		}
		line := v.Key + " = " + value
		if filter != "" {
			line += "\n   " + v.Help
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return nil, userErrorf("There is no setting or group %q; /settings lists them.", words.Cut(filter, 40))
	}
	head := "Settings (change with /set <key> <value>; /settings <group> explains them):"
	if filter != "" {
		head = "Settings:"
	}
	return text(head + "\n" + strings.TrimLeft(strings.Join(lines, "\n"), "\n")), nil
}

// settingSet changes one setting through the registry's validation. A
// secret is refused here and its value is neither echoed nor logged.
func (r *Router) settingSet(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) < 1 {
		return nil, userErrorf("Usage: /set <key> <value>, e.g. /set queue.max_attempts 8 (/settings lists the keys).")
	}
	key := c.cmd.Args[0]
	if len(c.cmd.Args) < 2 {
		v, err := r.ops.Setting(ctx, key)
		if err != nil {
			return nil, err
		}
		return nil, userErrorf("Usage: /set %s <value> — %s (now %s).", v.Key, v.Help, orNotSet(v.Value))
	}
	value := strings.Join(c.cmd.Args[1:], " ")
	if strings.EqualFold(key, ops.SettingIntakeMessage) {
		// A saved message's name: /set intake.message "Diwali offer".
		if name, tail, ok := CutName(value); ok && tail == "" && name != "" {
			value = name
		}
	}
	v, err := r.ops.SetSetting(ctx, c.who, key, value, false)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("%s is now %s. It takes effect within a few seconds, without a restart.", v.Key, orNotSet(v.Value))), nil
}

func orNotSet(v string) string {
	if v == "" {
		return "(not set)"
	}
	return v
}
