// Package campaign holds the rules of a campaign's life beside the queue it
// feeds: which state changes are allowed and what each one does, when a
// campaign is ready to start, how its contacts are paced into send slots,
// and how template parameters are filled from each contact's columns. The
// store keeps the rows; these rules decide, inside the store's transaction
// on the campaign row.
package campaign

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// Action is a state change an operator asks for.
type Action string

// The campaign actions.
const (
	Start    Action = "start"
	Pause    Action = "pause"
	Resume   Action = "resume"
	Cancel   Action = "cancel"
	Delete   Action = "delete"
	Schedule Action = "schedule"
)

// Editable reports whether a campaign's content, gateway and interval may
// still change: before it runs, and while it is paused.
func Editable(c store.Campaign) bool {
	return c.DeletedAt.IsZero() && slices.Contains([]string{store.CampaignDraft, store.CampaignScheduled, store.CampaignPaused}, c.Status)
}

// AcceptsContacts reports whether contacts may still be added: not once
// the campaign has finished, been cancelled or been deleted.
func AcceptsContacts(c store.Campaign) bool {
	return c.DeletedAt.IsZero() && c.Status != store.CampaignCompleted && c.Status != store.CampaignCancelled
}

// StateError means an action does not fit the campaign's state. Its
// message is worded from the operator's side.
type StateError struct {
	ID     int64
	Status string
	Action Action
	// Deleted is set when the campaign was deleted.
	Deleted bool
}

func (e *StateError) Error() string {
	id := fmt.Sprintf("Campaign #%d", e.ID)
	if e.Deleted {
		return id + " was deleted; its results are still there (/campaign results " + fmt.Sprint(e.ID) + ")."
	}
	again := fmt.Sprintf("To send it again, create a new campaign (/campaign new) and copy its contacts (/campaign copy %d <new id>).", e.ID)
	switch e.Status {
	case store.CampaignDraft, store.CampaignScheduled:
		switch e.Action {
		case Pause:
			return id + " has not started yet, so there is nothing to pause."
		case Resume:
			return fmt.Sprintf("%s has not started yet; start it with /campaign start %d.", id, e.ID)
		}
	case store.CampaignRunning:
		switch e.Action {
		case Start, Schedule, Resume:
			return id + " is already running."
		case Delete:
			return fmt.Sprintf("%s is running; pause or cancel it before deleting it (/campaign pause %d or /campaign cancel %d).", id, e.ID, e.ID)
		}
	case store.CampaignPaused:
		switch e.Action {
		case Pause:
			return id + " is already paused."
		case Start:
			return fmt.Sprintf("%s has already started and is paused; continue it with /campaign resume %d.", id, e.ID)
		case Schedule:
			return fmt.Sprintf("%s has already started and is paused; continue it with /campaign resume %d.", id, e.ID)
		}
	case store.CampaignCompleted:
		switch e.Action {
		case Start, Schedule, Resume:
			return id + " is completed: every contact has had its message. " + again
		case Pause:
			return id + " is completed, so there is nothing to pause. " + again
		case Cancel:
			return id + " is completed, so there is nothing left to cancel."
		}
	case store.CampaignCancelled:
		switch e.Action {
		case Cancel:
			return id + " is already cancelled."
		case Start, Schedule, Resume:
			return id + " was cancelled. " + again
		case Pause:
			return id + " was cancelled, so there is nothing to pause."
		}
	}
	return fmt.Sprintf("%s is %s; /campaign %s does not apply to it now.", id, e.Status, e.Action)
}

// NotReadyError means a campaign cannot start yet; Reason says what is
// missing.
type NotReadyError struct {
	ID     int64
	Reason string
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("Campaign #%d is not ready: %s", e.ID, e.Reason)
}

// allowed lists the states each action may start from.
func allowed(a Action) []string {
	switch a {
	case Start, Schedule:
		return []string{store.CampaignDraft, store.CampaignScheduled}
	case Pause:
		return []string{store.CampaignRunning}
	case Resume:
		return []string{store.CampaignPaused}
	case Cancel:
		return []string{store.CampaignDraft, store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused}
	case Delete:
		return []string{store.CampaignDraft, store.CampaignScheduled, store.CampaignPaused, store.CampaignCompleted, store.CampaignCancelled}
	}
	return nil
}

// Check says whether action fits c's state, without changing anything. A
// campaign paused before it ever started (its scheduled start found it not
// ready) may also be started or scheduled again.
func Check(c store.Campaign, a Action) error {
	neverStarted := c.Status == store.CampaignPaused && c.StartedAt.IsZero() && (a == Start || a == Schedule)
	if !c.DeletedAt.IsZero() || !(slices.Contains(allowed(a), c.Status) || neverStarted) {
		return &StateError{ID: c.ID, Status: c.Status, Action: a, Deleted: !c.DeletedAt.IsZero()}
	}
	return nil
}

// Ready says what a campaign lacks to start: something to send and
// contacts.
func Ready(c store.Campaign, contacts int) error {
	var missing []string
	if c.Content.Kind == "" {
		missing = append(missing, fmt.Sprintf("it has nothing to send yet (/campaign set %d message=<saved message>, template=<name>:<lang> or flow=<id>)", c.ID))
	}
	if contacts == 0 {
		missing = append(missing, fmt.Sprintf("it has no contacts yet (attach a list with the caption /import %d)", c.ID))
	}
	if len(missing) == 0 {
		return nil
	}
	return &NotReadyError{ID: c.ID, Reason: strings.Join(missing, ", and ") + "."}
}

// Readiness is the one check of whether the locked campaign can send now,
// beyond Ready's: content its gateway can send, an interval the gateway
// allows, a usable saved message, template parameters that fit the
// contacts' columns. It reads only through tx (the campaign's transaction)
// and returns a *NotReadyError saying what is wrong, or another error when
// it could not tell. The operations layer, which knows the gateways,
// provides it; every path that starts, schedules or resumes a campaign (chat,
// the page, the scheduler) passes it to Apply.
type Readiness func(tx *store.CampaignTx) error

// CheckReady runs Ready and then ready (when not nil) on the locked
// campaign.
func CheckReady(tx *store.CampaignTx, ready Readiness) error {
	n, err := tx.Contacts()
	if err != nil {
		return err
	}
	if err := Ready(tx.Campaign(), n); err != nil {
		return err
	}
	if ready == nil {
		return nil
	}
	return ready(tx)
}

// Apply carries out action on the locked campaign: it checks the state and,
// for start, schedule and resume, readiness (CheckReady with ready), then
// writes the new state with what goes with it. Start and resume set the
// next send slot to now; pause takes back the items queued for coming slots
// that were never tried; schedule sets the start time at; cancel also
// cancels the campaign's queued items; delete hides the campaign and keeps
// its results. Start, schedule and resume clear a pause's reason.
func Apply(tx *store.CampaignTx, a Action, at time.Time, ready Readiness) error {
	c := tx.Campaign()
	if err := Check(c, a); err != nil {
		return err
	}
	if a == Start || a == Schedule || a == Resume {
		if err := CheckReady(tx, ready); err != nil {
			return err
		}
	}
	now := tx.Now()
	status := func(s string) *string { return &s }
	noReason := new(string)
	var zero time.Time
	var u store.CampaignUpdate
	switch a {
	case Start:
		u = store.CampaignUpdate{Status: status(store.CampaignRunning), StartedAt: &now, NextSendAt: &now, PausedAt: &zero, PauseReason: noReason}
	case Schedule:
		at = at.UTC()
		u = store.CampaignUpdate{Status: status(store.CampaignScheduled), ScheduledAt: &at, PausedAt: &zero, PauseReason: noReason}
	case Pause:
		if _, err := tx.TakeBackUntried(); err != nil {
			return err
		}
		u = store.CampaignUpdate{Status: status(store.CampaignPaused), PausedAt: &now}
	case Resume:
		// A campaign paused before it ever started (see Dispatcher.Once)
		// starts now: StartedAt is written only the first time.
		u = store.CampaignUpdate{Status: status(store.CampaignRunning), PausedAt: &zero, NextSendAt: &now, StartedAt: &now, PauseReason: noReason}
	case Cancel:
		if _, err := tx.CancelQueued(); err != nil {
			return err
		}
		u = store.CampaignUpdate{Status: status(store.CampaignCancelled), CancelledAt: &now}
	case Delete:
		u = store.CampaignUpdate{DeletedAt: &now}
	default:
		return fmt.Errorf("unknown campaign action %q", a)
	}
	return tx.Update(u)
}

// ErrNotEditable is returned by Edit for a campaign that is running or
// over; its message says why and what to do.
var ErrNotEditable = errors.New("campaign cannot be changed now")

// EditError explains why a campaign's settings cannot change now.
type EditError struct {
	ID      int64
	Status  string
	Deleted bool
}

func (e *EditError) Error() string {
	switch {
	case e.Deleted:
		return fmt.Sprintf("Campaign #%d was deleted and cannot be changed.", e.ID)
	case e.Status == store.CampaignRunning:
		return fmt.Sprintf("Campaign #%d is running; pause it first (/campaign pause %d), change it, then resume it.", e.ID, e.ID)
	default:
		return fmt.Sprintf("Campaign #%d is %s and cannot be changed; create a new campaign (/campaign new) and copy its contacts (/campaign copy %d <new id>).", e.ID, e.Status, e.ID)
	}
}

func (e *EditError) Is(target error) bool { return target == ErrNotEditable }

// Edit writes new settings to the locked campaign when it may still change.
func Edit(tx *store.CampaignTx, u store.CampaignUpdate) error {
	c := tx.Campaign()
	if !Editable(c) {
		return &EditError{ID: c.ID, Status: c.Status, Deleted: !c.DeletedAt.IsZero()}
	}
	u.Status, u.NextSendAt, u.ScheduledAt, u.StartedAt, u.PausedAt = nil, nil, nil, nil, nil
	u.CompletedAt, u.CancelledAt, u.DeletedAt = nil, nil, nil
	return tx.Update(u)
}

// FillParams replaces "{{name}}" and "{{Column}}" (or the older "{name}",
// "{Column}") in template values with the contact's name and columns; a
// value that is not a placeholder standing alone is fixed text and stays.
func FillParams(params []string, name string, vars map[string]string) []string {
	if params == nil {
		return nil
	}
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = fillValue(p, name, vars)
	}
	return out
}

func fillValue(p, name string, vars map[string]string) string {
	col, ok := Placeholder(p)
	if !ok {
		return p
	}
	if strings.EqualFold(col, "name") && name != "" {
		return name
	}
	return lookup(vars, col)
}

// FillContent fills the placeholders of a template send for one
// recipient: the body values, a text header's value and the URL buttons'
// suffixes (see FillParams). Other content is returned as it is.
func FillContent(c store.QueueContent, name string, vars map[string]string) store.QueueContent {
	if c.Kind != store.ContentTemplate {
		return c
	}
	c.TemplateParams = FillParams(c.TemplateParams, name, vars)
	c.TemplateParamNames = slices.Clone(c.TemplateParamNames)
	if h := c.TemplateHeader; h != nil {
		filled := *h
		if filled.Format == store.HeaderText {
			filled.Text = fillValue(filled.Text, name, vars)
		}
		c.TemplateHeader = &filled
	}
	if c.TemplateButtons != nil {
		bs := make([]store.TemplateButton, len(c.TemplateButtons))
		for i, b := range c.TemplateButtons {
			bs[i] = store.TemplateButton{Index: b.Index, Text: fillValue(b.Text, name, vars)}
		}
		c.TemplateButtons = bs
	}
	return c
}

// Placeholder reports whether a template value is "{{Column}}" (or the
// older "{Column}") and returns the column.
func Placeholder(p string) (string, bool) {
	p = strings.TrimSpace(p)
	if inner, ok := strings.CutPrefix(p, "{{"); ok {
		inner, ok = strings.CutSuffix(inner, "}}")
		inner = strings.TrimSpace(inner)
		return inner, ok && inner != ""
	}
	inner, ok := strings.CutPrefix(p, "{")
	if !ok {
		return "", false
	}
	inner, ok = strings.CutSuffix(inner, "}")
	inner = strings.TrimSpace(inner)
	return inner, ok && inner != ""
}

func lookup(vars map[string]string, col string) string {
	if v, ok := vars[col]; ok {
		return v
	}
	for k, v := range vars {
		if strings.EqualFold(k, col) {
			return v
		}
	}
	return ""
}

// MissingColumns checks the "{Column}" parameters of a template against
// the columns of a campaign's contacts (counts of contacts with a value per
// column, and the number of contacts). It returns a sentence for each
// column some contacts lack, or nil when every contact has every column.
// "{name}" is the contact's name and always fits.
func MissingColumns(params []string, columns map[string]int, total int) []string {
	var out []string
	for _, p := range params {
		col, ok := Placeholder(p)
		if !ok || strings.EqualFold(col, "name") {
			continue
		}
		have := 0
		for k, n := range columns {
			if strings.EqualFold(k, col) {
				have += n // "City" and "CITY" are one column to FillParams

			}
		}
		switch {
		case total == 0:
		case have == 0:
			names := make([]string, 0, len(columns))
			for k := range columns {
				names = append(names, k)
			}
			slices.Sort(names)
			list := "none"
			if len(names) > 0 {
				list = strings.Join(names, ", ")
			}
			out = append(out, fmt.Sprintf("the contacts have no column %q (their columns: %s)", col, list))
		case have < total:
			// (have can exceed total only when a contact has both
			// spellings, which then counts as having the column.)
			out = append(out, fmt.Sprintf("%d of %d contacts have no %q", total-have, total, col))
		}
	}
	return out
}
