package queue_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// hangingSender takes each send and never answers: it returns only when
// the send's context is done.
type hangingSender struct {
	inFlight atomic.Int64
	started  atomic.Int64
}

func (h *hangingSender) Send(ctx context.Context, _ queue.Delivery) (string, error) {
	h.started.Add(1)
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	<-ctx.Done()
	return "", ctx.Err()
}

// At a stop, a send still with the gateway when DrainTimeout runs out is
// cut and counts as an attempt to retry; items claimed but not yet sent go
// back with their attempt refunded; Run returns and nothing stays
// processing.
func TestStopCutsSendsAtTheDrainTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.OpenDialect(t, d, storetest.Options{})
			ids := enqueueN(t, db, 6)
			gw := &hangingSender{}
			cfg := fastConfig(4)
			cfg.Retry = queue.Backoff{Base: time.Hour, Cap: time.Hour}
			cfg.SendTimeout = time.Hour // only the stop cuts the sends
			cfg.DrainTimeout = 100 * time.Millisecond
			// One send a second: the first hangs, the other claims wait
			// for their pace.
			cfg.GatewayRates = map[string]float64{"fake": 1}
			l := queue.New(cfg, db, gatewaysOf(gw), nil)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- l.Run(runCtx) }()

			deadline := time.Now().Add(20 * time.Second)
			for gw.inFlight.Load() < 1 {
				if time.Now().After(deadline) {
					stop()
					t.Fatal("no send in flight within 20s")
				}
				time.Sleep(time.Millisecond)
			}
			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return after its sends were cut")
			}

			cut, released := 0, 0
			for _, id := range ids {
				it, err := db.QueueItem(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case it.Status != store.StatusQueued:
					t.Errorf("item %d is %s after the stop, want queued", id, it.Status)
				case strings.Contains(it.LastError, "cut off mid-send by shutdown"):
					cut++
					if it.Attempts != 1 || !it.NextAttemptAt.After(time.Now().Add(time.Minute)) {
						t.Errorf("item %d cut mid-send: %d attempts, next at %s; want the attempt counted and the backoff", id, it.Attempts, it.NextAttemptAt)
					}
				case it.Attempts != 0:
					t.Errorf("item %d never sent, yet %d attempts spent (%q)", id, it.Attempts, it.LastError)
				default:
					evs, err := db.QueueItemEvents(ctx, id)
					if err != nil {
						t.Fatal(err)
					}
					if len(evs) > 0 && evs[len(evs)-1].Event == queue.OutcomeReleased.String() {
						released++
					}
				}
			}
			if started := gw.started.Load(); int64(cut) != started || cut == 0 {
				t.Errorf("%d items recorded as cut mid-send, %d sends started", cut, started)
			}
			if released == 0 {
				t.Error("no claimed item was released untried")
			}
		})
	}
}
