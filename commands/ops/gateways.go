package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// GatewayNames lists the gateways admins may choose, the default first.
func (s *Service) GatewayNames() []string {
	names := make([]string, len(s.cfg.Gateways))
	for i, g := range s.cfg.Gateways {
		names[i] = g.Name
	}
	return names
}

func (s *Service) gateway(name string) (Gateway, bool) {
	for _, g := range s.cfg.Gateways {
		if g.Name == name {
			return g, true
		}
	}
	return Gateway{}, false
}

// ActiveGateway is the gateway messages without their own go out through.
func (s *Service) ActiveGateway(ctx context.Context) string {
	return s.settings.String(ctx, SettingActiveGateway)
}

// GatewayStatus is the gateway choice at a glance.
type GatewayStatus struct {
	Active    string
	Available []string
	// Paused are gateways the provider refused (expired token, banned
	// number) that still matter: the active one, or one a campaign or a
	// queued message names.
	Paused []GatewayState
}

// Gateways returns the active gateway, the choices and the paused ones.
func (s *Service) Gateways(ctx context.Context) (GatewayStatus, error) {
	st := GatewayStatus{Active: s.ActiveGateway(ctx), Available: s.GatewayNames()}
	states, err := s.rep.PausedGateways(ctx)
	if err != nil {
		return GatewayStatus{}, err
	}
	for _, g := range states {
		if g.Blocked {
			st.Paused = append(st.Paused, g)
		}
	}
	s.shown(ctx).states(st.Paused)
	return st, nil
}

// staffProblem says why a gateway cannot carry staff messages, or "" when
// it can: a gateway without plain text needs a staff flow configured.
func (s *Service) staffProblem(ctx context.Context, g Gateway) string {
	if g.Caps.Text {
		return ""
	}
	if g.StaffFlowSetting != "" {
		if _, ok := s.staffFlow(ctx, g); ok {
			return ""
		}
		return fmt.Sprintf("%s cannot send staff messages as text; set %s to the flow staff messages should trigger first", g.Name, g.StaffFlowSetting)
	}
	return fmt.Sprintf("%s cannot send staff messages (it sends only %s)", g.Name, capsText(g.Caps))
}

func capsText(c queue.Capabilities) string {
	var parts []string
	if c.Text {
		parts = append(parts, "text")
	}
	if c.Media {
		parts = append(parts, "images and videos")
	}
	if c.Templates {
		parts = append(parts, "templates")
	}
	if c.Flows {
		parts = append(parts, "flows")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// UseGateway makes name the active gateway; see SwitchGateway.
func (s *Service) UseGateway(ctx context.Context, a Actor, name string, force bool) error {
	_, err := s.SwitchGateway(ctx, a, name, force)
	return err
}

// GatewaySwitch is what a switch of the active gateway did.
type GatewaySwitch struct {
	Active string
	// Paused are the running campaigns the forced switch paused, because
	// the new gateway cannot carry them, with the reason.
	Paused []CampaignConflict
	// Warning, when set, says what the new gateway still needs to reach
	// every customer (a window gateway without an intake template).
	Warning string
}

// SwitchGateway makes name the active gateway. A gateway that cannot
// carry staff messages is refused with the reason. Unless force (an
// admin's /gateway use!, the page's "Switch anyway"), so is a gateway that
// is not ready (not set up), with its readiness reason, and a switch that
// would leave scheduled or running campaigns following the active gateway
// unable to send (their content or interval, as CampaignReadiness checks
// them), listing them; both refusals are Forceable. Forced, the running
// ones among those are paused with the reason rather than fail contact
// after contact (a scheduled one waits, paused, at its time). Choosing a
// paused gateway is an admin's word that it may send again: its pause is
// lifted.
func (s *Service) SwitchGateway(ctx context.Context, a Actor, name string, force bool) (GatewaySwitch, error) {
	if err := s.require(a, RoleAdmin, "switching the gateway"); err != nil {
		return GatewaySwitch{}, err
	}
	name = strings.ToLower(strings.TrimSpace(name))
	g, ok := s.gateway(name)
	if !ok {
		return GatewaySwitch{}, Errorf(EINVALID, "There is no gateway %q. Choose one of %s.", Echo(name), strings.Join(s.GatewayNames(), ", "))
	}
	if p := s.staffProblem(ctx, g); p != "" {
		s.audit(ctx, a, "gateway.use", name, "refused")
		return GatewaySwitch{}, Errorf(ECONFLICT, "Not switched: %s. Messages still go out via %s.", p, s.ActiveGateway(ctx))
	}
	if reason := g.readiness(ctx); reason != "" {
		if !force {
			s.audit(ctx, a, "gateway.use", name+" — "+reason, "refused")
			return GatewaySwitch{}, Forceable(Errorf(ECONFLICT, "Not switched: %s is %s. Messages still go out via %s. To switch anyway, send /gateway use! %s (on the admin page: Switch anyway).",
				name, reason, s.ActiveGateway(ctx), name))
		}
		name += " (forced: " + reason + ")"
	}
	var conflicts []CampaignConflict
	if active := s.ActiveGateway(ctx); g.Name != active {
		var err error
		if conflicts, err = s.campaignsBlockedBy(ctx, g.Name); err != nil {
			return GatewaySwitch{}, err
		}
		if len(conflicts) > 0 && !force {
			s.audit(ctx, a, "gateway.use", g.Name, "refused: campaigns")
			return GatewaySwitch{}, Forceable(campaignConflictError(g.Name, active, conflicts))
		}
	}
	if _, err := s.settings.Set(ctx, SettingActiveGateway, g.Name, a.Identity); err != nil {
		return GatewaySwitch{}, err
	}
	if err := s.st.UnblockGateway(ctx, g.Name); err != nil {
		return GatewaySwitch{}, err
	}
	s.audit(ctx, a, "gateway.use", name, "ok")
	sw := GatewaySwitch{Active: g.Name, Warning: s.intakeTemplateWarning(ctx, g)}
	for _, c := range conflicts {
		why, err := s.pauseStranded(ctx, a, c.Campaign.ID, g.Name)
		if err != nil {
			return sw, err
		}
		if why != "" {
			c.Reason = why
			sw.Paused = append(sw.Paused, c)
		}
	}
	s.cfg.Notify()
	return sw, nil
}

// pauseStranded pauses campaign id when it is running and, checked again
// under its row lock against the gateway now active, not ready (it may have
// started, stopped or changed since the switch listed it). It returns the
// reason it was paused for, "" when it was left alone.
func (s *Service) pauseStranded(ctx context.Context, a Actor, id int64, gateway string) (string, error) {
	var why string
	_, err := s.st.WithCampaign(ctx, id, func(tx *store.CampaignTx) error {
		if cur := tx.Campaign(); cur.Status != store.CampaignRunning || !cur.DeletedAt.IsZero() {
			return nil
		}
		var nr *campaign.NotReadyError
		if err := s.CampaignReadiness(tx); !errors.As(err, &nr) {
			return err // nil: it can go on through the new gateway
		}
		if err := campaign.Apply(tx, campaign.Pause, time.Time{}, nil); err != nil {
			return err
		}
		why = strings.TrimSuffix(nr.Reason, ".")
		reason := fmt.Sprintf("the gateway was switched to %s: %s.", gateway, why)
		return tx.Update(store.CampaignUpdate{PauseReason: &reason})
	})
	if err != nil {
		return "", campaignError(err, id)
	}
	if why != "" {
		s.audit(ctx, a, "campaign.pause", fmt.Sprintf("#%d: the gateway was switched to %s: %s", id, gateway, why), "ok")
	}
	return why, nil
}

// readiness says why g cannot send yet, "" when it can.
func (g Gateway) readiness(ctx context.Context) string {
	if g.Ready == nil {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSpace(g.Ready(ctx)), ".")
}

// campaignConflictError refuses a switch to name that campaigns following
// the active gateway could not go out through.
func campaignConflictError(name, active string, cs []CampaignConflict) *Error {
	lines := []string{fmt.Sprintf("Not switched: %s following the active gateway could not go out via %s:", words.Count(len(cs), "campaign"), name)}
	// The page carries the refusal in a cookie: a few lines, each cut.
	const shown = 4
	for i, c := range cs {
		if i == shown {
			lines = append(lines, fmt.Sprintf("…and %d more (/campaigns).", len(cs)-shown))
			break
		}
		lines = append(lines, fmt.Sprintf("#%d %s (%s): %s.", c.Campaign.ID, words.Cut(Echo(c.Campaign.Name), 60), c.Campaign.Status,
			words.Cut(strings.TrimSuffix(c.Reason, "."), 220)))
	}
	lines = append(lines, fmt.Sprintf("Messages still go out via %s. Fix the campaigns or give them their own gateway (/campaign set <id> gateway=%s) first, "+
		"or switch anyway with /gateway use! %s (on the admin page: Switch anyway): a running campaign is then paused with the reason, and a scheduled one waits, paused, at its time.", active, active, name))
	return Errorf(ECONFLICT, "%s", strings.Join(lines, "\n"))
}

// intakeTemplateWarning warns that g has a window and no intake template
// is set: staff sends to customers who have not written lately cannot
// go. "" when g has no window or the template is set.
func (s *Service) intakeTemplateWarning(ctx context.Context, g Gateway) string {
	if g.Window <= 0 || strings.TrimSpace(s.settings.String(ctx, SettingIntakeTemplate)) != "" {
		return ""
	}
	return fmt.Sprintf("%s sends free-form messages only within %s of a customer's last message, and no intake template is set: staff sends to other customers cannot go. Set one with /set %s <approved template> (and /set %s for its values).",
		g.Name, DurationText(g.Window), SettingIntakeTemplate, SettingIntakeParams)
}
