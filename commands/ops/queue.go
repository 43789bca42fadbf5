package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// itemError maps a store error about queue item id to an *Error.
func itemError(err error, id int64, verb string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return Errorf(ENOTFOUND, "There is no message #%d.", id)
	case errors.Is(err, store.ErrConflict):
		return Errorf(ECONFLICT, "#%d cannot be %s now: only queued or failed messages can (see /recent).", id, verb)
	default:
		return err
	}
}

// normalizePhone puts raw in E.164 under policy; a number the phone
// package refuses becomes the error invalid makes of the reason (an
// EINVALID worded for the caller), any other failure is returned as is.
func normalizePhone(raw string, policy phone.Policy, invalid func(reason string) error) (string, error) {
	e164, err := phone.Normalize(raw, policy)
	if err != nil {
		var pe *phone.Error
		if errors.As(err, &pe) {
			return "", invalid(pe.Reason)
		}
		return "", err
	}
	return e164, nil
}

// QueueItem returns one item.
func (s *Service) QueueItem(ctx context.Context, id int64) (QueueItem, error) {
	it, err := s.st.QueueItem(ctx, id)
	if err != nil {
		return it, itemError(err, id, "read")
	}
	return s.shown(ctx).item(it), nil
}

// Retry puts a failed item back in the queue with its attempts reset.
func (s *Service) Retry(ctx context.Context, a Actor, id int64) (QueueItem, error) {
	if err := s.require(a, RoleOperator, "retrying a message"); err != nil {
		return QueueItem{}, err
	}
	it, err := s.st.ResetQueueItem(ctx, id, a.Identity)
	if err := itemError(err, id, "retried"); err != nil {
		return QueueItem{}, err
	}
	s.cfg.Notify()
	return s.shown(ctx).item(it), nil
}

// EditPhone changes the number of a queued or failed item; the number is
// normalized as intake does. A failed item stays failed until Retry.
func (s *Service) EditPhone(ctx context.Context, a Actor, id int64, raw string) (QueueItem, error) {
	if err := s.require(a, RoleOperator, "editing a message"); err != nil {
		return QueueItem{}, err
	}
	e164, err := normalizePhone(raw, s.PhonePolicy(ctx), func(reason string) error {
		return Errorf(EINVALID, "%s: %s. Accepted formats: %s", Echo(raw), reason, s.PhoneExample(ctx))
	})
	if err != nil {
		return QueueItem{}, err
	}
	it, err := s.st.EditQueueItem(ctx, id, store.QueueEdit{Phone: &e164}, a.Identity)
	if err := itemError(err, id, "edited"); err != nil {
		return it, err
	}
	return s.shown(ctx).item(it), nil
}

// Cancel cancels a queued or failed item.
func (s *Service) Cancel(ctx context.Context, a Actor, id int64) (QueueItem, error) {
	if err := s.require(a, RoleOperator, "cancelling a message"); err != nil {
		return QueueItem{}, err
	}
	it, err := s.st.CancelQueueItem(ctx, id, a.Identity)
	if err := itemError(err, id, "cancelled"); err != nil {
		return it, err
	}
	return s.shown(ctx).item(it), nil
}

// RecentFilter selects items for Recent.
type RecentFilter = store.RecentFilter

// Recent returns the newest items (or the latest failures) first.
func (s *Service) Recent(ctx context.Context, f RecentFilter) ([]QueueItem, error) {
	items, err := s.st.RecentQueueItems(ctx, f)
	s.shown(ctx).items(items)
	return items, err
}

// Health is the queue at a glance: counts, oldest waiting item,
// processors and warnings.
func (s *Service) Health(ctx context.Context) (Health, error) {
	h, err := s.rep.Health(ctx)
	if err != nil {
		return h, err
	}
	s.shown(ctx).health(&h)
	s.warnNotReady(ctx, &h)
	if g, ok := s.gateway(s.ActiveGateway(ctx)); ok {
		if msg := s.intakeTemplateWarning(ctx, g); msg != "" {
			h.Warnings = append(h.Warnings, Warning{Kind: "no_intake_template", Gateway: g.Name, Message: "Staff sends: " + msg})
		}
	}
	return h, nil
}

// warnNotReady warns that the active gateway is not set up (an admin
// forced the switch, or its credentials were removed since), unless its
// pause already says so: messages wait until it is set up.
func (s *Service) warnNotReady(ctx context.Context, h *Health) {
	name := s.ActiveGateway(ctx)
	g, ok := s.gateway(name)
	if !ok {
		return
	}
	reason := g.readiness(ctx)
	if reason == "" {
		return
	}
	for _, w := range h.Warnings {
		if w.Kind == "gateway_blocked" && w.Gateway == name {
			return
		}
	}
	h.Warnings = append(h.Warnings, Warning{Kind: "gateway_not_ready", Gateway: name, Reason: reason,
		Message: fmt.Sprintf("The active gateway %s is %s: messages wait in the queue until an admin sets it up or switches to another gateway.", name, reason)})
}

// Paces reports each gateway's send rate now and its configured rate:
// lower when the provider answered with rate limits lately.
func (s *Service) Paces() []queue.GatewayPace {
	if s.cfg.Paces == nil {
		return nil
	}
	return s.cfg.Paces()
}

// Window returns the item counts by status in a named window; EINVALID for
// an unknown window.
func (s *Service) Window(ctx context.Context, name string) (Window, error) {
	w, err := s.rep.Window(ctx, name)
	if err != nil {
		if _, werr := queue.WindowStart(name, s.cfg.Now()); werr != nil {
			return Window{}, Errorf(EINVALID, "Use one of the windows 1h, 24h, 7d, 30d or all.")
		}
		return Window{}, fmt.Errorf("window %s: %w", name, err)
	}
	return w, nil
}

// Windows returns the item counts by status in each of the five windows,
// shortest first.
func (s *Service) Windows(ctx context.Context) ([]Window, error) {
	ws, err := s.rep.Windows(ctx)
	if err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	return ws, nil
}

// OptOut records that phone must get no more campaign messages: imports
// skip it, and the dispatcher and the delivery loop send no campaign
// message to it from now on, those already queued included (staff messages
// still go). It returns the number in E.164.
func (s *Service) OptOut(ctx context.Context, a Actor, raw, reason string) (string, error) {
	if err := s.require(a, RoleOperator, "opting a number out"); err != nil {
		return "", err
	}
	e164, err := normalizePhone(raw, s.PhonePolicy(ctx), func(reason string) error {
		return Errorf(EINVALID, "%s: %s.", Echo(raw), reason)
	})
	if err != nil {
		return "", err
	}
	if err := s.st.AddOptOut(ctx, e164, reason, a.Identity); err != nil {
		return "", err
	}
	return e164, nil
}
