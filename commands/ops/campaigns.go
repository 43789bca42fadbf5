package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
)

// CampaignAction is a state change of a campaign.
type CampaignAction = campaign.Action

// The campaign actions.
const (
	ActionStart  = campaign.Start
	ActionPause  = campaign.Pause
	ActionResume = campaign.Resume
	ActionCancel = campaign.Cancel
	ActionDelete = campaign.Delete
)

// maxCampaignInterval bounds a campaign's interval.
const maxCampaignInterval = 24 * time.Hour

// MaxCampaignInterval is the longest interval a campaign may have between
// two messages.
const MaxCampaignInterval = maxCampaignInterval

// campaignError maps the campaign rules' errors to *Error.
func campaignError(err error, id int64) error {
	var se *campaign.StateError
	var nr *campaign.NotReadyError
	var ee *campaign.EditError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return Errorf(ENOTFOUND, "There is no campaign #%d; /campaigns lists them.", id)
	case errors.As(err, &se):
		return Errorf(ECONFLICT, "%s", se.Error())
	case errors.As(err, &nr):
		return Errorf(ECONFLICT, "%s", nr.Error())
	case errors.As(err, &ee):
		return Errorf(ECONFLICT, "%s", ee.Error())
	default:
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return err
	}
}

// CreateCampaign adds a draft campaign.
func (s *Service) CreateCampaign(ctx context.Context, a Actor, name string) (Campaign, error) {
	if err := s.require(a, RoleOperator, "running campaigns"); err != nil {
		return Campaign{}, err
	}
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || len([]rune(name)) > 190 {
		return Campaign{}, Errorf(EINVALID, "Give the campaign a name of at most 190 characters, e.g. /campaign new Diwali offer")
	}
	return s.st.CreateCampaign(ctx, name, a.Identity)
}

// Campaign returns a campaign, deleted ones included (their results stay
// readable).
func (s *Service) Campaign(ctx context.Context, id int64) (Campaign, error) {
	c, err := s.st.Campaign(ctx, id)
	return c, campaignError(err, id)
}

// CampaignSummary is a campaign with its counts.
type CampaignSummary struct {
	Campaign
	Stats CampaignStats
}

// Campaigns lists the newest campaigns that are not deleted, with counts.
func (s *Service) Campaigns(ctx context.Context, limit int) ([]CampaignSummary, error) {
	list, err := s.st.Campaigns(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]CampaignSummary, len(list))
	for i, c := range list {
		st, err := s.CampaignStats(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		out[i] = CampaignSummary{Campaign: c, Stats: st}
	}
	return out, nil
}

// CampaignStats counts a campaign's contacts by the state of their
// message, the way Tally counts messages: Sent includes delivered and
// read, Delivered includes read; Pending counts contacts not queued yet.
// Once a campaign is cancelled or deleted, contacts never queued will never
// be, so they count as cancelled, not pending.
func (s *Service) CampaignStats(ctx context.Context, id int64) (CampaignStats, error) {
	c, err := s.st.Campaign(ctx, id)
	if err != nil {
		return CampaignStats{}, campaignError(err, id)
	}
	st, err := s.st.CampaignStats(ctx, id)
	if err != nil {
		return CampaignStats{}, err
	}
	if campaignOver(c) {
		st.Cancelled += st.Pending
		st.Pending = 0
	}
	return st, nil
}

// campaignOver reports whether a campaign will queue no more of its
// contacts: it was cancelled or deleted.
func campaignOver(c Campaign) bool {
	return c.Status == store.CampaignCancelled || !c.DeletedAt.IsZero()
}

// CampaignResults returns one row per contact, for deleted campaigns too.
// A contact never queued has no status while the campaign may still send
// to it (pending), and "cancelled" once it is over, as in CampaignStats.
func (s *Service) CampaignResults(ctx context.Context, id int64) (Campaign, []CampaignResult, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, nil, err
	}
	rows, err := s.st.CampaignResults(ctx, id)
	if err != nil {
		return Campaign{}, nil, err
	}
	if campaignOver(c) {
		for i := range rows {
			if !rows[i].Status.Valid {
				rows[i].Status = sql.NullString{String: string(StatusCancelled), Valid: true}
			}
		}
	}
	return c, rows, nil
}

// Template names a provider template with its parameters ("{name}",
// "{Column}" or literal text). Name may be a saved template's name (see
// CatalogEntry), in any case: it gives the template and its language
// (Language, when given, picks another), and Params must be as many as it
// takes. Otherwise Name is the template's own and Language is required.
type Template struct {
	Name     string
	Language string
	// Params are the body's positional values.
	Params []string
	// Named are a template's named parameters' values by name (body, or a
	// text header's); Header is a text header's value or the name of the
	// saved image or video message for a media header; Buttons are URL
	// button suffixes by the button's position (1 = first; 0 = the only
	// URL button). See ParseTemplateValues.
	Named   map[string]string
	Header  string
	Buttons map[int]string
}

// CampaignChange is what an operator sets on a campaign; nil fields stay.
// At most one of SavedMessage, Template and Flow. Flow is a saved flow's
// name, in any case, or a flow id (which has a digit); the campaign keeps
// the id a name resolved to.
type CampaignChange struct {
	SavedMessage *string
	Template     *Template
	Flow         *string
	Interval     *time.Duration
	Gateway      *string
}

// SetCampaign changes what and how a campaign sends, while it may change
// (before it runs, or paused). Content the campaign's gateway cannot send,
// template parameters naming a column its contacts lack, and an interval
// faster than the gateway's own pacing are refused with the reason.
func (s *Service) SetCampaign(ctx context.Context, a Actor, id int64, ch CampaignChange) (Campaign, error) {
	if err := s.require(a, RoleOperator, "running campaigns"); err != nil {
		return Campaign{}, err
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if !campaign.Editable(c) {
		return Campaign{}, campaignError(&campaign.EditError{ID: c.ID, Status: c.Status, Deleted: !c.DeletedAt.IsZero()}, id)
	}
	if ch.Template != nil && ch.SavedMessage != nil && ch.Template.Header == "" {
		// A saved image or video given with a template is its header.
		t := *ch.Template
		t.Header, ch.Template, ch.SavedMessage = *ch.SavedMessage, &t, nil
	}
	contents := 0
	for _, given := range []bool{ch.SavedMessage != nil, ch.Template != nil, ch.Flow != nil} {
		if given {
			contents++
		}
	}
	if contents > 1 {
		return Campaign{}, Errorf(EINVALID, "A campaign sends one thing: choose one of message=, template= or flow= (a saved image or video goes with template= as its header: header=<saved message>).")
	}
	var u store.CampaignUpdate
	if ch.SavedMessage != nil {
		m, err := s.st.SavedMessageByName(ctx, *ch.SavedMessage)
		if errors.Is(err, store.ErrNotFound) {
			return Campaign{}, Errorf(ENOTFOUND, "There is no saved message called %q.", Echo(*ch.SavedMessage))
		}
		if err != nil {
			return Campaign{}, err
		}
		if !m.Usable() {
			return Campaign{}, unusableMessage(m)
		}
		u.Content = &store.QueueContent{Kind: store.ContentSavedMessage, SavedMessageID: m.ID}
	}
	if ch.Template != nil {
		t, err := s.buildTemplate(ctx, *ch.Template, false)
		if err != nil {
			return Campaign{}, err
		}
		u.Content = &t.content
	}
	if ch.Flow != nil {
		flowID, err := s.resolveFlow(ctx, *ch.Flow)
		if err != nil {
			return Campaign{}, err
		}
		u.Content = &store.QueueContent{Kind: store.ContentFlow, FlowID: flowID}
	}
	if ch.Gateway != nil {
		g := strings.ToLower(strings.TrimSpace(*ch.Gateway))
		if _, ok := s.gateway(g); !ok {
			return Campaign{}, Errorf(EINVALID, "There is no gateway %q. Choose one of %s.", Echo(g), strings.Join(s.GatewayNames(), ", "))
		}
		u.Gateway = &g
	}
	gwName := s.campaignGateway(ctx, c, u.Gateway)
	gw, _ := s.gateway(gwName)
	if ch.Interval != nil {
		d := *ch.Interval
		switch {
		case d < 0:
			return Campaign{}, Errorf(EINVALID, "The interval cannot be negative.")
		case d > maxCampaignInterval:
			return Campaign{}, Errorf(EINVALID, "interval=%s is too long: the longest allowed is %s between two messages.", DurationText(d), DurationText(maxCampaignInterval))
		case d < gw.MinInterval:
			return Campaign{}, Errorf(EINVALID, "interval=%s is faster than %s's own pacing of %s; use %s or more.", DurationText(d), gwName, DurationText(gw.MinInterval), DurationText(gw.MinInterval))
		}
		u.Interval = &d
	} else if u.Gateway != nil && c.Interval < gw.MinInterval {
		d := gw.MinInterval
		u.Interval = &d
	}
	content := c.Content
	if u.Content != nil {
		content = *u.Content
	}
	if err := s.checkCampaignContent(ctx, c.ID, content, gwName); err != nil {
		return Campaign{}, err
	}
	updated, err := s.st.WithCampaign(ctx, id, func(tx *store.CampaignTx) error { return campaign.Edit(tx, u) })
	return updated, campaignError(err, id)
}

// campaignGateway is the gateway a campaign sends through: its own, or
// the active one.
func (s *Service) campaignGateway(ctx context.Context, c Campaign, override *string) string {
	switch {
	case override != nil && *override != "":
		return *override
	case c.Gateway != "":
		return c.Gateway
	default:
		return s.ActiveGateway(ctx)
	}
}

// checkCampaignContent refuses content the gateway cannot send, and
// template parameters naming columns the campaign's contacts lack: the
// content part of CampaignReadiness, asked when the content or gateway is
// set.
func (s *Service) checkCampaignContent(ctx context.Context, id int64, content store.QueueContent, gwName string) error {
	if content.Kind == "" {
		return nil
	}
	c := Campaign{ID: id, Content: content}
	kind, why, err := s.campaignKind(c, func(id int64) (store.SavedMessage, error) { return s.st.SavedMessageByID(ctx, id) })
	if err != nil {
		return err
	}
	if why == "" {
		why = s.contentProblem(c, gwName, kind)
	}
	if why == "" && content.Kind == store.ContentTemplate {
		list, err := s.st.CatalogEntries(ctx, store.CatalogTemplate)
		if err != nil {
			return err
		}
		if why, err = storedTemplateProblem(list, content, func(id int64) (store.SavedMessage, error) { return s.st.SavedMessageByID(ctx, id) }); err != nil {
			return err
		}
	}
	if why == "" && content.Kind == store.ContentTemplate {
		cols, total, err := s.st.ContactColumns(ctx, id)
		if err != nil {
			return err
		}
		why = templateProblem(c, cols, total)
	}
	if why != "" {
		return Errorf(ECONFLICT, "Campaign #%d: %s.", id, why)
	}
	return nil
}

// ChangeCampaign starts, pauses, resumes, cancels or deletes a campaign.
// Start and resume run the readiness check (CampaignReadiness: contacts,
// content its gateway can send, an interval the gateway allows, a usable
// message, template or flow) and the state rule under the lock on the
// campaign row.
func (s *Service) ChangeCampaign(ctx context.Context, a Actor, id int64, action CampaignAction) (Campaign, error) {
	return s.changeCampaign(ctx, a, id, action, time.Time{})
}

// ScheduleCampaign makes a campaign start at a time, after the readiness
// check; it is checked again at that time (see campaign.Dispatcher), and
// a is told in chat if it is not ready then.
func (s *Service) ScheduleCampaign(ctx context.Context, a Actor, id int64, at time.Time) (Campaign, error) {
	if !at.After(s.cfg.Now()) {
		return Campaign{}, Errorf(EINVALID, "%s is in the past; use /campaign start %d to start now.", s.TimeText(ctx, at), id)
	}
	return s.changeCampaign(ctx, a, id, campaign.Schedule, at)
}

func (s *Service) changeCampaign(ctx context.Context, a Actor, id int64, action CampaignAction, at time.Time) (Campaign, error) {
	if err := s.require(a, RoleOperator, "running campaigns"); err != nil {
		return Campaign{}, err
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	if err := campaign.Check(c, action); err != nil {
		return Campaign{}, campaignError(err, id)
	}
	updated, err := s.st.WithCampaign(ctx, id, func(tx *store.CampaignTx) error {
		if err := campaign.Apply(tx, action, at, s.CampaignReadiness); err != nil {
			return err
		}
		if action != campaign.Schedule {
			return nil
		}
		// The one to tell if it is not ready at its time.
		return tx.Update(store.CampaignUpdate{ScheduledBy: &a.Identity})
	})
	if err != nil {
		return Campaign{}, campaignError(err, id)
	}
	s.cfg.Notify()
	return updated, nil
}

// CopyResult counts a contact copy.
type CopyResult struct {
	Added, Duplicates, Suppressed int
}

// CopyContacts adds the contacts of campaign from to campaign to, which
// must still accept contacts (not completed, cancelled or deleted).
func (s *Service) CopyContacts(ctx context.Context, a Actor, from, to int64) (CopyResult, error) {
	if err := s.require(a, RoleOperator, "running campaigns"); err != nil {
		return CopyResult{}, err
	}
	if from == to {
		return CopyResult{}, Errorf(EINVALID, "Copy from one campaign to another, e.g. /campaign copy %d <new id>.", from)
	}
	if _, err := s.Campaign(ctx, from); err != nil {
		return CopyResult{}, err
	}
	dst, err := s.Campaign(ctx, to)
	if err != nil {
		return CopyResult{}, err
	}
	if err := s.acceptsContacts(dst); err != nil {
		return CopyResult{}, err
	}
	contacts, err := s.st.CampaignContacts(ctx, from)
	if err != nil {
		return CopyResult{}, err
	}
	var r CopyResult
	r.Added, r.Duplicates, r.Suppressed, err = s.st.AddCampaignContacts(ctx, to, contacts)
	if err != nil {
		return CopyResult{}, fmt.Errorf("copy contacts: %w", err)
	}
	return r, nil
}

// acceptsContacts refuses adding contacts to a campaign that is over.
func (s *Service) acceptsContacts(c Campaign) error {
	if campaign.AcceptsContacts(c) {
		return nil
	}
	state := c.Status
	if !c.DeletedAt.IsZero() {
		state = "deleted"
	}
	return Errorf(ECONFLICT, "Campaign #%d is %s and takes no more contacts; create a new one with /campaign new and add them there.", c.ID, state)
}
