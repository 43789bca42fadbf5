package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// handle sends one claimed item and returns its outcome. Once s.claim is
// done, items not yet sent are released with their attempt refunded. Sends
// that have started run on s.send, so that they finish unless the stop
// cuts them; their outcome is decided on s.finish. With pace, the send
// waits for its gateway's pace first.
func (l *Loop) handle(s stages, it store.QueueItem, claim uint64, pace bool) store.Outcome {
	ctx := s.claim
	if ctx.Err() != nil {
		return l.release(it)
	}
	name, sender, err := l.resolve(ctx, it, claim)
	if err != nil {
		if ctx.Err() != nil {
			return l.release(it)
		}
		msg := SanitizeError(err.Error(), l.secrets(s.finish)...)
		l.log.Warn("no gateway for item", "item", it.ID, "gateway", it.Gateway, "err", msg)
		return l.decide(s.finish, it, name, "", Classify(Retry, "", errors.New(msg)))
	}
	if reason, ok := l.gw.isBlocked(name); ok {
		return store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, RefundAttempt: true,
			NextAttemptAt: l.cfg.Now().Add(l.cfg.BlockedRecheck), Gateway: name,
			// reason was sanitized when the pause was recorded (block, from
			// decide's out.Error), so it only needs bounding here.
			Error:      words.Cut(fmt.Sprintf("held: gateway %s is paused: %s", name, reason), MaxErrorLen),
			ErrorClass: SenderBlocked.String()}
	}
	if wait, ok := l.reserveRecipient(it.Phone); !ok {
		return store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, RefundAttempt: true,
			NextAttemptAt: l.cfg.Now().Add(wait)}
	}
	if pace {
		start := time.Now()
		if err := l.pacer.Wait(ctx, name); err != nil {
			return l.release(it)
		}
		if out, ok := l.optedOutWhileWaiting(ctx, it, time.Since(start)); ok {
			return out
		}
	}

	if out, ok := l.enforceWindow(s, &it, name, false); ok {
		return out
	}
	out, refused := l.sendOnce(s, it, name, sender)
	if !refused {
		return out
	}
	// The provider refused the free-form item as outside the customer's
	// window (Meta 131047): the window is closed whatever was known, and
	// the item goes once more, in the same attempt, as the intake
	// template, or is held.
	if err := l.store.CloseWindow(s.finish, name, it.Phone, l.cfg.Now()); err != nil {
		l.log.Warn("could not record the customer's closed window", "item", it.ID, "gateway", name, "err", err)
	}
	if ctx.Err() != nil {
		return l.release(it) // nothing was sent
	}
	if out, ok := l.enforceWindow(s, &it, name, true); ok {
		return out
	}
	if pace {
		if err := l.pacer.Wait(ctx, name); err != nil {
			return l.release(it)
		}
	}
	out, _ = l.sendOnce(s, it, name, sender)
	return out
}

// sendOnce builds the item's delivery, sends it and decides its outcome.
// refused reports, with no outcome, that the provider refused a free-form
// item as outside the customer's window (ErrWindowClosed): the caller
// decides what becomes of it.
func (l *Loop) sendOnce(s stages, it store.QueueItem, name string, sender Sender) (out store.Outcome, refused bool) {
	sctx, cancel := context.WithTimeout(s.send, l.cfg.SendTimeout)
	d, err := l.delivery(sctx, it)
	if err != nil {
		cancel()
		if s.cut() {
			return l.release(it), false // nothing reached the gateway
		}
		return l.decide(s.finish, it, name, "", err), false
	}
	obs := l.cfg.Observer
	var start time.Time
	if obs != nil {
		start = time.Now()
	}
	id, err := sender.Send(sctx, d)
	var lat time.Duration
	if obs != nil {
		lat = time.Since(start)
	}
	cancel()
	if err != nil && errors.Is(err, ErrWindowClosed) && store.FreeForm(it.Content.Kind) {
		if obs != nil {
			obs.ObserveSend(name, OutcomeWindowClosed, lat)
		}
		l.log.Info("the provider refused a free-form message: the customer's window is closed", "item", it.ID, "gateway", name)
		return store.Outcome{}, true
	}
	if err != nil && s.cut() {
		err = cutMidSend(err)
	}
	out = l.decide(s.finish, it, name, id, err)
	if obs != nil {
		obs.ObserveSend(name, sendOutcome(out), lat)
	}
	return out, false
}

// release gives a claimed item back untried, at shutdown.
func (l *Loop) release(it store.QueueItem) store.Outcome {
	return store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, RefundAttempt: true,
		NextAttemptAt: l.cfg.Now(), Event: OutcomeReleased.String(), Actor: l.cfg.ProcessorID}
}

// resolve finds the item's gateway and its sender. An item whose gateway
// is paused is held; the hold must not rest on a view older than the
// item's claim, since an admin may have switched gateways or lifted the
// pause since, releasing the item just now (and the view of another
// process may be seconds old). So when the view at hand says paused and
// was read before this claim, the pauses and the settings are read again
// and the item resolved afresh.
func (l *Loop) resolve(ctx context.Context, it store.QueueItem, claim uint64) (string, Sender, error) {
	name, sender, err := l.gateways.Resolve(ctx, it.Gateway)
	if err != nil {
		return name, sender, err
	}
	if _, paused := l.gw.isBlocked(name); !paused || !l.refreshView(ctx, claim) {
		return name, sender, nil
	}
	return l.gateways.Resolve(ctx, it.Gateway)
}

// optOutRecheckAfter is how long a claimed campaign item may wait for its
// gateway's pace before its phone is looked up on the opt-out list again.
// The claim checked the whole batch at once; a wait this long (a slow
// gateway such as the linked session, 3-8 s a send) leaves room for an
// opt-out in between. At most one lookup per such wait, so never more
// lookups than the gateway's pace allows sends.
const optOutRecheckAfter = time.Second

// optedOutWhileWaiting ends a campaign item whose phone opted out while it
// waited for its gateway's pace. A failed lookup sends anyway: the
// claim checked the phone moments ago.
func (l *Loop) optedOutWhileWaiting(ctx context.Context, it store.QueueItem, waited time.Duration) (store.Outcome, bool) {
	if it.CampaignID == 0 || waited < optOutRecheckAfter {
		return store.Outcome{}, false
	}
	out, err := l.store.OptedOut(ctx, it.Phone)
	if err != nil && ctx.Err() != nil {
		return l.release(it), true // stopped before sending: give it back
	}
	if err != nil {
		l.log.Warn("opt-out recheck failed; sending on the claim's check", "item", it.ID, "err", err)
		return store.Outcome{}, false
	}
	if !out {
		return store.Outcome{}, false
	}
	return store.OptedOutOutcome(it, l.cfg.ProcessorID), true
}
