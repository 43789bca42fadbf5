package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// activeSetting is the gateway.active setting as the loop sees it through
// a cache: switch writes the stored value, refresh (Config.RefreshSettings)
// copies it into the cache.
type activeSetting struct {
	mu             sync.Mutex
	stored, cached string
}

func (a *activeSetting) active(context.Context) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cached
}

func (a *activeSetting) refresh() {
	a.mu.Lock()
	a.cached = a.stored
	a.mu.Unlock()
}

func (a *activeSetting) set(name string) {
	a.mu.Lock()
	a.stored = name
	a.mu.Unlock()
}

// TestHeldItemsGoAtOnceAfterSwitchOrResume: items held for a paused
// gateway go out with the next claim after an admin switches gateways or
// lifts the pause (UnblockGateway, as ops.UseGateway calls it), not a
// BlockedRecheck later, even though the loop's cached view of the pauses
// and of the active gateway is older than the change.
func TestHeldItemsGoAtOnceAfterSwitchOrResume(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// change is the admin's action after meta was paused.
		change func(t *testing.T, db *store.DB, a *activeSetting)
		// via is the gateway the held items must go out through.
		via string
	}{
		{"switch to another gateway", func(t *testing.T, db *store.DB, a *activeSetting) {
			a.set("whapi")
			if err := db.UnblockGateway(context.Background(), "whapi"); err != nil {
				t.Fatal(err)
			}
		}, "whapi"},
		{"resume the paused gateway", func(t *testing.T, db *store.DB, a *activeSetting) {
			if err := db.UnblockGateway(context.Background(), "meta"); err != nil {
				t.Fatal(err)
			}
		}, "meta"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range storetest.Dialects() {
				t.Run(string(d), func(t *testing.T) {
					clock := storetest.NewClock(epoch)
					db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
					meta, whapi := &fake.Sender{}, &fake.Sender{}
					paused := true
					meta.Fail = func(queue.Delivery) error {
						if paused {
							return queue.Classify(queue.SenderBlocked, "190", errors.New("access token expired"))
						}
						return nil
					}
					a := &activeSetting{stored: "meta", cached: "meta"}
					loop := queue.New(queue.Config{Workers: 4, Now: clock.Now, BlockedRecheck: time.Minute, RefreshSettings: a.refresh},
						db, queue.NewSettingsGateways(a.active, map[string]queue.Sender{"meta": meta, "whapi": whapi}, "meta"), nil)
					b := &bundle{db: db, clock: clock, loop: loop}
					first := b.enqueue(t, store.NewQueueItem{})
					b.step(t) // meta refuses: paused, the item held
					second := b.enqueue(t, store.NewQueueItem{Phone: "+919812345678"})
					b.step(t) // held without calling meta
					if meta.Calls() != 1 {
						t.Fatalf("meta called %d times, want 1", meta.Calls())
					}
					for _, id := range append(first, second...) {
						if it := b.item(t, id); it.Status != store.StatusQueued || !it.NextAttemptAt.Equal(clock.Now().Add(time.Minute)) {
							t.Fatalf("held item %d: %s, next attempt %v", id, it.Status, it.NextAttemptAt)
						}
					}

					clock.Advance(2 * time.Second)
					paused = false
					tc.change(t, db, a)
					if n := b.step(t); n != 2 {
						t.Fatalf("claimed %d items right after the change, want the 2 held ones", n)
					}
					for _, id := range append(first, second...) {
						it := b.item(t, id)
						if it.Status != store.StatusSent || it.SentGateway != tc.via {
							t.Fatalf("item %d after the change: %s via %q (%s), want sent via %s", id, it.Status, it.SentGateway, it.LastError, tc.via)
						}
					}
				})
			}
		})
	}
}

// TestRefreshOncePerClaim: while a gateway stays paused, held items cost
// one read of the pauses per claim, not one per item.
func TestRefreshOncePerClaim(t *testing.T) {
	t.Parallel()
	clock := storetest.NewClock(epoch)
	db := storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	refreshes := 0
	f := &fake.Sender{Fail: func(queue.Delivery) error {
		return queue.Classify(queue.SenderBlocked, "190", errors.New("access token expired"))
	}}
	loop := queue.New(queue.Config{Workers: 8, Now: clock.Now, BlockedRecheck: time.Minute, RefreshSettings: func() { refreshes++ }},
		db, queue.StaticGateways{Active: "meta", Senders: map[string]queue.Sender{"meta": f}}, nil)
	b := &bundle{db: db, clock: clock, loop: loop}
	b.enqueue(t, store.NewQueueItem{})
	b.step(t)
	b.enqueue(t, make([]store.NewQueueItem, 5)...)
	b.step(t)
	if refreshes != 1 {
		t.Fatalf("%d refreshes for one claim of 5 held items, want 1", refreshes)
	}
	clock.Advance(time.Minute)
	b.step(t)
	if refreshes != 2 || f.Calls() != 1 {
		t.Fatalf("after the recheck: %d refreshes, %d sends; want 2 and 1", refreshes, f.Calls())
	}
}

// TestPausedGatewaysThatMatter: a paused gateway is warned about while it
// is the active one or something still names it, not after an admin
// switched away from it.
func TestPausedGatewaysThatMatter(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			clock := storetest.NewClock(epoch)
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			b := &bundle{db: db, clock: clock}
			active := "meta"
			rep := queue.NewReporter(db, clock.Now)
			rep.Active = func(context.Context) string { return active }
			paused := func() []string {
				t.Helper()
				h, err := rep.Health(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, g := range h.BlockedGateways {
					names = append(names, g.Gateway)
				}
				var warned []string
				for _, w := range h.Warnings {
					if w.Kind == "gateway_blocked" {
						warned = append(warned, w.Gateway)
						if w.Reason != "sender_blocked (code 190): token expired" {
							t.Fatalf("warning reason %q", w.Reason)
						}
					}
				}
				if len(names) != len(warned) {
					t.Fatalf("paused %v but warned about %v", names, warned)
				}
				return names
			}
			if err := db.BlockGateway(ctx, "meta", "sender_blocked (code 190): token expired"); err != nil {
				t.Fatal(err)
			}
			if got := paused(); len(got) != 1 || got[0] != "meta" {
				t.Fatalf("active and paused: %v", got)
			}
			active = "whapi" // switched away; nothing names meta
			if got := paused(); len(got) != 0 {
				t.Fatalf("switched away: still warned about %v", got)
			}
			id := b.enqueue(t, store.NewQueueItem{Gateway: "meta"})
			if got := paused(); len(got) != 1 {
				t.Fatalf("a queued item names meta: paused %v", got)
			}
			if _, err := db.CancelQueueItem(ctx, id[0], "t"); err != nil {
				t.Fatal(err)
			}
			if got := paused(); len(got) != 0 {
				t.Fatalf("nothing names meta any more: paused %v", got)
			}
			// Without the active gateway known, every pause is reported.
			if h, err := queue.NewReporter(db, clock.Now).Health(ctx); err != nil || len(h.BlockedGateways) != 1 {
				t.Fatalf("reporter without Active: %+v, %v", h.BlockedGateways, err)
			}
		})
	}
}
