package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// Reengager finds what a staff item goes as when its customer's service
// window is closed: the intake template (intake.template), with its values
// filled in for the item. ok is false when none is set; then the item is
// held until the customer writes. The operations layer implements it.
type Reengager interface {
	IntakeTemplate(ctx context.Context, it store.QueueItem) (c store.QueueContent, ok bool, err error)
}

// windowHold is how long an item held for a closed window waits before it
// is looked at again, unless the customer writes first (store.ReleaseHeld
// makes it due at once).
const windowHold = 24 * time.Hour

// The reasons the loop gives for an item it does not send free-form.
const (
	heldForWindow         = "waiting for the customer to write: their 24-hour WhatsApp window is closed and no intake template is set (intake.template)"
	campaignNeedsTemplate = "not sent: campaigns on the WhatsApp Cloud API must send an approved template; " +
		"a free-form message reaches only a customer who wrote in the last 24 hours (set the campaign's template)"
)

// errCampaignFreeForm fails a free-form campaign item on a gateway with a
// window.
var errCampaignFreeForm = errors.New(campaignNeedsTemplate)

// windowOf is the length of gateway's customer-service window (0: none).
func (l *Loop) windowOf(gateway string) time.Duration {
	if l.cfg.WindowOf == nil {
		return 0
	}
	return l.cfg.WindowOf(gateway)
}

// enforceWindow keeps free-form content from a customer whose window on
// gateway is closed or unknown. Only a free-form item on a gateway with a
// window costs anything: one read of the customer's window by its primary
// key. closed says the provider has just refused the item as outside the
// window, so the window is not read. When the window is open, or the item
// is a template or the gateway has no window, it returns false and the
// item goes as it is. Otherwise a campaign item fails (campaigns must send
// templates); a staff item becomes the intake template, its stored content
// replaced (false: send *it as it is now), or is held without spending its
// attempt when there is no intake template.
func (l *Loop) enforceWindow(s stages, it *store.QueueItem, gateway string, closed bool) (store.Outcome, bool) {
	ctx := s.claim
	if !store.FreeForm(it.Content.Kind) {
		return store.Outcome{}, false
	}
	if !closed {
		length := l.windowOf(gateway)
		if length <= 0 {
			return store.Outcome{}, false
		}
		w, err := l.store.CustomerWindow(ctx, gateway, it.Phone)
		if err != nil {
			return l.windowUnknown(s, *it, gateway, "read the customer's window", err), true
		}
		if w.OpenAt(l.cfg.Now(), length) {
			return store.Outcome{}, false
		}
	}
	if it.CampaignID != 0 {
		return l.decide(s.finish, *it, gateway, "", Classify(Permanent, "", errCampaignFreeForm)), true
	}
	if l.cfg.Reengage != nil {
		c, ok, err := l.cfg.Reengage.IntakeTemplate(ctx, *it)
		if err != nil {
			return l.windowUnknown(s, *it, gateway, "find the intake template", err), true
		}
		if ok && c.Kind != store.ContentTemplate {
			l.log.Error("the intake template given for a closed window is not a template; holding the item",
				"item", it.ID, "kind", c.Kind)
			ok = false
		}
		if ok {
			detail := fmt.Sprintf("sent as the intake template %s: the customer's window on %s is closed", c.TemplateName, gateway)
			applied, err := l.store.ReplaceClaimedContent(ctx, it.ID, it.LockToken, c, l.cfg.ProcessorID, detail)
			if err != nil {
				return l.windowUnknown(s, *it, gateway, "store the intake template", err), true
			}
			if !applied {
				// The lock was recovered: the item is another claim's now,
				// and this outcome will be ignored.
				return l.release(*it), true
			}
			it.Content = c
			return store.Outcome{}, false
		}
	}
	return store.WindowHeldOutcome(*it, l.cfg.ProcessorID, heldForWindow, l.cfg.Now().Add(windowHold)), true
}

// windowUnknown gives back an item whose window could not be decided (the
// database is away): it waits a moment without spending its attempt, as a
// send whose settings could not be read does (ErrUnavailable).
func (l *Loop) windowUnknown(s stages, it store.QueueItem, gateway, what string, err error) store.Outcome {
	if s.claim.Err() != nil {
		return l.release(it)
	}
	return l.decide(s.finish, it, gateway, "", windowUnknownError{fmt.Sprintf("not sent: could not %s: %v", what, err)})
}

// windowUnknownError is an ErrUnavailable in its own words.
type windowUnknownError struct{ msg string }

func (e windowUnknownError) Error() string        { return e.msg }
func (e windowUnknownError) Is(target error) bool { return target == ErrUnavailable }
