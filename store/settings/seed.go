package settings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// Seed applies the MB_* variables at start. A value that came from its
// variable follows the variable on every start: a changed variable
// replaces it (so rotating a token by changing the variable works) and a
// removed one unsets it. A value an admin changed wins over the variable,
// and the log names who changed it and when. An invalid variable stops the
// start with an error naming the variable and the rule, never the value.
func Seed(ctx context.Context, reg *Registry, st Store, getenv func(string) string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	for _, d := range reg.defs {
		env := d.EnvVar()
		if env == "" {
			continue
		}
		raw := strings.TrimSpace(getenv(env))
		cur, err := st.Setting(ctx, d.Key)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("seed %s: %w", d.Key, err)
		}
		fromEnv := exists && strings.HasPrefix(cur.UpdatedBy, EnvActorPrefix)
		if raw == "" {
			if fromEnv {
				if err := st.DeleteSetting(ctx, d.Key); err != nil {
					return fmt.Errorf("seed %s: %w", d.Key, err)
				}
				log.Info("setting unset: its variable is no longer set", "setting", d.Key, "env", env)
			}
			continue
		}
		v, err := d.Normalize(raw)
		if err != nil {
			var ie *InvalidError
			if errors.As(err, &ie) {
				errs = append(errs, fmt.Errorf("%s: %s", env, ie.Message))
				continue
			}
			return err
		}
		switch {
		case exists && !fromEnv:
			if cur.Value != v {
				log.Warn("environment variable ignored: an admin changed the setting, and an admin's change wins",
					"env", env, "setting", d.Key, "changed_by", cur.UpdatedBy, "changed_at", cur.UpdatedAt.UTC().Format(time.RFC3339))
			}
			continue
		case exists && cur.Value == v && cur.UpdatedBy == EnvActorPrefix+env:
			continue
		}
		if err := st.PutSetting(ctx, d.Key, v, d.Secret, EnvActorPrefix+env); err != nil {
			return fmt.Errorf("seed %s: %w", d.Key, err)
		}
		if exists {
			log.Info("setting follows its variable: new value", "setting", d.Key, "env", env)
		}
	}
	return errors.Join(errs...)
}

// MarkdownTable is the README's settings table: one row per setting with
// its key, variable, default, who may change it and its help.
func (r *Registry) MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| setting | variable | default | who may change | meaning |\n|---|---|---|---|---|\n")
	for _, d := range r.defs {
		key := "`" + d.Key + "`"
		if d.Secret {
			key += " (secret)"
		}
		env := "—"
		if e := d.EnvVar(); e != "" {
			env = "`" + e + "`"
		}
		def := "(none)"
		if d.Default != "" {
			def = "`" + d.Default + "`"
		}
		if d.Unit != "" {
			def += " " + d.Unit
		}
		role := d.Role
		if role == "" {
			role = RoleAdmin
		}
		help := strings.ReplaceAll(d.Help, "|", `\|`)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", key, env, strings.ReplaceAll(def, "|", `\|`), role, help)
	}
	return b.String()
}
