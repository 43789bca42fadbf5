package queue

import (
	"context"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// outbox holds the outcomes decided but not yet written, and every item
// this loop has claimed whose outcome is not written yet: the items whose
// locks the heartbeat renews. The fetcher writes the outcomes with its next
// claim; the completer writes them when the fetcher is idle.
type outbox struct {
	mu      sync.Mutex
	pending []store.Outcome
	held    map[int64]bool
	// ready is signalled when outcomes are added or put back.
	ready chan struct{}
}

func newOutbox() *outbox {
	return &outbox{held: map[int64]bool{}, ready: make(chan struct{}, 1)}
}

// signal wakes the completer.
func (o *outbox) signal() {
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

// add keeps one decided outcome until it is written.
func (o *outbox) add(out store.Outcome) {
	o.mu.Lock()
	o.pending = append(o.pending, out)
	o.mu.Unlock()
	o.signal()
}

// take removes and returns every outcome waiting to be written.
func (o *outbox) take() []store.Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	outs := o.pending
	o.pending = nil
	return outs
}

// putBack returns outcomes that could not be written, ahead of newer ones.
func (o *outbox) putBack(outs []store.Outcome) {
	if len(outs) == 0 {
		return
	}
	o.mu.Lock()
	o.pending = append(outs, o.pending...)
	o.mu.Unlock()
	o.signal()
}

// count is how many outcomes wait to be written.
func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// hold records claimed items as this loop's until their outcome is written.
func (o *outbox) hold(items []store.QueueItem) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, it := range items {
		o.held[it.ID] = true
	}
}

// letGo forgets the items whose outcomes are written.
func (o *outbox) letGo(outs []store.Outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, out := range outs {
		delete(o.held, out.ID)
	}
}

// heldIDs lists the items this loop holds.
func (o *outbox) heldIDs() []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make([]int64, 0, len(o.held))
	for id := range o.held {
		ids = append(ids, id)
	}
	return ids
}

// isHeld reports whether this loop holds item id.
func (o *outbox) isHeld(id int64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held[id]
}

// written lets go of items whose outcome is written, and reports those the
// database ignored.
func (l *Loop) written(outs []store.Outcome, applied []bool) {
	l.outbox.letGo(outs)
	l.reportIgnored(outs, applied)
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
		case <-l.outbox.ready:
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
		if l.writeOutcomes(ctx, l.outbox.take()) {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), l.cfg.OutcomeRetryMax)
		// Try again after the backoff, even if no new outcome arrives.
		l.outbox.signal()
	}
}

// finalWrite writes what is left at stop, trying with backoff for up to
// Config.FinalWriteTimeout; what still cannot be written is logged with its
// item ids (those items are recovered once their lock times out).
func (l *Loop) finalWrite(ctx context.Context) {
	deadline := time.Now().Add(l.cfg.FinalWriteTimeout)
	backoff := 100 * time.Millisecond
	for {
		outs := l.outbox.take()
		if len(outs) == 0 || l.writeOutcomes(ctx, outs) {
			return
		}
		if time.Now().Add(backoff).After(deadline) {
			var ids []int64
			for _, o := range l.outbox.take() {
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
		l.outbox.putBack(batch)
		l.log.Error("outcomes not written yet; kept to try again", "items", len(batch), "err", err)
		return false
	}
	l.written(batch, applied)
	return true
}
