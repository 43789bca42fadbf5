package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// hangingProvider is a Cloud API that, while hang is set, takes each send
// and never answers it: the request stays open until the sender gives up
// on it, and nothing is delivered. Otherwise it is next, a normal fake.
type hangingProvider struct {
	hang     atomic.Bool
	inFlight atomic.Int64
	next     *e2eFakeMeta
	// done lets go of requests still held when the test ends.
	done chan struct{}
}

func (p *hangingProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.hang.Load() {
		p.next.ServeHTTP(w, r)
		return
	}
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	select {
	case <-r.Context().Done():
	case <-p.done:
	}
}

// The program is stopped while sends hang at the provider and more items
// are claimed behind them: when the shutdown timeout comes the sends are
// cut, nothing stays processing, no database error is logged, and after a
// restart with a provider that answers, every item is sent exactly once.
func TestShutdownMidSend(t *testing.T) {
	t.Parallel()
	const items = 12
	ctx := context.Background()
	dataDir := t.TempDir()
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{})
	phones := make([]string, items)
	news := make([]store.NewQueueItem, items)
	for i := range news {
		phones[i] = fmt.Sprintf("+9198%08d", 55500000+i)
		news[i] = store.NewQueueItem{Phone: phones[i], MaxAttempts: 5, CreatedBy: "test",
			Content: store.QueueContent{Kind: store.ContentText, Body: "Your order has shipped"}}
	}
	customerWrote(t, db, phones...)
	if _, err := db.EnqueueQueueItems(ctx, news); err != nil {
		t.Fatal(err)
	}

	provider := &hangingProvider{next: &e2eFakeMeta{phoneNumberID: e2ePNID}, done: make(chan struct{})}
	provider.hang.Store(true)
	srv := httptest.NewServer(provider)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(provider.done) }) // before srv.Close
	getenv := env(t, "MB_DATA_DIR", dataDir, "MB_GATEWAY", "meta",
		"MB_META_ACCESS_TOKEN", e2eTokenA, "MB_META_PHONE_NUMBER_ID", e2ePNID, "MB_META_BASE_URL", srv.URL,
		// 8 workers at 4 sends a second: a few sends hang at the provider
		// while the other claimed items wait for their pace.
		"MB_WORKERS", "8", "MB_META_RATE_PER_SECOND", "4",
		"MB_RETRY_BASE", "1s", "MB_LOCK_TIMEOUT", "1m", "MB_SHUTDOWN_TIMEOUT", "2s")

	stop, logs := serveUntilStarted(t, getenv)
	deadline := time.Now().Add(20 * time.Second)
	for provider.inFlight.Load() < 3 {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("no 3 sends in flight within 20s (%d)\nlogs:\n%s", provider.inFlight.Load(), faultLogExcerpt(logs.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	processing, err := db.RecentQueueItems(ctx, store.RecentFilter{Status: store.StatusProcessing, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	inFlight := provider.inFlight.Load()
	if int64(len(processing)) <= inFlight {
		t.Fatalf("%d items processing with %d in flight: want more claimed than sending", len(processing), inFlight)
	}
	t.Logf("stopping with %d sends in flight and %d items claimed", inFlight, len(processing))
	if code := stop(); code != 0 {
		t.Errorf("serve exited %d, want 0\nlogs:\n%s", code, faultLogExcerpt(logs.String()))
	}

	// Nothing is left processing, and the log has no database error.
	left, err := db.RecentQueueItems(ctx, store.RecentFilter{Status: store.StatusProcessing, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range left {
		t.Errorf("item %d (%s) left processing, locked by %s", it.ID, it.Phone, it.LockedBy)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "database is closed") ||
			strings.Contains(line, "outcomes not written") || strings.Contains(line, "remove heartbeat") {
			t.Errorf("logged at shutdown: %s", line)
		}
	}
	// The sends cut mid-request count as an attempt (the provider may
	// have them); the claims not yet sent were released with theirs
	// refunded.
	all, err := db.RecentQueueItems(ctx, store.RecentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	cut := 0
	for _, it := range all {
		switch {
		case strings.Contains(it.LastError, "cut off mid-send by shutdown"):
			cut++
			if it.Status != store.StatusQueued || it.Attempts != 1 {
				t.Errorf("item %d cut mid-send: %s with %d attempts, want queued with 1", it.ID, it.Status, it.Attempts)
			}
		case it.Attempts != 0 || it.Status != store.StatusQueued:
			t.Errorf("item %d not sent: %s with %d attempts (%q), want queued with none", it.ID, it.Status, it.Attempts, it.LastError)
		}
	}
	if int64(cut) < inFlight {
		t.Errorf("%d items recorded as cut mid-send, want at least the %d in flight", cut, inFlight)
	}
	if got := provider.next.count(); got != 0 {
		t.Fatalf("the hanging provider delivered %d messages", got)
	}

	// Restarted with a provider that answers: each item once.
	provider.hang.Store(false)
	stop, logs = serveUntilStarted(t, getenv)
	deadline = time.Now().Add(30 * time.Second)
	for {
		sent, err := db.RecentQueueItems(ctx, store.RecentFilter{Status: store.StatusSent, Limit: 2 * items})
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) == items {
			break
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("%d of %d items sent 30s after the restart\nlogs:\n%s", len(sent), items, faultLogExcerpt(logs.String()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Errorf("restarted serve exited %d, want 0", code)
	}
	var got []string
	for _, s := range provider.next.snapshot() {
		got = append(got, "+"+strings.TrimPrefix(s.to, "+"))
	}
	slices.Sort(got)
	if !slices.Equal(got, phones) {
		t.Errorf("the provider got %v, want each of %v once", got, phones)
	}
}
