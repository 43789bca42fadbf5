package queue_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// A provider's rate-limit answers slow the whole gateway down; a pair
// limit for one recipient does not, and spends no attempt either way.
func TestLoopPacesByTheProvidersAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		limit    func() error
		wantSlow bool
	}{
		{"throughput limit", func() error { return queue.RateLimitedFor(0, "130429", errors.New("(#130429) Rate limit hit")) }, true},
		{"pair limit", func() error {
			return queue.RecipientRateLimitedFor(10*time.Millisecond, "131056", errors.New("(#131056) pair rate limit"))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := storetest.OpenSQLite(t, storetest.Options{})
			var calls atomic.Int32
			gw := &fake.Sender{Fail: func(queue.Delivery) error {
				if n := calls.Add(1); n <= 6 && n%2 == 0 {
					return tc.limit()
				}
				return nil
			}}
			cfg := fastConfig(4)
			cfg.GatewayRates = map[string]float64{"fake": 200}
			l := queue.New(cfg, db, gatewaysOf(gw), nil)
			b := &bundle{db: db}
			ids := b.enqueue(t, make([]store.NewQueueItem, 20)...)
			stop := runLoop(t, l)
			deadline := time.Now().Add(30 * time.Second)
			for gw.Distinct() < len(ids) {
				if time.Now().After(deadline) {
					stop()
					t.Fatalf("%d of %d sent", gw.Distinct(), len(ids))
				}
				time.Sleep(5 * time.Millisecond)
			}
			paces := l.Paces()
			stop()
			if len(paces) != 1 || paces[0].Gateway != "fake" || paces[0].Target != 200 {
				t.Fatalf("paces = %+v", paces)
			}
			if slowed := paces[0].Rate < 200; slowed != tc.wantSlow {
				t.Fatalf("rate %v after rate limits; slowed down = %v, want %v", paces[0].Rate, slowed, tc.wantSlow)
			}
			for _, id := range ids {
				if it := b.item(t, id); it.Status != store.StatusSent || it.Attempts != 1 {
					t.Errorf("item #%d: %s with %d attempts; want sent with 1 (rate-limited tries spend none)", id, it.Status, it.Attempts)
				}
			}
		})
	}
}
