package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// decide turns a send result into the item's outcome, and pauses the
// gateway when the sender is blocked. The error's text is redacted of the
// current secrets first, before anything cuts it.
func (l *Loop) decide(ctx context.Context, it store.QueueItem, gateway, providerID string, err error) store.Outcome {
	if err != nil {
		err = &redactedError{msg: Redact(err.Error(), l.secrets(ctx)...), err: err}
	}
	t := l.currentTuning()
	if err != nil {
		// A failure gets the backoff and attempt limit in force now: the
		// tuning read at the claim may be older than an admin's change.
		t = l.refreshTuning(ctx)
	}
	it.MaxAttempts = capAttempts(it.MaxAttempts, t.MaxAttempts)
	out := Decide(it, gateway, providerID, err, l.cfg.Now(), l.retryPolicy(t), l.cfg.BlockedRecheck)
	out.Actor = l.cfg.ProcessorID
	c, se := ClassOf(err)
	switch {
	case err == nil:
	case c == SenderBlocked:
		l.block(gateway, out.Error)
	case c == RateLimited && se.Scope == ScopeRecipient:
		// Too many messages to this one person: only they wait.
		l.recipients.holdUntil(it.Phone, out.NextAttemptAt)
	case c == RateLimited && se.Code != "":
		// The provider is overloaded: every send through it slows down.
		// (A rate limit without a provider code is the sender's own
		// pacing, not the provider's answer.)
		// Same test as GatewayRateLimit, on the SendError already in hand.
		if se.Scope == ScopeGateway {
			l.pacer.RateLimited(gateway, se.RetryAfter)
		}
	}
	if err != nil {
		l.log.Warn("send failed", "item", it.ID, "gateway", gateway, "attempt", it.Attempts,
			"class", out.ErrorClass, "next", out.Status, "err", out.Error)
	}
	return out
}

// Decide is the pure decision from a send's result to an item's outcome.
func Decide(it store.QueueItem, gateway, providerID string, err error, now time.Time, policy RetryPolicy, blockedRecheck time.Duration) store.Outcome {
	out := store.Outcome{ID: it.ID, Token: it.LockToken, Gateway: gateway}
	if err == nil {
		out.Status, out.ProviderMessageID = store.StatusSent, providerID
		return out
	}
	if errors.Is(err, ErrUnavailable) {
		out.Status, out.RefundAttempt, out.NextAttemptAt, out.Event = store.StatusQueued, true, now.Add(unavailableWait), OutcomeHeld.String()
		out.Error, out.ErrorClass = SanitizeError(err.Error()), OutcomeUnavailable.String()
		return out
	}
	class, se := ClassOf(err)
	out.Error, out.ErrorClass = SanitizeError(err.Error()), class.String()
	switch class {
	case Permanent:
		out.Status, out.Event = store.StatusFailed, OutcomeFailed.String()
	case RateLimited:
		wait := time.Second
		if se != nil && se.RetryAfter > 0 {
			wait = se.RetryAfter
		}
		out.Status, out.RefundAttempt, out.NextAttemptAt, out.Event = store.StatusQueued, true, now.Add(wait), OutcomeRateLimited.String()
	case SenderBlocked:
		out.Status, out.RefundAttempt, out.NextAttemptAt, out.Event = store.StatusQueued, true, now.Add(blockedRecheck), OutcomeHeld.String()
	default:
		if it.Attempts >= it.MaxAttempts {
			out.Status, out.Event = store.StatusFailed, OutcomeFailed.String()
			out.Error = SanitizeError(fmt.Sprintf("gave up after %d attempts: %s", it.Attempts, out.Error))
		} else {
			out.Status, out.NextAttemptAt, out.Event = store.StatusQueued, policy.NextRetry(it.Attempts, now), OutcomeRetry.String()
		}
	}
	return out
}

// sendOutcome names the outcome of a send that reached a gateway, for an
// Observer.
func sendOutcome(out store.Outcome) Outcome {
	switch {
	case out.Status == store.StatusSent:
		return OutcomeSent
	case out.ErrorClass == OutcomeUnavailable.String():
		return OutcomeUnavailable
	case out.ErrorClass == SenderBlocked.String():
		return OutcomeSenderBlocked
	case out.Event == OutcomeRateLimited.String():
		return OutcomeRateLimited
	case out.Status == store.StatusFailed:
		return OutcomeFailed
	}
	return OutcomeRetry
}

// secrets returns the current secret values to redact, if the loop was
// given them.
func (l *Loop) secrets(ctx context.Context) []string {
	if l.cfg.Secrets == nil {
		return nil
	}
	return l.cfg.Secrets(ctx)
}

// redactedError shows a redacted text in place of err's and keeps err for
// errors.Is and ClassOf.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
