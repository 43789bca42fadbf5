package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// rescuePage is how many stale items are recovered per query.
const rescuePage = 500

// rescueRecheck is the longest the rescuer sleeps before it reads the lock
// timeout again, so a shortened timeout takes effect soon.
const rescueRecheck = time.Minute

// RescueResult counts what one stale-lock recovery did.
type RescueResult struct {
	Requeued int
	Failed   int
}

// RescueStore is what the rescuer needs from the database; *store.DB
// satisfies it.
type RescueStore interface {
	StaleLocks(ctx context.Context, lockedBefore, aliveSince time.Time, limit int) ([]store.QueueItem, error)
	CompleteQueueItems(ctx context.Context, outs []store.Outcome) ([]bool, error)
	Ping(ctx context.Context) error
}

// RescuerConfig tunes a Rescuer. Zero values take the defaults shown.
type RescuerConfig struct {
	// Tuning, when set, gives the lock timeout (Tuning.LockTimeout), read
	// before every pass, so a change takes effect without a restart.
	Tuning func(ctx context.Context) Tuning
	// LockTimeout is how long an item may stay processing before it is
	// recovered, when Tuning is nil or gives none (5m).
	LockTimeout time.Duration
	// Interval is the time between passes (the lock timeout / 5, read
	// live).
	Interval time.Duration
	// Actor names the rescuer in the items' history (host-pid-random).
	Actor string
	// Now is the clock that stale locks are measured against (time.Now).
	Now func() time.Time
}

// Rescuer recovers items whose lock outlived the lock timeout: their
// processor stopped or stalled. Run it once per process next to the loop
// (several are safe: each recovery is guarded by the item's lock token).
//
// Only a dead or stalled processor's items are recovered: a live one
// renews its locks, and an item whose owner wrote a heartbeat within the
// lock timeout is left alone. After the rescuer itself could not reach the
// database, it waits one lock timeout before recovering anything, so that
// owners cut off by the same outage renew their locks first.
type Rescuer struct {
	cfg   RescuerConfig
	store RescueStore
	log   *slog.Logger

	mu          sync.Mutex
	lastFailure time.Time
}

// NewRescuer returns a rescuer; call Run to start it.
func NewRescuer(st RescueStore, cfg RescuerConfig, log *slog.Logger) *Rescuer {
	if cfg.LockTimeout <= 0 {
		cfg.LockTimeout = defaultLockTimeout
	}
	if cfg.Actor == "" {
		cfg.Actor = newProcessorID()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Rescuer{cfg: cfg, store: st, log: log.With("component", "queue.rescuer")}
}

// lockTimeout is the lock timeout in force.
func (r *Rescuer) lockTimeout(ctx context.Context) time.Duration {
	if r.cfg.Tuning != nil {
		if d := r.cfg.Tuning(ctx).LockTimeout; d > 0 {
			return d
		}
	}
	return r.cfg.LockTimeout
}

// interval is the time between passes in force.
func (r *Rescuer) interval(ctx context.Context) time.Duration {
	d := r.cfg.Interval
	if d <= 0 {
		d = r.lockTimeout(ctx) / 5
	}
	return max(d, 10*time.Millisecond)
}

// Run recovers stale items at once and then every interval until ctx is
// cancelled, when it returns nil. A failed pass is logged and tried again
// at the next interval.
func (r *Rescuer) Run(ctx context.Context) error {
	for {
		last := time.Now()
		if _, err := r.RescueOnce(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			r.log.Error("stale-lock recovery failed", "err", err)
		}
		for {
			wait := r.interval(ctx) - time.Since(last)
			if wait <= 0 {
				break
			}
			t := time.NewTimer(min(wait, rescueRecheck))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// RescueOnce recovers items that have been processing longer than the lock
// timeout: their processor stopped or stalled. Each goes back to queued, or
// to failed when it has no attempts left, with the reason recorded. A late
// outcome from the old owner is ignored because the lock token no longer
// matches.
func (r *Rescuer) RescueOnce(ctx context.Context) (res RescueResult, err error) {
	lockTimeout := r.lockTimeout(ctx)
	now := r.cfg.Now()
	r.mu.Lock()
	since := now.Sub(r.lastFailure)
	r.mu.Unlock()
	defer func() {
		if err != nil {
			r.mu.Lock()
			r.lastFailure = r.cfg.Now()
			r.mu.Unlock()
		}
	}()
	if since < lockTimeout {
		// The database was away a moment ago: owners cut off with us are
		// still renewing their locks. The wait counts from when the
		// database is back, so keep asking whether it is.
		if err := r.store.Ping(ctx); err != nil {
			return res, fmt.Errorf("rescue: %w", err)
		}
		return res, nil
	}
	before := now.Add(-lockTimeout)
	var maxAttempts int
	if r.cfg.Tuning != nil {
		maxAttempts = r.cfg.Tuning(ctx).MaxAttempts
	}
	seen := map[int64]bool{}
	for {
		items, err := r.store.StaleLocks(ctx, before, before, rescuePage)
		if err != nil {
			return res, fmt.Errorf("rescue: %w", err)
		}
		// Pages move on by id: an item seen already in this pass (its
		// recovery raced with another) is not taken again.
		var outs []store.Outcome
		for _, it := range items {
			if seen[it.ID] {
				continue
			}
			seen[it.ID] = true
			it.MaxAttempts = capAttempts(it.MaxAttempts, maxAttempts)
			out := RescueOutcome(it, now, lockTimeout)
			out.Actor = r.cfg.Actor
			outs = append(outs, out)
		}
		if len(outs) == 0 {
			break
		}
		applied, err := r.store.CompleteQueueItems(ctx, outs)
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
		r.log.Warn("recovered stale locks", "requeued", res.Requeued, "failed", res.Failed, "lock_timeout", lockTimeout)
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
		out.Status, out.Event = store.StatusFailed, OutcomeFailed.String()
		out.Error = fmt.Sprintf("gave up after %d attempts: %s", it.Attempts, reason)
		return out
	}
	out.Status, out.NextAttemptAt, out.Event, out.Error = store.StatusQueued, now, OutcomeRescued.String(), reason
	return out
}
