package webadmin

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/messagebridge/messagebridge/store/words"

	"github.com/messagebridge/messagebridge/commands/ops"
)

// settingRow is one setting as a form field.
type settingRow struct {
	Key, Help, Unit string
	// Value is what the field shows: the current value, or for a secret
	// its mask (the field itself stays empty: secrets are write-only).
	Value   string
	Default string
	Secret  bool
	Choices []string
	// Source says where the value comes from: default, variable, or who
	// changed it and when.
	Source string
	Error  string
}

// settingRows turns the registry's values into form rows, keeping those
// keep says yes to, in the registry's order.
func (s *server) settingRows(r *http.Request, keep func(key, group string) bool) ([]settingRow, error) {
	vals, err := s.ops.Settings(r.Context(), actor(r))
	if err != nil {
		return nil, err
	}
	loc := s.ops.Location(r.Context())
	var rows []settingRow
	for _, v := range vals {
		if !keep(v.Key, v.Group()) {
			continue
		}
		row := settingRow{Key: v.Key, Help: v.Help, Unit: v.Unit, Value: v.Value,
			Default: v.Default, Secret: v.Secret, Choices: v.Choices}
		if v.Type == "bool" {
			row.Choices = []string{"true", "false"}
		}
		switch {
		case !v.Set:
			row.Source = "default"
		case v.FromEnv():
			row.Source = "from " + v.EnvVar()
		default:
			row.Source = fmt.Sprintf("set by %s, %s", v.UpdatedBy, v.UpdatedAt.In(loc).Format(timeLayout))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// applySettings changes the settings of rows that the form posts: a
// plain field when its value differs, a secret only when a new value is
// typed or its "clear" box is ticked. It returns the keys changed and
// the rows with the problems of those refused.
func (s *server) applySettings(r *http.Request, rows []settingRow) (changed []string, failed int, err error) {
	if err := r.ParseForm(); err != nil {
		return nil, 0, ops.Errorf(ops.EINVALID, "The form could not be read (%v); nothing was changed.", err)
	}
	for i := range rows {
		row := &rows[i]
		field := "s:" + row.Key
		if _, posted := r.PostForm[field]; !posted && r.PostFormValue("clear:"+row.Key) == "" {
			continue
		}
		v := strings.TrimSpace(r.PostFormValue(field))
		if row.Secret {
			switch {
			case v != "":
			case r.PostFormValue("clear:"+row.Key) != "":
				v = ""
			default:
				continue
			}
		} else if v == row.Value {
			continue
		}
		nv, err := s.ops.SetSetting(r.Context(), actor(r), row.Key, v, true)
		if err != nil {
			if ops.ErrorCode(err) == ops.EINTERNAL {
				s.log.ErrorContext(r.Context(), "save setting", "key", row.Key, "err", err)
			}
			row.Error = ops.ErrorMessage(err)
			if !row.Secret {
				row.Value = v
			}
			failed++
			continue
		}
		row.Value = nv.Value
		changed = append(changed, row.Key)
	}
	return changed, failed, nil
}

type settingsData struct {
	Groups []settingGroup
}

type settingGroup struct {
	Name string
	Rows []settingRow
}

func groupRows(rows []settingRow) []settingGroup {
	var gs []settingGroup
	for _, row := range rows {
		g, _, _ := strings.Cut(row.Key, ".")
		if len(gs) == 0 || gs[len(gs)-1].Name != g {
			gs = append(gs, settingGroup{Name: g})
		}
		gs[len(gs)-1].Rows = append(gs[len(gs)-1].Rows, row)
	}
	return gs
}

// otherSettings keeps the settings that are not a gateway's: the
// gateways page has those.
func (s *server) otherSettings() func(key, group string) bool {
	gws := s.ops.GatewayNames()
	return func(key, group string) bool {
		return key != ops.SettingActiveGateway && !slices.Contains(gws, group)
	}
}

func (s *server) settingsPage(w http.ResponseWriter, r *http.Request) {
	rows, err := s.settingRows(r, s.otherSettings())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "settings", page{Title: "Settings", Nav: "settings", Data: settingsData{Groups: groupRows(rows)}})
}

func (s *server) settingsSave(w http.ResponseWriter, r *http.Request) {
	rows, err := s.settingRows(r, s.otherSettings())
	if err != nil {
		s.fail(w, r, "/admin/settings", err)
		return
	}
	changed, failed, err := s.applySettings(r, rows)
	if err != nil {
		s.fail(w, r, "/admin/settings", err)
		return
	}
	if failed > 0 {
		msg := fmt.Sprintf("%s %s not saved; see below.", words.Count(failed, "setting"), words.Noun(failed, "was"))
		if len(changed) > 0 {
			msg += " Saved: " + strings.Join(changed, ", ") + "."
		}
		s.render(w, r, http.StatusUnprocessableEntity, "settings", page{Title: "Settings", Nav: "settings",
			Errors: []string{msg}, Data: settingsData{Groups: groupRows(rows)}})
		return
	}
	if len(changed) == 0 {
		s.done(w, r, "/admin/settings", "Nothing changed.")
		return
	}
	s.done(w, r, "/admin/settings", "Saved %s; in effect within seconds, no restart needed (%s).", words.Count(len(changed), "setting"), strings.Join(changed, ", "))
}
