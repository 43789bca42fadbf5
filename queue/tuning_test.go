package queue_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// liveTuning is a Tuning an admin changes while the loop runs. It counts
// the loop's reads, which tell the test that the loop has gone round its
// claim cycle.
type liveTuning struct {
	mu    sync.Mutex
	t     queue.Tuning
	reads atomic.Int64
}

func (lt *liveTuning) get(context.Context) queue.Tuning {
	lt.reads.Add(1)
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.t
}

func (lt *liveTuning) change(f func(t *queue.Tuning)) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	f(&lt.t)
}

// cycles waits until the loop has read the tuning n more times: it has
// claimed, or looked whether it may claim, with what it read.
func (lt *liveTuning) cycles(t *testing.T, n int64) {
	t.Helper()
	want := lt.reads.Load() + n
	waitFor(t, fmt.Sprintf("%d claim cycles", n), func() bool { return lt.reads.Load() >= want })
}

// waitFor polls cond until it holds; the timeout only catches a hung test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A retry delay follows the tuning in force when the failure is decided.
func TestTuningRetryChangesWhileRunning(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		live := &liveTuning{t: queue.Tuning{Workers: 2, RetryBase: time.Hour, RetryMaxDelay: 10 * time.Hour}}
		b.fake.Fail = func(queue.Delivery) error {
			return queue.Classify(queue.Retry, "131000", errors.New("service unavailable"))
		}
		l := queue.New(queue.Config{Tuning: live.get, PollInterval: 5 * time.Millisecond, Now: b.clock.Now},
			b.db, gatewaysOf(b.fake), nil)
		stop := runLoop(t, l)
		defer stop()

		// The clock stands still: a failed item is not due again.
		failedOnce := func(id int64) store.QueueItem {
			t.Helper()
			var it store.QueueItem
			waitFor(t, fmt.Sprintf("item #%d to fail once", id), func() bool {
				it = b.item(t, id)
				return it.Status == store.StatusQueued && it.Attempts == 1
			})
			return it
		}
		within := func(it store.QueueItem, base time.Duration) {
			t.Helper()
			// ±20% jitter, and a microsecond of storage rounding.
			lo, hi := b.clock.Now().Add(base*8/10-time.Microsecond), b.clock.Now().Add(base*12/10+time.Microsecond)
			if it.NextAttemptAt.Before(lo) || it.NextAttemptAt.After(hi) {
				t.Fatalf("item #%d next attempt at %v, want now+%v ±20%%", it.ID, it.NextAttemptAt.Sub(b.clock.Now()), base)
			}
		}

		first := b.enqueue(t, store.NewQueueItem{MaxAttempts: 5})[0]
		l.Notify()
		within(failedOnce(first), time.Hour)

		live.change(func(t *queue.Tuning) { t.RetryBase = 2 * time.Second })
		second := b.enqueue(t, store.NewQueueItem{Phone: "+919876511111", MaxAttempts: 5})[0]
		l.Notify()
		within(failedOnce(second), 2*time.Second)
		within(b.item(t, first), time.Hour) // decided before the change: unchanged
	})
}

// An explicit Config.Retry wins over the tuning.
func TestTuningExplicitRetryWins(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		live := &liveTuning{t: queue.Tuning{RetryBase: time.Hour}}
		b.fake.Fail = func(queue.Delivery) error {
			return queue.Classify(queue.Retry, "131000", errors.New("service unavailable"))
		}
		l := queue.New(queue.Config{Tuning: live.get, Retry: queue.Backoff{Base: time.Minute}, Now: b.clock.Now},
			b.db, gatewaysOf(b.fake), nil)
		id := b.enqueue(t, store.NewQueueItem{MaxAttempts: 5})[0]
		if n, err := l.RunOnce(context.Background()); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		if got := b.item(t, id).NextAttemptAt.Sub(b.clock.Now()); got != time.Minute {
			t.Fatalf("next attempt in %v, want the explicit policy's 1m", got)
		}
	})
}

// gate is a gateway whose sends block until the test lets one through.
type gate struct {
	release chan struct{}

	mu                     sync.Mutex
	inFlight, max, started int
}

func (g *gate) Send(ctx context.Context, d queue.Delivery) (string, error) {
	g.mu.Lock()
	g.inFlight++
	g.started++
	g.max = max(g.max, g.inFlight)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	select {
	case <-g.release:
		return fmt.Sprintf("gate-%d", d.ItemID), nil
	case <-ctx.Done():
		return "", queue.Classify(queue.Retry, "", ctx.Err())
	}
}

// counts returns sends in flight, the most seen at once, and sends started.
func (g *gate) counts() (inFlight, most, started int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inFlight, g.max, g.started
}

// The sends in flight follow Tuning.Workers up and down while the loop runs.
func TestTuningWorkersChangeWhileRunning(t *testing.T) {
	t.Parallel()
	forEachSharedDB(t, func(t *testing.T, s sharedDB) {
		db := s.open(t)
		enqueueN(t, db, 20)
		live := &liveTuning{t: queue.Tuning{Workers: 1}}
		g := &gate{release: make(chan struct{})}
		cfg := queue.Config{Tuning: live.get, PollInterval: 5 * time.Millisecond, SendTimeout: 10 * time.Minute}
		stop := runLoop(t, queue.New(cfg, db, gatewaysOf(g), nil))
		defer stop()
		defer close(g.release) // let blocked sends finish before the stop

		atLeast := func(n int) func() bool {
			return func() bool { f, _, _ := g.counts(); return f >= n }
		}
		expect := func(wantInFlight, wantMost, wantStarted int) {
			t.Helper()
			if f, most, started := g.counts(); f != wantInFlight || most != wantMost || started != wantStarted {
				t.Fatalf("in flight %d, at most %d, started %d; want %d, %d, %d",
					f, most, started, wantInFlight, wantMost, wantStarted)
			}
		}

		waitFor(t, "one send in flight", atLeast(1))
		live.cycles(t, 10)
		expect(1, 1, 1)

		live.change(func(t *queue.Tuning) { t.Workers = 4 })
		waitFor(t, "four sends in flight", atLeast(4))
		live.cycles(t, 10)
		expect(4, 4, 4)

		// Down to 2: nothing new starts until fewer than 2 are in flight.
		live.change(func(t *queue.Tuning) { t.Workers = 2 })
		live.cycles(t, 2)
		g.release <- struct{}{}
		waitFor(t, "three sends in flight", func() bool { f, _, _ := g.counts(); return f == 3 })
		live.cycles(t, 10)
		expect(3, 4, 4)
		g.release <- struct{}{}
		g.release <- struct{}{}
		waitFor(t, "a fifth send", func() bool { _, _, started := g.counts(); return started == 5 })
		live.cycles(t, 10)
		expect(2, 4, 5)
	})
}
