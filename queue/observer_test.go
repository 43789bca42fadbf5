package queue_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// observed is one ObserveSend call.
type observed struct {
	gateway, outcome string
	latency          time.Duration
}

// recorder is a queue.Observer that keeps what it is told.
type recorder struct {
	mu   sync.Mutex
	seen []observed
}

func (r *recorder) ObserveSend(gateway string, outcome queue.Outcome, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Kept as the word, so the test checks the stored and scraped values.
	r.seen = append(r.seen, observed{gateway, string(outcome), latency})
}

func (r *recorder) take() []observed {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

// The observer hears of every send that reached the gateway, with the
// loop's own classification of its outcome and the gateway's time.
func TestObserverSeesEachSendsOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storetest.NewClock(epoch)
	db := storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	gw := &fake.Sender{Latency: 5 * time.Millisecond}
	rec := &recorder{}
	l := queue.New(queue.Config{Workers: 1, Retry: queue.Backoff{Base: time.Minute, Cap: time.Hour},
		Observer: rec, Now: clock.Now}, db,
		queue.StaticGateways{Active: "meta", Senders: map[string]queue.Sender{"meta": gw}}, nil)

	for _, tc := range []struct {
		name string
		fail error
		want string
	}{
		{"success", nil, "sent"},
		{"permanent", queue.Classify(queue.Permanent, "131026", errors.New("message undeliverable")), "failed"},
		{"passing fault", queue.Classify(queue.Retry, "131000", errors.New("something went wrong")), "retry"},
		{"rate limit", queue.RateLimitedFor(time.Second, "130429", errors.New("throughput reached")), "rate_limited"},
		{"settings unreadable", errors.Join(queue.ErrUnavailable, errors.New("dial tcp: refused")), "unavailable"},
	} {
		gw.Fail = func(queue.Delivery) error { return tc.fail }
		if _, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543210",
			Content: store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}, MaxAttempts: 3, CreatedBy: "test"}}); err != nil {
			t.Fatal(err)
		}
		if n, err := l.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("%s: stepped %d, %v", tc.name, n, err)
		}
		got := rec.take()
		if len(got) != 1 {
			t.Fatalf("%s: observed %+v, want one send", tc.name, got)
		}
		if got[0].gateway != "meta" || got[0].outcome != tc.want {
			t.Errorf("%s: observed %s/%s, want meta/%s", tc.name, got[0].gateway, got[0].outcome, tc.want)
		}
		if got[0].latency < gw.Latency {
			t.Errorf("%s: latency %v, shorter than the gateway's %v", tc.name, got[0].latency, gw.Latency)
		}
		// Items sent back to the queue are cancelled, so that each round
		// claims only its own.
		items, err := db.RecentQueueItems(ctx, store.RecentFilter{Status: store.StatusQueued})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if _, err := db.CancelQueueItem(ctx, it.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}

	// A sender-blocked answer is observed once; the items held while the
	// gateway is paused never reach it and are not.
	gw.Fail = func(queue.Delivery) error {
		return queue.Classify(queue.SenderBlocked, "190", errors.New("access token expired"))
	}
	for range 2 {
		if _, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543211",
			Content: store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}, MaxAttempts: 3, CreatedBy: "test"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	outcomes := []string{}
	for _, o := range rec.take() {
		outcomes = append(outcomes, o.outcome)
	}
	if !slices.Equal(outcomes, []string{"sender_blocked"}) {
		t.Fatalf("while blocked observed %v, want [sender_blocked]", outcomes)
	}
}
