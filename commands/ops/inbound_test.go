package ops_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// inboundEnv is the operations over a fresh SQLite database on an
// injected clock, with meta (a 24-hour window) and dryrun (none).
type inboundEnv struct {
	db    *store.DB
	svc   *ops.Service
	clock *storetest.Clock
	woken int
}

func newInboundEnv(t *testing.T) *inboundEnv {
	t.Helper()
	e := &inboundEnv{clock: storetest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))}
	e.db = storetest.OpenSQLite(t, storetest.Options{Now: e.clock.Now})
	gws := []ops.Gateway{{Name: "meta", Caps: allCaps, Window: 24 * time.Hour}, {Name: "dryrun", Caps: allCaps}}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"meta", "dryrun"}))
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, e.db, time.Nanosecond, nil)
	e.svc = ops.New(e.db, r, ops.Config{Gateways: gws, Now: e.clock.Now, Notify: func() { e.woken++ }}, nil)
	for id, role := range map[string]string{staff.Identity: ops.RoleStaff, operator.Identity: ops.RoleOperator} {
		if _, err := e.db.PutOperator(context.Background(), id, role, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// inbound delivers a text message from phone as a gateway would.
func (e *inboundEnv) inbound(t *testing.T, wamid, phone, body string) {
	t.Helper()
	if err := e.svc.Inbound(context.Background(), store.InboundMessage{Gateway: "meta", ProviderMessageID: wamid, Phone: phone,
		ProfileName: "Asha", Kind: store.InboundText, Body: body, ReceivedAt: e.clock.Now()}); err != nil {
		t.Fatalf("inbound %s: %v", wamid, err)
	}
}

func (e *inboundEnv) set(t *testing.T, key, value string) {
	t.Helper()
	if _, err := e.svc.SetSetting(context.Background(), admin, key, value, false); err != nil {
		t.Fatalf("set %s: %v", key, err)
	}
}

func (e *inboundEnv) items(t *testing.T) []store.QueueItem {
	t.Helper()
	items, err := e.db.RecentQueueItems(context.Background(), store.RecentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// notices returns the recipients of the forwards of the latest inbound
// message.
func (e *inboundEnv) forwards(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	list, err := e.db.InboundMessages(ctx, "", 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("inbound messages: %v, %v", list, err)
	}
	ns, err := e.db.InboundNotices(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, n.Recipient)
	}
	return out
}

func TestMatchReply(t *testing.T) {
	t.Parallel()
	keywords := []string{"STOP", "UNSUBSCRIBE", "STOP PROMOTIONS", "बंद करो", "रोको"}
	for _, tc := range []struct {
		body string
		want ops.ReplyIntent
	}{
		{"STOP", ops.IntentStop},
		{"stop", ops.IntentStop},
		{"  Stop  ", ops.IntentStop},
		{"Stop!", ops.IntentStop},
		{"  stop  promotions ", ops.IntentStop},
		{"stop\u00a0promotions", ops.IntentStop},
		{"STOP\u200b", ops.IntentStop},
		{"ＳＴＯＰ", ops.IntentStop}, // full-width letters
		{"unsubscribe", ops.IntentStop},
		{"बंद करो", ops.IntentStop},
		{"  बंद   करो ", ops.IntentStop},
		{"रोको।", ops.IntentStop},
		{"start", ops.IntentStart},
		{" START ", ops.IntentStart},
		{"stop by tomorrow", ops.IntentNone},
		{"please stop", ops.IntentNone},
		{"stopp", ops.IntentNone},
		{"बंद", ops.IntentNone},
		{"start my order", ops.IntentNone},
		{"", ops.IntentNone},
		{"!!!", ops.IntentNone},
	} {
		if got := ops.MatchReply(tc.body, keywords); got != tc.want {
			t.Errorf("MatchReply(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

// TestInboundStoresOnceAndReleasesHeld: a message delivered twice is
// stored and forwarded once; the first delivery releases the items held
// for the customer's closed window; a number that is not one is dropped
// quietly.
func TestInboundStoresOnceAndReleasesHeld(t *testing.T) {
	t.Parallel()
	e := newInboundEnv(t)
	ctx := context.Background()
	// A staff send held for the closed window, due a day from now.
	ids, err := e.db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543210", Content: store.QueueContent{Kind: store.ContentText, Body: "Ready"},
		MaxAttempts: 3, CreatedBy: staff.Identity}})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := e.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "t", Token: "tok"})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if _, err := e.db.CompleteQueueItems(ctx, []store.Outcome{{ID: ids[0], Token: "tok", Status: store.StatusQueued, Gateway: "meta",
		NextAttemptAt: e.clock.Now().Add(24 * time.Hour), RefundAttempt: true, ErrorClass: store.OutcomeWindowClosed, Error: "held: window closed"}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.inbound(t, "wamid.A", "919876543210", "Is it ready?")
	e.inbound(t, "wamid.A", "919876543210", "Is it ready?")
	list, err := e.db.InboundMessages(ctx, "", 10)
	if err != nil || len(list) != 1 || list[0].Phone != "+919876543210" {
		t.Fatalf("stored %+v, %v; want one message from +919876543210", list, err)
	}
	it, err := e.db.QueueItem(ctx, ids[0])
	if err != nil || it.Status != store.StatusQueued || it.NextAttemptAt.After(e.clock.Now()) {
		t.Fatalf("held item %+v, %v; want it due now", it, err)
	}
	if e.woken == 0 {
		t.Error("the delivery loop was not woken for the released item")
	}
	if got := e.forwards(t); len(got) != 1 || got[0] != staff.Identity {
		t.Fatalf("forwards %v, want one to %s (who queued the last message)", got, staff.Identity)
	}
	// Garbage is dropped without an error (the provider must not retry).
	if err := e.svc.Inbound(ctx, store.InboundMessage{Gateway: "meta", ProviderMessageID: "wamid.B", Phone: "status@broadcast", Kind: store.InboundText}); err != nil {
		t.Fatalf("garbage number: %v", err)
	}
	if list, _ := e.db.InboundMessages(ctx, "", 10); len(list) != 1 {
		t.Fatalf("garbage was stored: %+v", list)
	}
}

// TestStopMeansStop: a stop keyword opts the number out with the source
// "customer reply" and queues the confirmation through the gateway it came
// in on; START undoes it and confirms; START with no opt-out changes and
// sends nothing; a sentence with "stop" in it is only forwarded.
func TestStopMeansStop(t *testing.T) {
	t.Parallel()
	e := newInboundEnv(t)
	ctx := context.Background()
	const phone = "+919876543210"
	e.set(t, ops.SettingActiveGateway, "dryrun")
	e.inbound(t, "w1", phone, "stop by tomorrow")
	if _, err := e.db.OptOutOf(ctx, phone); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a sentence opted the number out: %v", err)
	}
	e.inbound(t, "w2", phone, "  stop  promotions ")
	o, err := e.db.OptOutOf(ctx, phone)
	if err != nil || o.Source != store.OptOutSourceReply || !o.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("opt-out %+v, %v; want source %q at the message's time", o, err, store.OptOutSourceReply)
	}
	items := e.items(t)
	if len(items) != 1 {
		t.Fatalf("queued %d items, want the confirmation", len(items))
	}
	c := items[0]
	if c.Phone != phone || c.Gateway != "meta" || c.Priority != store.PriorityIntake || c.Content.Kind != store.ContentText ||
		c.Content.Body != "You will get no more promotional messages from us. Reply START to get them again." {
		t.Fatalf("confirmation %+v", c)
	}
	e.set(t, ops.SettingOptOutConfirmation, "Done, no more offers.")
	e.inbound(t, "w3", phone, "STOP") // again: still opted out, told again
	if items := e.items(t); len(items) != 2 || items[0].Content.Body != "Done, no more offers." {
		t.Fatalf("second confirmation: %+v", items)
	}
	e.inbound(t, "w4", phone, " start ")
	if _, err := e.db.OptOutOf(ctx, phone); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("START left the opt-out: %v", err)
	}
	if items := e.items(t); len(items) != 3 || items[0].Content.Body != "You will get our messages again. Reply STOP to stop them." {
		t.Fatalf("START confirmation: %+v", items)
	}
	e.inbound(t, "w5", phone, "START")
	if items := e.items(t); len(items) != 3 {
		t.Fatalf("START without an opt-out queued something: %+v", items[0])
	}
	// Hindi works too.
	e.inbound(t, "w6", "+919811111111", "बंद करो")
	if o, err := e.db.OptOutOf(ctx, "+919811111111"); err != nil || o.Source != "customer reply" {
		t.Fatalf("Hindi stop: %+v, %v", o, err)
	}
}

// TestForwardRecipients: the last person who queued a message to the
// number within inbound.forward_days gets the reply; otherwise the chats
// of inbound.forward_to; a bad forward_to is refused with the fix.
func TestForwardRecipients(t *testing.T) {
	t.Parallel()
	e := newInboundEnv(t)
	ctx := context.Background()
	const phone = "+919876543210"
	e.inbound(t, "w1", phone, "hello")
	if got := e.forwards(t); len(got) != 0 {
		t.Fatalf("forwarded to %v with nobody to forward to", got)
	}
	_, err := e.svc.SetSetting(ctx, admin, ops.SettingForwardTo, "telegram:abc", false)
	wantCode(t, err, ops.EINVALID, "telegram:<numeric id>")
	_, err = e.svc.SetSetting(ctx, admin, ops.SettingForwardTo, "whatsapp:98765 43210", false)
	wantCode(t, err, ops.EINVALID, "+country code")
	e.set(t, ops.SettingForwardTo, "telegram:-1001234, whatsapp:+919811111111")
	e.inbound(t, "w2", phone, "hello?")
	if got := e.forwards(t); len(got) != 2 || got[0] != "telegram:-1001234" || got[1] != "whatsapp:+919811111111" {
		t.Fatalf("forwards %v, want the forward_to chats", got)
	}
	if _, err := e.svc.Intake(ctx, operator, ops.IntakeRequest{Phones: []string{"98765 43210"}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * 24 * time.Hour)
	e.inbound(t, "w3", phone, "thanks")
	if got := e.forwards(t); len(got) != 1 || got[0] != operator.Identity {
		t.Fatalf("forwards %v, want the operator who sent 6 days ago", got)
	}
	e.clock.Advance(2 * 24 * time.Hour)
	e.inbound(t, "w4", phone, "one more thing")
	if got := e.forwards(t); len(got) != 2 {
		t.Fatalf("forwards %v after 8 days, want the forward_to chats", got)
	}
	e.set(t, ops.SettingForwardDays, "10")
	e.inbound(t, "w5", phone, "and another")
	if got := e.forwards(t); len(got) != 1 || got[0] != operator.Identity {
		t.Fatalf("forwards %v with forward_days 10", got)
	}
}

// TestReplyNotice: a forward is claimed as a notice carrying the
// customer's message and whether it was a stop request.
func TestReplyNotice(t *testing.T) {
	t.Parallel()
	e := newInboundEnv(t)
	ctx := context.Background()
	e.set(t, ops.SettingForwardTo, "telegram:555")
	e.inbound(t, "w1", "+919876543210", "STOP")
	ns, err := e.svc.ClaimFailureNotices(ctx, []string{"telegram"}, 10, "tok")
	if err != nil || len(ns) != 1 {
		t.Fatalf("claimed %+v, %v", ns, err)
	}
	n := ns[0]
	if n.Reply == nil || n.Reply.Message.Body != "STOP" || n.Reply.Message.ProfileName != "Asha" || n.Reply.Intent != ops.IntentStop ||
		n.Recipient != "telegram:555" || n.ChatID() != "555" {
		t.Fatalf("notice %+v (reply %+v)", n, n.Reply)
	}
	e.svc.FinishFailureNotice(ctx, n, nil)
	if again, err := e.svc.ClaimFailureNotices(ctx, []string{"telegram"}, 10, "tok2"); err != nil || len(again) != 0 {
		t.Fatalf("told twice: %+v, %v", again, err)
	}
}

// TestReplyWindow: on a gateway with a window, /reply is refused before
// the customer wrote and once the window has passed, and queues a staff
// message inside it; on a gateway without one it just queues.
func TestReplyWindow(t *testing.T) {
	t.Parallel()
	e := newInboundEnv(t)
	ctx := context.Background()
	_, err := e.svc.Reply(ctx, staff, "98765 43210", "Your order is ready")
	wantCode(t, err, ops.ECONFLICT, "+919876543210 has not written to us", "within 24 hours", "/send +919876543210 <template>")
	e.inbound(t, "w1", "+919876543210", "hi")
	e.clock.Advance(2*24*time.Hour + time.Hour)
	_, err = e.svc.Reply(ctx, staff, "98765 43210", "Your order is ready")
	wantCode(t, err, ops.ECONFLICT, "+919876543210 last wrote 2 days ago; WhatsApp only allows free text within 24 hours of their last message")
	if n := len(e.items(t)); n != 0 {
		t.Fatalf("a refused reply queued %d items", n)
	}
	e.inbound(t, "w2", "+919876543210", "hello again")
	e.clock.Advance(23 * time.Hour)
	res, err := e.svc.Reply(ctx, staff, "98765 43210", "Your order is ready")
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.db.QueueItem(ctx, res.ID)
	if err != nil || it.Phone != "+919876543210" || it.Content.Body != "Your order is ready" || it.Priority != store.PriorityIntake || it.CreatedBy != staff.Identity {
		t.Fatalf("reply item %+v, %v", it, err)
	}
	// At exactly 24 hours the window is closed.
	e.clock.Advance(time.Hour)
	_, err = e.svc.Reply(ctx, staff, "98765 43210", "And another thing")
	wantCode(t, err, ops.ECONFLICT, "last wrote 24 hours ago")
	e.set(t, ops.SettingActiveGateway, "dryrun")
	if _, err := e.svc.Reply(ctx, staff, "98765 43210", "And another thing"); err != nil {
		t.Fatalf("dryrun has no window: %v", err)
	}
	_, err = e.svc.Reply(ctx, staff, "98765 43210", "  ")
	wantCode(t, err, ops.EINVALID, "Usage: /reply <phone> <text>")
}

// TestInboxLimits: /inbox lists newest first, refuses more than 50 with
// the fix, and needs a role.
func TestInboxLimits(t *testing.T) {
	t.Parallel()
	e := newInboundEnv(t)
	ctx := context.Background()
	e.inbound(t, "w1", "+919876543210", "first")
	e.clock.Advance(time.Minute)
	e.inbound(t, "w2", "+919811111111", "second")
	list, err := e.svc.Inbox(ctx, staff, 0)
	if err != nil || len(list) != 2 || list[0].Body != "second" {
		t.Fatalf("inbox %+v, %v", list, err)
	}
	_, err = e.svc.Inbox(ctx, staff, 51)
	wantCode(t, err, ops.EINVALID, "/inbox 50")
	_, err = e.svc.Inbox(ctx, ops.Actor{Identity: "telegram:9"}, 10)
	wantCode(t, err, ops.EFORBIDDEN)
}

// TestKeywordSetting: optout.keywords needs a keyword, and START cannot
// be one; a changed list applies to the next reply.
func TestKeywordSetting(t *testing.T) {
	t.Parallel()
	e := newInboundEnv(t)
	ctx := context.Background()
	_, err := e.svc.SetSetting(ctx, operator, ops.SettingOptOutKeywords, " , ", false)
	wantCode(t, err, ops.EINVALID, "at least one keyword")
	_, err = e.svc.SetSetting(ctx, operator, ops.SettingOptOutKeywords, "STOP, start", false)
	wantCode(t, err, ops.EINVALID, "START undoes an opt-out")
	if _, err := e.svc.SetSetting(ctx, operator, ops.SettingOptOutKeywords, "NO MORE, STOP", false); err != nil {
		t.Fatal(err)
	}
	e.inbound(t, "w1", "+919876543210", "no  more")
	if o, err := e.db.OptOutOf(ctx, "+919876543210"); err != nil || o.Source != store.OptOutSourceReply {
		t.Fatalf("opt-out %+v, %v", o, err)
	}
	e.inbound(t, "w2", "+919811111111", "unsubscribe") // no longer a keyword
	if _, err := e.db.OptOutOf(ctx, "+919811111111"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a removed keyword still opts out: %v", err)
	}
}
