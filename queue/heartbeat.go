package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// heartbeat says this processor is alive, and renews the locks of the
// items it holds (sending, or with an outcome waiting to be written), so
// that only a stopped or stalled processor's items are ever recovered. It
// beats every HeartbeatInterval, or a third of the lock timeout when that
// is shorter.
func (l *Loop) heartbeat(ctx context.Context, started time.Time) {
	host, _ := os.Hostname()
	hb := store.Heartbeat{ProcessorID: l.cfg.ProcessorID, Hostname: host, PID: os.Getpid(),
		Version: l.cfg.Version, StartedAt: started}
	for {
		t := l.currentTuning()
		hb.Workers = t.Workers
		err := l.store.PutHeartbeat(ctx, hb)
		if err == nil {
			_, err = l.store.RenewLocks(ctx, l.cfg.ProcessorID, l.outbox.heldIDs())
		}
		if err == nil {
			err = l.releaseOrphans(ctx, t.LockTimeout)
		}
		if err != nil && ctx.Err() == nil {
			l.log.Warn("heartbeat and lock renewal failed; trying again", "err", err)
		}
		every := min(l.cfg.HeartbeatInterval, max(t.LockTimeout/3, 100*time.Millisecond))
		if err != nil {
			every = min(every, time.Second)
		}
		timer := time.NewTimer(every)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// releaseOrphans gives back items locked in this loop's name that it does
// not hold: their claim went through in the database but its answer was
// lost (the connection broke), so they were never sent. They go back to
// the queue with the attempt refunded. Only items whose lock is older than
// the lock timeout count, so a claim whose answer is on its way is not
// taken for one.
func (l *Loop) releaseOrphans(ctx context.Context, lockTimeout time.Duration) error {
	items, err := l.store.LockedBy(ctx, l.cfg.ProcessorID, l.cfg.Now().Add(-lockTimeout), rescuePage)
	if err != nil {
		return err
	}
	var outs []store.Outcome
	for _, it := range items {
		if l.outbox.isHeld(it.ID) {
			continue
		}
		out := l.release(it)
		out.Error = "the claim's answer was lost on the way from the database; it was not sent"
		outs = append(outs, out)
	}
	if len(outs) == 0 {
		return nil
	}
	applied, err := l.store.CompleteQueueItems(ctx, outs)
	if err != nil {
		return err
	}
	n := 0
	for _, ok := range applied {
		if ok {
			n++
		}
	}
	l.log.Warn("released items whose claim was lost; they were not sent and go back to the queue", "items", n)
	return nil
}

func newProcessorID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(3))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
