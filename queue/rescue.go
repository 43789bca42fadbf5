package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// rescuePage is how many stale items are recovered per query.
const rescuePage = 500

// RescueResult counts what one stale-lock recovery did.
type RescueResult struct {
	Requeued int
	Failed   int
}

// Rescue recovers items that have been processing longer than the lock
// timeout: their processor stopped or stalled. Each goes back to queued, or
// to failed when it has no attempts left, with the reason recorded. A late
// outcome from the old owner is ignored because the lock token no longer
// matches.
func (l *Loop) Rescue(ctx context.Context) (RescueResult, error) {
	var res RescueResult
	now := l.cfg.Now()
	before := now.Add(-l.cfg.LockTimeout)
	for {
		items, err := l.store.StaleQueueItems(ctx, before, rescuePage)
		if err != nil {
			return res, fmt.Errorf("rescue: %w", err)
		}
		if len(items) == 0 {
			break
		}
		outs := make([]store.Outcome, len(items))
		for i, it := range items {
			outs[i] = RescueOutcome(it, now, l.cfg.LockTimeout)
			outs[i].Actor = l.cfg.ProcessorID
		}
		applied, err := l.store.CompleteQueueItems(ctx, outs)
		if err != nil {
			return res, fmt.Errorf("rescue: %w", err)
		}
		for i, ok := range applied {
			switch {
			case !ok:
			case outs[i].Status == store.StatusFailed:
				res.Failed++
			default:
				res.Requeued++
			}
		}
		if len(items) < rescuePage {
			break
		}
	}
	if res.Requeued+res.Failed > 0 {
		l.log.Warn("recovered stale locks", "requeued", res.Requeued, "failed", res.Failed)
	}
	return res, nil
}

// RescueOutcome decides what becomes of one stale item: queued again now, or
// failed when its attempts are spent. The attempt stays counted, so an item
// that keeps stalling its processor ends.
func RescueOutcome(it store.QueueItem, now time.Time, lockTimeout time.Duration) store.Outcome {
	out := store.Outcome{ID: it.ID, Token: it.LockToken, ErrorClass: "stale_lock"}
	reason := fmt.Sprintf("lock held by %s expired after %s (the processor stopped or stalled)", it.LockedBy, lockTimeout)
	if it.Attempts >= it.MaxAttempts {
		out.Status, out.Event = store.StatusFailed, "failed"
		out.Error = fmt.Sprintf("gave up after %d attempts: %s", it.Attempts, reason)
		return out
	}
	out.Status, out.NextAttemptAt, out.Event, out.Error = store.StatusQueued, now, "rescued", reason
	return out
}
