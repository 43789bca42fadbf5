package queue_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// An item whose owner has a fresh heartbeat is never recovered, however old
// its lock; once the owner stops beating, it is.
func TestRescuerLeavesLiveOwnersAlone(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		r := queue.NewRescuer(b.db, queue.RescuerConfig{LockTimeout: time.Minute, Actor: "rescuer", Now: b.clock.Now}, nil)
		id := b.enqueue(t, store.NewQueueItem{})[0]
		if got, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "alive", Token: "tok"}); err != nil || len(got) != 1 {
			t.Fatalf("claim: %v, %v", got, err)
		}
		b.clock.Advance(5 * time.Minute)
		if err := b.db.PutHeartbeat(ctx, store.Heartbeat{ProcessorID: "alive", StartedAt: epoch}); err != nil {
			t.Fatal(err)
		}
		if res, err := r.RescueOnce(ctx); err != nil || res != (queue.RescueResult{}) {
			t.Fatalf("rescue with the owner alive = %+v, %v; want nothing", res, err)
		}
		if it := b.item(t, id); it.Status != store.StatusProcessing || it.LockToken != "tok" {
			t.Fatalf("item of a live owner = %+v", it)
		}
		b.clock.Advance(2 * time.Minute) // the owner's last beat is 2m old now
		if res, err := r.RescueOnce(ctx); err != nil || res != (queue.RescueResult{Requeued: 1}) {
			t.Fatalf("rescue with the owner gone = %+v, %v; want 1", res, err)
		}
	})
}

// staleStore returns one stale item for every StaleLocks call, failing
// while down.
type staleStore struct {
	down  atomic.Bool
	calls atomic.Int32
}

func (s *staleStore) StaleLocks(context.Context, time.Time, time.Time, int) ([]store.QueueItem, error) {
	s.calls.Add(1)
	if s.down.Load() {
		return nil, errors.New("dial tcp 127.0.0.1:3306: connection refused")
	}
	return []store.QueueItem{{ID: 7, LockToken: "t", LockedBy: "gone", Attempts: 1, MaxAttempts: 3, Status: store.StatusProcessing}}, nil
}

func (s *staleStore) Ping(context.Context) error {
	if s.down.Load() {
		return errors.New("dial tcp 127.0.0.1:3306: connection refused")
	}
	return nil
}

func (s *staleStore) CompleteQueueItems(_ context.Context, outs []store.Outcome) ([]bool, error) {
	return make([]bool, len(outs)), nil
}

// After the rescuer itself could not reach the database, it recovers
// nothing for one lock timeout: owners cut off by the same outage renew
// their locks first.
func TestRescuerWaitsAfterItsOwnFailure(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(epoch)
	st := &staleStore{}
	r := queue.NewRescuer(st, queue.RescuerConfig{LockTimeout: time.Minute, Now: clock.Now}, nil)
	st.down.Store(true)
	if _, err := r.RescueOnce(context.Background()); err == nil {
		t.Fatal("a pass with the database away reported no error")
	}
	// Still away a while later: the wait starts again.
	clock.Advance(30 * time.Second)
	if _, err := r.RescueOnce(context.Background()); err == nil {
		t.Fatal("a pass with the database still away reported no error")
	}
	st.down.Store(false)
	calls := st.calls.Load()
	clock.Advance(59 * time.Second)
	if _, err := r.RescueOnce(context.Background()); err != nil || st.calls.Load() != calls {
		t.Fatalf("within a lock timeout of the failure the rescuer looked for stale items (%v)", err)
	}
	clock.Advance(2 * time.Second)
	if _, err := r.RescueOnce(context.Background()); err != nil || st.calls.Load() != calls+1 {
		t.Fatalf("a lock timeout after the failure the rescuer did not look (%v)", err)
	}
}

// flakyStore is a database whose writes of outcomes, claims and heartbeats
// fail while it is down.
type flakyStore struct {
	*store.DB
	down atomic.Bool
}

var errDown = errors.New("invalid connection")

func (f *flakyStore) CompleteQueueItems(ctx context.Context, outs []store.Outcome) ([]bool, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.DB.CompleteQueueItems(ctx, outs)
}

func (f *flakyStore) CompleteAndClaim(ctx context.Context, outs []store.Outcome, p store.ClaimParams) ([]bool, []store.QueueItem, error) {
	if f.down.Load() {
		return nil, nil, errDown
	}
	return f.DB.CompleteAndClaim(ctx, outs, p)
}

func (f *flakyStore) RenewLocks(ctx context.Context, owner string, ids []int64) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.DB.RenewLocks(ctx, owner, ids)
}

// Outcomes that cannot be written are kept and written once the database
// is back, however long it was away: every item ends sent, once, with one
// attempt, and none is left processing.
func TestOutcomesKeptUntilWritten(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			db := &flakyStore{DB: storetest.OpenDialect(t, d, storetest.Options{})}
			var sent atomic.Int32
			var once sync.Once
			cut := make(chan struct{})
			gw := &fake.Sender{Latency: 5 * time.Millisecond, Fail: func(queue.Delivery) error {
				// The database goes away while sends are in flight.
				if sent.Add(1) == 10 {
					once.Do(func() { db.down.Store(true); close(cut) })
				}
				return nil
			}}
			cfg := fastConfig(4)
			cfg.OutcomeRetryMax = 20 * time.Millisecond
			b := &bundle{db: db.DB}
			ids := b.enqueue(t, make([]store.NewQueueItem, 30)...)
			stop := runLoop(t, queue.New(cfg, db, gatewaysOf(gw), nil))
			defer stop()
			select {
			case <-cut:
			case <-time.After(20 * time.Second):
				t.Fatal("the cut never came")
			}
			// Longer than the old give-up time (five tries, about 1.5s).
			time.Sleep(2 * time.Second)
			db.down.Store(false)
			deadline := time.Now().Add(30 * time.Second)
			for {
				done := 0
				for _, id := range ids {
					if b.item(t, id).Status == store.StatusSent {
						done++
					}
				}
				if done == len(ids) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d items sent after the database came back", done, len(ids))
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, id := range ids {
				if it := b.item(t, id); it.Attempts != 1 || gw.CountByItem()[id] != 1 {
					t.Errorf("item #%d: %d attempts, sent %d times; want 1 and 1", id, it.Attempts, gw.CountByItem()[id])
				}
			}
		})
	}
}

// A claim whose answer was lost (the connection broke after the database
// committed it) leaves an item locked in the loop's name that the loop
// never saw. Once its lock is older than the lock timeout the loop gives
// it back, attempt refunded, and sends it once.
func TestLostClaimIsReleasedUnsent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		id := b.enqueue(t, store.NewQueueItem{})[0]
		if got, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "p1", Token: "lost"}); err != nil || len(got) != 1 {
			t.Fatalf("claim: %v, %v", got, err)
		}
		cfg := fastConfig(2)
		cfg.ProcessorID, cfg.LockTimeout, cfg.HeartbeatInterval, cfg.Now = "p1", time.Minute, 10*time.Millisecond, b.clock.Now
		stop := runLoop(t, queue.New(cfg, b.db, gatewaysOf(b.fake), nil))
		defer stop()
		time.Sleep(100 * time.Millisecond) // several heartbeats: the lock is young, nothing happens
		if it := b.item(t, id); it.Status != store.StatusProcessing || b.fake.CountByItem()[id] != 0 {
			t.Fatalf("a young lost claim was touched: %+v", it)
		}
		b.clock.Advance(2 * time.Minute)
		deadline := time.Now().Add(20 * time.Second)
		for b.item(t, id).Status != store.StatusSent {
			if time.Now().After(deadline) {
				t.Fatalf("lost claim not released and sent: %+v", b.item(t, id))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if it := b.item(t, id); it.Attempts != 1 || b.fake.CountByItem()[id] != 1 {
			t.Fatalf("after release: %d attempts, %d sends; want 1 and 1", it.Attempts, b.fake.CountByItem()[id])
		}
	})
}

// Settings that cannot be read spend no attempt: the item waits and is
// tried again.
func TestUnreadableSettingsSpendNoAttempt(t *testing.T) {
	t.Parallel()
	it := store.QueueItem{ID: 1, LockToken: "t", Attempts: 3, MaxAttempts: 3}
	err := queue.Classify(queue.Retry, "", errors.Join(queue.ErrUnavailable, errors.New("read settings: dial tcp: refused")))
	out := queue.Decide(it, "meta", "", err, epoch, queue.Backoff{Base: time.Second, Cap: time.Minute}, time.Minute)
	if out.Status != store.StatusQueued || !out.RefundAttempt || !out.NextAttemptAt.After(epoch) {
		t.Fatalf("outcome %+v: want queued again with the attempt refunded", out)
	}
}
