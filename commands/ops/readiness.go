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
)

// CampaignReadiness is the one readiness check of a campaign about to
// start, be scheduled or resume (a campaign.Readiness): its gateway is
// configured, can send its content and allows its interval; its saved
// message is still usable; its template's parameters fit its contacts'
// columns; a flow campaign names its flow. It runs under the campaign's row
// lock and reads only through tx. Chat and the page pass it through
// ChangeCampaign and ScheduleCampaign, the scheduler through
// campaign.DispatcherConfig.Ready.
func (s *Service) CampaignReadiness(tx *store.CampaignTx) error {
	c := tx.Campaign()
	gwName := c.Gateway
	if gwName == "" {
		active, err := s.activeGatewayIn(tx)
		if err != nil {
			return err
		}
		gwName = active
	}
	kind, why, err := s.campaignKind(c, tx.SavedMessage)
	if err != nil || why != "" {
		return notReady(c, why, err)
	}
	if why := s.gatewayProblem(c, gwName, kind); why != "" {
		return notReady(c, why, nil)
	}
	switch c.Content.Kind {
	case store.ContentTemplate:
		list, err := tx.CatalogEntries(store.CatalogTemplate)
		if err != nil {
			return err
		}
		why, err := storedTemplateProblem(list, c.Content, tx.SavedMessage)
		if err != nil || why != "" {
			return notReady(c, why, err)
		}
		cols, total, err := tx.ContactColumns()
		if err != nil {
			return err
		}
		return notReady(c, templateProblem(c, cols, total), nil)
	case store.ContentFlow:
		if strings.TrimSpace(c.Content.FlowID) == "" {
			return notReady(c, fmt.Sprintf("it names no flow; set one with /campaign set %d flow=<name or id>", c.ID), nil)
		}
	}
	return nil
}

func notReady(c Campaign, why string, err error) error {
	if err != nil {
		return err
	}
	if why == "" {
		return nil
	}
	return &campaign.NotReadyError{ID: c.ID, Reason: why + "."}
}

// activeGatewayIn reads the active gateway inside a campaign's
// transaction: as stored, or the default when unset or no longer valid.
func (s *Service) activeGatewayIn(tx *store.CampaignTx) (string, error) {
	d, _ := s.settings.Registry().Def(SettingActiveGateway)
	v, ok, err := tx.Setting(SettingActiveGateway)
	if err != nil {
		return "", err
	}
	if ok {
		if norm, err := d.Normalize(v); err == nil && norm != "" {
			return norm, nil
		}
	}
	return d.Default, nil
}

// campaignKind is the delivery kind a campaign's content turns into; why
// says what is wrong with the content (a saved message gone or archived).
// savedMessage reads a saved message by id.
func (s *Service) campaignKind(c Campaign, savedMessage func(id int64) (store.SavedMessage, error)) (queue.Kind, string, error) {
	switch c.Content.Kind {
	case store.ContentTemplate:
		return queue.KindTemplate, "", nil
	case store.ContentFlow:
		return queue.KindFlow, "", nil
	case store.ContentSavedMessage:
		m, err := savedMessage(c.Content.SavedMessageID)
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Sprintf("its saved message is gone; set another with /campaign set %d message=<name>", c.ID), nil
		}
		if err != nil {
			return "", "", err
		}
		if !m.Usable() {
			return "", strings.TrimSuffix(unusableMessage(m).Error(), "."), nil
		}
		return queue.Kind(m.Kind), "", nil
	default:
		return queue.KindText, "", nil
	}
}

// templateProblem says why a template campaign's parameters do not fit
// its contacts' columns (counts of contacts with a value per column, and
// the number of contacts), or "".
func templateProblem(c Campaign, cols map[string]int, total int) string {
	missing := campaign.MissingColumns(templateValues(c.Content), cols, total)
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("its template values do not fit its contacts: %s. Import a list with those columns, or change the values (/campaign set %d template=…)",
		strings.Join(missing, "; "), c.ID)
}

// contentProblem says why gateway gwName cannot carry content of kind, or
// "" when it can.
func (s *Service) contentProblem(c Campaign, gwName string, kind queue.Kind) string {
	gw, ok := s.gateway(gwName)
	if !ok {
		return fmt.Sprintf("it names the gateway %q, which is not configured; choose one of %s with /campaign set %d gateway=<name>",
			gwName, strings.Join(s.GatewayNames(), ", "), c.ID)
	}
	if gw.Window > 0 && kind != queue.KindTemplate {
		return fmt.Sprintf("on %s a campaign must send an approved template (WhatsApp lets a business start a conversation only with one; %s sends a %s only within %s of the customer's last message): set template=<name> with /campaign set %d; a saved image or video can be its header",
			gwName, gwName, kind, DurationText(gw.Window), c.ID)
	}
	if ok, why := gw.Caps.CanSend(kind); !ok {
		return fmt.Sprintf("it sends a %s and %s cannot: %s. Choose what to send (message=, template= or flow=) or another gateway (gateway=<name>) with /campaign set %d",
			kind, gwName, why, c.ID)
	}
	return ""
}

// gatewayProblem says why gateway gwName cannot carry campaign c's content
// of kind, or its interval, or "" when it can: the content/interval part
// of the readiness check, which a gateway switch also asks of the
// campaigns that follow the active gateway.
func (s *Service) gatewayProblem(c Campaign, gwName string, kind queue.Kind) string {
	if why := s.contentProblem(c, gwName, kind); why != "" {
		return why
	}
	gw, _ := s.gateway(gwName)
	if c.Interval < gw.MinInterval {
		return fmt.Sprintf("it sends every %s, faster than %s's own pacing of %s; set interval=%s or more (/campaign set %d interval=%s)",
			DurationText(c.Interval), gwName, DurationText(gw.MinInterval), DurationText(gw.MinInterval), c.ID, DurationText(gw.MinInterval))
	}
	return ""
}

// farFuture is later than any campaign's time: DueCampaigns before it
// lists every campaign in a state.
const farFuture = 100 * 365 * 24 * time.Hour

// CampaignConflict is a campaign a gateway switch would leave unable to
// send, and why.
type CampaignConflict struct {
	Campaign Campaign
	Reason   string
}

// campaignsBlockedBy lists the scheduled and running campaigns that follow
// the active gateway (none of their own) and that gateway name cannot
// carry: the content/interval part of CampaignReadiness.
func (s *Service) campaignsBlockedBy(ctx context.Context, name string) ([]CampaignConflict, error) {
	var out []CampaignConflict
	saved := func(id int64) (store.SavedMessage, error) { return s.st.SavedMessageByID(ctx, id) }
	for _, status := range []string{store.CampaignRunning, store.CampaignScheduled} {
		ids, err := s.st.DueCampaigns(ctx, status, s.cfg.Now().Add(farFuture))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			c, err := s.st.Campaign(ctx, id)
			if err != nil {
				return nil, err
			}
			if c.Gateway != "" || c.Content.Kind == "" {
				continue
			}
			kind, why, err := s.campaignKind(c, saved)
			if err != nil {
				return nil, err
			}
			if why == "" {
				why = s.gatewayProblem(c, name, kind)
			}
			if why != "" {
				out = append(out, CampaignConflict{Campaign: c, Reason: why})
			}
		}
	}
	return out, nil
}
