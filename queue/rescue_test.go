package queue_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// The rescuer recovers items whose lock outlived the lock timeout, leaves
// fresh locks alone, and follows a changed lock timeout.
func TestRescuerRecoversStaleOnly(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		live := &liveTuning{t: queue.Tuning{LockTimeout: 5 * time.Minute}}
		r := queue.NewRescuer(b.db, queue.RescuerConfig{Tuning: live.get, Actor: "rescuer-test", Now: b.clock.Now}, nil)

		stale := b.enqueue(t, store.NewQueueItem{MaxAttempts: 3}, store.NewQueueItem{MaxAttempts: 3})
		if got, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 2, Owner: "crashed", Token: "old"}); err != nil || len(got) != 2 {
			t.Fatalf("claim: %v, %v", got, err)
		}
		b.clock.Advance(3 * time.Minute)
		fresh := b.enqueue(t, store.NewQueueItem{Phone: "+919876522222", MaxAttempts: 3})[0]
		if got, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "alive", Token: "fresh"}); err != nil || len(got) != 1 || got[0].ID != fresh {
			t.Fatalf("claim: %v, %v", got, err)
		}
		b.clock.Advance(3 * time.Minute) // stale: 6m; fresh: 3m

		res, err := r.RescueOnce(ctx)
		if err != nil || res != (queue.RescueResult{Requeued: 2}) {
			t.Fatalf("rescue = %+v, %v; want 2 requeued", res, err)
		}
		for _, id := range stale {
			it := b.item(t, id)
			if it.Status != store.StatusQueued || it.LockToken != "" || !strings.Contains(it.LastError, "crashed") {
				t.Fatalf("stale item after rescue = %+v", it)
			}
			evs, err := b.db.QueueItemEvents(ctx, id)
			if err != nil || len(evs) != 1 || evs[0].Event != "rescued" || evs[0].Actor != "rescuer-test" {
				t.Fatalf("history of item #%d = %+v, %v", id, evs, err)
			}
		}
		if it := b.item(t, fresh); it.Status != store.StatusProcessing || it.LockToken != "fresh" {
			t.Fatalf("fresh item after rescue = %+v", it)
		}
		if res, err := r.RescueOnce(ctx); err != nil || res != (queue.RescueResult{}) {
			t.Fatalf("second rescue = %+v, %v; want nothing", res, err)
		}

		// The admin shortens the lock timeout: the 3-minute lock is stale now.
		live.change(func(t *queue.Tuning) { t.LockTimeout = 2 * time.Minute })
		if res, err := r.RescueOnce(ctx); err != nil || res != (queue.RescueResult{Requeued: 1}) {
			t.Fatalf("rescue after the change = %+v, %v; want 1 requeued", res, err)
		}
		if it := b.item(t, fresh); it.Status != store.StatusQueued {
			t.Fatalf("item after the shorter timeout = %+v", it)
		}
	})
}

// Run recovers at once, keeps going, and returns nil when stopped.
func TestRescuerRun(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		r := queue.NewRescuer(b.db, queue.RescuerConfig{LockTimeout: time.Minute, Interval: 5 * time.Millisecond, Now: b.clock.Now}, nil)
		first := b.enqueue(t, store.NewQueueItem{})[0]
		if _, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "crashed", Token: "a"}); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(2 * time.Minute)
		stop := runRescuer(t, r)
		defer stop()
		waitFor(t, "the first pass", func() bool { return b.item(t, first).Status == store.StatusQueued })

		second := b.enqueue(t, store.NewQueueItem{Phone: "+919876533333"})[0]
		if got, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 2, Owner: "crashed", Token: "b"}); err != nil || len(got) != 2 {
			t.Fatalf("claim: %v, %v", got, err)
		}
		b.clock.Advance(2 * time.Minute)
		waitFor(t, "a later pass", func() bool { return b.item(t, second).Status == store.StatusQueued })
	})
}
