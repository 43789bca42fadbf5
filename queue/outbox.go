package queue

import (
	"context"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

func (l *Loop) addOutcome(o store.Outcome) {
	l.pendingMu.Lock()
	l.pending = append(l.pending, o)
	l.pendingMu.Unlock()
	select {
	case l.outcome <- struct{}{}:
	default:
	}
}

func (l *Loop) takePending() []store.Outcome {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	outs := l.pending
	l.pending = nil
	return outs
}

func (l *Loop) requeuePending(outs []store.Outcome) {
	if len(outs) == 0 {
		return
	}
	l.pendingMu.Lock()
	l.pending = append(outs, l.pending...)
	l.pendingMu.Unlock()
	select {
	case l.outcome <- struct{}{}:
	default:
	}
}

// hold records claimed items as this loop's until their outcome is written.
func (l *Loop) hold(items []store.QueueItem) {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	for _, it := range items {
		l.held[it.ID] = true
	}
}

// written lets go of items whose outcome is written, and reports those the
// database ignored.
func (l *Loop) written(outs []store.Outcome, applied []bool) {
	l.pendingMu.Lock()
	for _, o := range outs {
		delete(l.held, o.ID)
	}
	l.pendingMu.Unlock()
	l.reportIgnored(outs, applied)
}

// heldIDs lists the items this loop holds.
func (l *Loop) heldIDs() []int64 {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	ids := make([]int64, 0, len(l.held))
	for id := range l.held {
		ids = append(ids, id)
	}
	return ids
}

// isHeld reports whether this loop holds item id.
func (l *Loop) isHeld(id int64) bool {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	return l.held[id]
}

// pendingCount is how many outcomes wait to be written.
func (l *Loop) pendingCount() int {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	return len(l.pending)
}

func (l *Loop) reportIgnored(outs []store.Outcome, applied []bool) {
	for i, ok := range applied {
		if !ok {
			l.log.Warn("outcome ignored: the item's lock was recovered and it belongs to another claim now",
				"item", outs[i].ID, "status", outs[i].Status)
		}
	}
}

// complete writes the outcomes the fetcher has not taken with a claim:
// after CompleteDelay, so a busy fetcher can take them first, and finally
// everything left once the workers are done. An outcome that cannot be
// written (the database is away) is kept and tried again with backoff
// until it is written; the item stays locked, and its lock renewed, by
// this live process meanwhile, so nobody sends it again.
func (l *Loop) complete(ctx context.Context, workersDone <-chan struct{}) {
	var backoff time.Duration
	for {
		select {
		case <-workersDone:
			l.finalWrite(ctx)
			return
		case <-l.outcome:
		}
		wait := l.cfg.CompleteDelay
		if backoff > 0 {
			wait = backoff
		}
		select {
		case <-workersDone:
			l.finalWrite(ctx)
			return
		case <-time.After(wait):
		}
		if l.writeOutcomes(ctx, l.takePending()) {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), l.cfg.OutcomeRetryMax)
		// Try again after the backoff, even if no new outcome arrives.
		select {
		case l.outcome <- struct{}{}:
		default:
		}
	}
}

// finalWrite writes what is left at stop, trying with backoff for up to
// Config.FinalWriteTimeout; what still cannot be written is logged with its
// item ids (those items are recovered once their lock times out).
func (l *Loop) finalWrite(ctx context.Context) {
	deadline := time.Now().Add(l.cfg.FinalWriteTimeout)
	backoff := 100 * time.Millisecond
	for {
		outs := l.takePending()
		if len(outs) == 0 || l.writeOutcomes(ctx, outs) {
			return
		}
		if time.Now().Add(backoff).After(deadline) {
			var ids []int64
			for _, o := range l.takePending() {
				ids = append(ids, o.ID)
			}
			l.log.Error("stopping with outcomes not written: these items stay processing until their lock times out, then go back to the queue",
				"items", ids)
			return
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// writeOutcomes stores a batch. When the database does not take it, the
// batch goes back to the pending outcomes and writeOutcomes reports false.
func (l *Loop) writeOutcomes(ctx context.Context, batch []store.Outcome) bool {
	if len(batch) == 0 {
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	applied, err := l.store.CompleteQueueItems(wctx, batch)
	cancel()
	if err != nil {
		l.requeuePending(batch)
		l.log.Error("outcomes not written yet; kept to try again", "items", len(batch), "err", err)
		return false
	}
	l.written(batch, applied)
	return true
}
