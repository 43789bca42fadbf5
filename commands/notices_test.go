package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// chat is a fake chat transport: it records what it was asked to send, and
// fails while fail is set.
type chat struct {
	mu    sync.Mutex
	ready bool
	fail  error
	sent  map[string][]string // id → texts
}

func newChat() *chat { return &chat{ready: true, sent: map[string][]string{}} }

func (c *chat) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

func (c *chat) Notify(_ context.Context, id, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.sent[id] = append(c.sent[id], text)
	return nil
}

func (c *chat) texts(id string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent[id]...)
}

func (c *chat) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ts := range c.sent {
		n += len(ts)
	}
	return n
}

// failItems fails every due item as a gateway answering err would.
func failItems(t *testing.T, db *store.DB, class, errText string) {
	t.Helper()
	ctx := context.Background()
	items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 100, Owner: "t", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	var outs []store.Outcome
	for _, it := range items {
		outs = append(outs, store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusFailed, Gateway: "meta",
			Error: errText, ErrorClass: class, Event: "failed"})
	}
	if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
		t.Fatal(err)
	}
}

// TestFailureNoticesAreToldOnce: a failed staff message is told to the
// person who queued it, once, with two processes claiming at the same
// time; campaign items and items of other chats are not told here.
func TestFailureNoticesAreToldOnce(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			f := newFixtureOn(t, d)
			ctx := context.Background()
			if _, err := f.db.PutOperator(ctx, "whatsapp:+919800000001", "staff", "", "test"); err != nil {
				t.Fatal(err)
			}
			f.say(t, "telegram:1", "98765 43210")
			f.say(t, "telegram:2", "91234 56789")
			f.say(t, "whatsapp:+919800000001", "99887 76655")
			camp, err := f.db.CreateCampaign(ctx, "Sale", "telegram:1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919811111111", MaxAttempts: 3, CampaignID: camp.ID,
				CreatedBy: "telegram:1", Content: store.QueueContent{Kind: store.ContentText, Body: "x"}}}); err != nil {
				t.Fatal(err)
			}
			failItems(t, f.db, "permanent", "permanent (code 131026): meta send: Message undeliverable (code 131026, HTTP 400)")

			tg, wa := newChat(), newChat()
			wa.ready = false // the WhatsApp session is not connected here
			a := commands.NewNotices(f.ops, map[string]commands.Notifier{"telegram": tg, "whatsapp": wa}, commands.NoticeConfig{}, nil)
			b := commands.NewNotices(f.ops, map[string]commands.Notifier{"telegram": tg, "whatsapp": wa}, commands.NoticeConfig{}, nil)
			var wg sync.WaitGroup
			for _, n := range []*commands.Notices{a, b, a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := n.RunOnce(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			for range 3 {
				if _, err := a.RunOnce(ctx); err != nil {
					t.Fatal(err)
				}
			}
			staff, op := tg.texts("1"), tg.texts("2")
			if len(staff) != 1 || len(op) != 1 || tg.total() != 2 {
				t.Fatalf("told staff %d times, operator %d, in all %d; want once each: %q %q", len(staff), len(op), tg.total(), staff, op)
			}
			items := f.items(t)
			idOf := map[string]int64{}
			for _, it := range items {
				idOf[it.Phone] = it.ID
			}
			id := idOf["+919876543210"]
			for _, want := range []string{fmt.Sprintf("#%d", id), "+919876543210", "could not be sent", "cannot receive WhatsApp messages",
				"ask an operator", fmt.Sprintf("/edit %d <phone>", id), fmt.Sprintf("/retry %d", id)} {
				if !strings.Contains(staff[0], want) {
					t.Errorf("staff notice lacks %q:\n%s", want, staff[0])
				}
			}
			for _, not := range []string{"131026", "undeliverable", "HTTP"} {
				if strings.Contains(staff[0], not) {
					t.Errorf("staff notice shows %q:\n%s", not, staff[0])
				}
			}
			opID := idOf["+919123456789"]
			for _, want := range []string{fmt.Sprintf("#%d", opID), "meta code 131026", fmt.Sprintf("correct it with /edit %d <phone>, then send it again with /retry %d", opID, opID)} {
				if !strings.Contains(op[0], want) {
					t.Errorf("operator notice lacks %q:\n%s", want, op[0])
				}
			}
			// The WhatsApp staff member is told once the session is up here.
			wa.mu.Lock()
			wa.ready = true
			wa.mu.Unlock()
			if _, err := b.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := wa.texts("+919800000001"); len(got) != 1 || !strings.Contains(got[0], fmt.Sprintf("#%d", idOf["+919988776655"])) {
				t.Fatalf("whatsapp notice: %q", got)
			}
			if tg.total() != 2 {
				t.Fatalf("telegram told %d notices in all, want 2 (the campaign item is not told)", tg.total())
			}
		})
	}
}

// TestFailureNoticesRetryAndGiveUp: a chat that refuses a notice gets it
// again later; one retried or fixed meanwhile is not told at all.
func TestFailureNoticesRetryAndGiveUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.say(t, "telegram:1", "98765 43210")
	f.say(t, "telegram:1", "91234 56789")
	failItems(t, f.db, "retry", "gave up after 5 attempts: retry (code 503): meta send: HTTP 503 without a Graph error body")
	tg := newChat()
	tg.fail = errors.New("telegram sendMessage: Forbidden: bot was blocked by the user")
	n := commands.NewNotices(f.ops, map[string]commands.Notifier{"telegram": tg}, commands.NoticeConfig{}, nil)
	if got, err := n.RunOnce(ctx); err != nil || got != 2 {
		t.Fatalf("first round: %d, %v", got, err)
	}
	if got, _ := n.RunOnce(ctx); got != 0 {
		t.Fatalf("retried at once: %d", got)
	}
	// One of them is retried by an operator meanwhile: not told any more.
	retried := f.items(t)[0].ID
	if reply := f.say(t, "telegram:2", fmt.Sprintf("/retry %d", retried)); !strings.Contains(reply, "queued again") {
		t.Fatal(reply)
	}
	f.clock.Advance(31 * time.Second)
	tg.mu.Lock()
	tg.fail = nil
	tg.mu.Unlock()
	if _, err := n.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := tg.texts("1")
	if len(got) != 1 || strings.Contains(got[0], fmt.Sprintf("#%d ", retried)) {
		t.Fatalf("told %q; want only the message not retried", got)
	}
	for _, want := range []string{"could not be reached or did not answer, 5 times in a row", "ask an operator to send it again"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("notice lacks %q:\n%s", want, got[0])
		}
	}
	// A chat that keeps refusing: given up after five tries. (The message
	// retried above fails again too: two notices.)
	f.say(t, "telegram:1", "99887 76655")
	failItems(t, f.db, "permanent", "permanent (code 131026): undeliverable")
	tg.mu.Lock()
	tg.fail = errors.New("telegram: HTTP 502")
	tg.mu.Unlock()
	tries := 0
	for range 10 {
		c, err := n.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tries += c
		f.clock.Advance(time.Hour)
	}
	if tries != 10 {
		t.Fatalf("tried %d times, want 5 for each of 2 notices", tries)
	}
	ns, err := f.db.StaffNotices(ctx, retried)
	if err != nil || len(ns) != 2 || ns[1].State != store.NoticeDropped || !strings.Contains(ns[1].Detail, "kept refusing") {
		t.Fatalf("notices of #%d: %+v, %v", retried, ns, err)
	}
}

// TestMine: /mine shows the sender's own recent messages in plain words,
// with the fix for failed ones, and nobody else's.
func TestMine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if reply := f.say(t, "telegram:1", "/mine"); !strings.Contains(reply, "You have not queued any messages yet") {
		t.Fatalf("/mine with nothing: %q", reply)
	}
	f.say(t, "telegram:1", "98765 43210")
	failItems(t, f.db, "permanent", "permanent (code 131047): meta send: Re-engagement message (code 131047, HTTP 400)")
	f.say(t, "telegram:1", "91234 56789")
	f.say(t, "telegram:2", "99887 76655")
	f.clock.Advance(5 * time.Minute)
	reply := f.say(t, "telegram:1", "/mine")
	for _, want := range []string{"Your last 2 messages:", "+919123456789 · waiting to be sent · queued 5m ago", "+919876543210 · not sent · queued 5m ago",
		"has not written in the last 24 hours", "ask an operator"} {
		if !strings.Contains(reply, want) {
			t.Errorf("/mine lacks %q:\n%s", want, reply)
		}
	}
	for _, not := range []string{"+919988776655", "131047", "Re-engagement"} {
		if strings.Contains(reply, not) {
			t.Errorf("/mine for staff shows %q:\n%s", not, reply)
		}
	}
	if lines := strings.Split(reply, "\n"); !strings.Contains(lines[1], "+919123456789") {
		t.Errorf("/mine is not newest first:\n%s", reply)
	}
	if reply := f.say(t, "telegram:2", "/mine"); !strings.Contains(reply, "Your last 1 message:") || strings.Contains(reply, "+919876543210") {
		t.Errorf("/mine for the operator: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "/mine all"); !strings.Contains(reply, "Usage: /mine") {
		t.Errorf("/mine with words: %q", reply)
	}
	if help := f.say(t, "telegram:1", "/help"); !strings.Contains(help, "/mine") {
		t.Errorf("staff help lacks /mine:\n%s", help)
	}
}

// TestStatusWordsAPausedGateway: staff read what a pause means; operators
// also read the code; a gateway switched away from is no longer warned
// about.
func TestStatusWordsAPausedGateway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if reply := f.say(t, "telegram:3", "/gateway use meta"); !strings.Contains(reply, "via meta") {
		t.Fatal(reply)
	}
	if err := f.db.BlockGateway(ctx, "meta", "sender_blocked (code 190): meta send: Error validating access token: Session has expired on Friday (code 190, subcode 463, HTTP 401)"); err != nil {
		t.Fatal(err)
	}
	staff := f.say(t, "telegram:1", "/status")
	if !strings.Contains(staff, "Sending via meta is paused: The WhatsApp account's login has expired; an admin must renew it.") {
		t.Errorf("staff /status:\n%s", staff)
	}
	for _, not := range []string{"Error validating", "sender_blocked", "code 190"} {
		if strings.Contains(staff, not) {
			t.Errorf("staff /status shows %q:\n%s", not, staff)
		}
	}
	if op := f.say(t, "telegram:2", "/status"); !strings.Contains(op, "(sender_blocked, meta code 190)") || strings.Contains(op, "Error validating") {
		t.Errorf("operator /status:\n%s", op)
	}
	f.say(t, "telegram:3", "/gateway use dryrun")
	if err := f.db.BlockGateway(ctx, "meta", "sender_blocked (code 190): token expired"); err != nil { // paused again by a send in flight
		t.Fatal(err)
	}
	if staff := f.say(t, "telegram:1", "/status"); strings.Contains(staff, "paused") {
		t.Errorf("/status after switching away still warns:\n%s", staff)
	}
	if op := f.say(t, "telegram:2", "/gateway"); strings.Contains(op, "paused") {
		t.Errorf("/gateway after switching away still warns:\n%s", op)
	}
}
