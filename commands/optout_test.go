package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
)

// TestOptedOutCountsInReplies: a number opted out before the start and one
// opted out once its message was queued get nothing, and /campaign stats,
// /campaign and the results file count them as opted out, never as sent,
// failed or cancelled.
func TestOptedOutCountsInReplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.say(t, "telegram:2", "/campaign new Stop")
	f.sayWith(t, "telegram:2", "/import 1", "list.txt", []byte("98111 11111\n98222 22222\n98333 33333\n"))
	if _, err := f.db.CreateSavedMessage(ctx, "stop", "text", "Hello", 0, "t"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "telegram:2", "/campaign set 1 message=stop interval=5s")
	f.say(t, "telegram:2", "/optout 98222 22222 asked in store")
	if reply := f.say(t, "telegram:2", "/campaign start 1"); reply != "Campaign #1 is running." {
		t.Fatalf("start: %q", reply)
	}
	// A tick of a minute queues every slot at once.
	d := campaign.NewDispatcher(f.db, campaign.DispatcherConfig{Tick: time.Minute, Now: f.clock.Now}, nil)
	if n, err := d.Once(ctx); err != nil || n != 2 {
		t.Fatalf("dispatch: %d, %v; want 2 queued", n, err)
	}
	f.say(t, "telegram:2", "/optout 98333 33333 replied STOP")
	f.clock.Advance(time.Minute)
	sent := f.sendAll(t)
	if len(sent) != 1 || sent[0].Phone != "+919811111111" {
		t.Fatalf("sent %+v, want only +919811111111", sent)
	}
	if _, err := d.Once(ctx); err != nil {
		t.Fatal(err)
	}
	stats := f.say(t, "telegram:2", "/campaign stats 1")
	if !strings.Contains(stats, "completed, 100% done") || !strings.Contains(stats, "Contacts 3 · Pending 0") ||
		!strings.Contains(stats, "Queued 0 · Sending 0 · Sent 1 (delivered 0 · read 0) · Failed 0 · Cancelled 0 · Opted out 2") {
		t.Errorf("stats: %q", stats)
	}
	if show := f.say(t, "telegram:2", "/campaign 1"); !strings.Contains(show, "Contacts: 3 · Pending 0 · Sent 1 · Failed 0 · Cancelled 0 · Opted out 2") {
		t.Errorf("show: %q", show)
	}
	if q := f.say(t, "telegram:2", "/queue all"); !strings.Contains(q, "All time: 3 messages\nQueued 0 · Sending 0 · Sent 1 (delivered 0 · read 0) · Failed 0 · Cancelled 0 · Opted out 2") {
		t.Errorf("/queue all: %q", q)
	}
	if s := f.say(t, "telegram:2", "/status"); !strings.Contains(s, "Cancelled 0 · Opted out 2") {
		t.Errorf("/status: %q", s)
	}
	if got := strings.Join(resultColumn(t, f, 1, "C"), ","); got != "sent,opted out,opted out" {
		t.Errorf("results statuses %q, want sent,opted out,opted out", got)
	}
	if items := f.items(t); len(items) != 3 {
		t.Errorf("%d items", len(items))
	} else {
		for _, it := range items {
			if it.Phone != "+919811111111" && (it.Status != store.StatusCancelled || it.LastErrorClass != store.OutcomeOptedOut) {
				t.Errorf("item to %s: %s (%s)", it.Phone, it.Status, it.LastErrorClass)
			}
		}
	}
}
