package webadmin

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"

	"github.com/go-chi/chi/v5"
)

type gatewayCard struct {
	Name     string
	Active   bool
	Paused   string
	Settings []settingRow
}

type gatewaysData struct {
	Cards []gatewayCard
	// Force names the gateway whose switch was just refused for a reason
	// an admin may override: the page offers "Switch anyway".
	Force string
}

// gatewaysPage shows the choice of gateway and each gateway's
// credentials; secrets are shown masked and replaced only when a new
// value is typed.
func (s *server) gatewaysPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.gatewaysData(r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "gateways", page{Title: "Gateways", Nav: "gateways", Data: d})
}

func (s *server) gatewaysData(r *http.Request) (gatewaysData, error) {
	st, err := s.ops.Gateways(r.Context())
	if err != nil {
		return gatewaysData{}, err
	}
	rows, err := s.settingRows(r, func(key, group string) bool { return slices.Contains(st.Available, group) })
	if err != nil {
		return gatewaysData{}, err
	}
	var d gatewaysData
	for _, name := range st.Available {
		c := gatewayCard{Name: name, Active: name == st.Active}
		for _, p := range st.Paused {
			if p.Gateway == name {
				c.Paused = p.BlockedReason
			}
		}
		for _, row := range rows {
			if strings.HasPrefix(row.Key, name+".") {
				c.Settings = append(c.Settings, row)
			}
		}
		d.Cards = append(d.Cards, c)
	}
	return d, nil
}

func (s *server) gatewayUse(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("gateway")
	force := r.PostFormValue("force") == "1"
	sw, err := s.ops.SwitchGateway(r.Context(), actor(r), name, force)
	if err != nil {
		if !errors.Is(err, ops.ErrForceable) {
			s.fail(w, r, "/admin/gateways", err)
			return
		}
		// Refused with a reason an admin may override (the gateway is
		// not set up, or campaigns could not go out through it): show
		// it, with the button that forces the switch.
		d, derr := s.gatewaysData(r)
		if derr != nil {
			s.fail(w, r, "/admin/gateways", derr)
			return
		}
		d.Force = strings.ToLower(strings.TrimSpace(name))
		s.render(w, r, http.StatusConflict, "gateways", page{Title: "Gateways", Nav: "gateways", Errors: []string{ops.ErrorMessage(err)}, Data: d})
		return
	}
	msg := fmt.Sprintf("Messages now go out through %s.", sw.Active)
	if n := len(sw.Paused); n > 0 {
		ids := make([]string, n)
		for i, p := range sw.Paused {
			ids[i] = fmt.Sprintf("#%d", p.Campaign.ID)
		}
		verb := "were"
		if n == 1 {
			verb = "was"
		}
		msg += fmt.Sprintf(" %s it cannot carry %s paused: %s (the dashboard says why; resume once fixed).",
			words.Count(n, "running campaign"), verb, strings.Join(ids, ", "))
	}
	if sw.Warning != "" {
		msg += " Warning: " + sw.Warning
	}
	s.done(w, r, "/admin/gateways", "%s", msg)
}

// gatewayCredentials saves one gateway's settings.
func (s *server) gatewayCredentials(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	if !slices.Contains(s.ops.GatewayNames(), name) {
		http.NotFound(w, r)
		return
	}
	// One read of the page's data: the named card's rows are applied in
	// place, so a refusal re-renders them with their problems.
	d, err := s.gatewaysData(r)
	if err != nil {
		s.fail(w, r, "/admin/gateways", err)
		return
	}
	var rows []settingRow
	for i := range d.Cards {
		if d.Cards[i].Name == name {
			rows = d.Cards[i].Settings
		}
	}
	changed, failed, err := s.applySettings(r, rows)
	if err != nil {
		s.fail(w, r, "/admin/gateways", err)
		return
	}
	if failed > 0 {
		var errs []string
		for _, row := range rows {
			if row.Error != "" {
				errs = append(errs, row.Error)
			}
		}
		if len(changed) > 0 {
			errs = append(errs, "Saved: "+strings.Join(changed, ", ")+".")
		}
		s.render(w, r, http.StatusUnprocessableEntity, "gateways", page{Title: "Gateways", Nav: "gateways", Errors: errs, Data: d})
		return
	}
	if len(changed) == 0 {
		s.done(w, r, "/admin/gateways", "Nothing changed for %s.", name)
		return
	}
	s.done(w, r, "/admin/gateways", "Saved %s for %s: %s.", words.Count(len(changed), "setting"), name, strings.Join(changed, ", "))
}

// gatewayTest queues a test message through one gateway.
func (s *server) gatewayTest(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "name")
	it, err := s.ops.SendTest(r.Context(), actor(r), name, r.PostFormValue("phone"))
	if err != nil {
		s.fail(w, r, "/admin/gateways", err)
		return
	}
	s.done(w, r, "/admin/gateways", "Test message #%d to %s is queued through %s; its result shows on the dashboard within seconds.", it.ID, it.Phone, name)
}
