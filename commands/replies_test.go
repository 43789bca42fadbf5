package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// newRepliesFixture is newFixture with meta active and its 24-hour
// window known to the operations layer.
func newRepliesFixture(t *testing.T) *fixture {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	f := &fixture{clock: clock}
	f.db = storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"meta", "dryrun"}))
	if err != nil {
		t.Fatal(err)
	}
	all := queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}
	f.ops = ops.New(f.db, settings.NewReader(reg, f.db, time.Nanosecond, nil), ops.Config{
		Gateways: []ops.Gateway{{Name: "meta", Caps: all, Window: 24 * time.Hour}, {Name: "dryrun", Caps: all}},
		Now:      clock.Now, Notify: func() { f.woken++ }}, nil)
	f.router = commands.New(f.ops, commands.Config{Now: clock.Now}, nil)
	for id, role := range map[string]string{"telegram:1": "staff", "telegram:2": "operator", "telegram:3": "admin"} {
		if _, err := f.db.PutOperator(context.Background(), id, role, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) customerWrites(t *testing.T, wamid, phone, name, kind, body string) {
	t.Helper()
	if err := f.ops.Inbound(context.Background(), store.InboundMessage{Gateway: "meta", ProviderMessageID: wamid, Phone: phone,
		ProfileName: name, Kind: kind, Body: body, ReceivedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
}

func TestReplyNoticeText(t *testing.T) {
	t.Parallel()
	m := ops.InboundMessage{Phone: "+919876543210", ProfileName: "Asha", Kind: store.InboundText, Body: "Is my order ready?"}
	if got, want := commands.ReplyNoticeText(ops.ForwardedReply{Message: m}),
		"Reply from +91 98765 43210 (Asha): Is my order ready?\nAnswer with /reply +919876543210 <text>"; got != want {
		t.Errorf("text:\n%s\nwant:\n%s", got, want)
	}
	img := ops.InboundMessage{Phone: "+919876543210", Kind: store.InboundImage, Body: "this one"}
	if got := commands.ReplyNoticeText(ops.ForwardedReply{Message: img}); !strings.HasPrefix(got, "Reply from +91 98765 43210: [image] this one\n") {
		t.Errorf("image: %q", got)
	}
	video := ops.InboundMessage{Phone: "+919876543210", Kind: store.InboundVideo}
	if got := commands.ReplyNoticeText(ops.ForwardedReply{Message: video}); !strings.HasPrefix(got, "Reply from +91 98765 43210: [video]\n") {
		t.Errorf("video: %q", got)
	}
	stop := commands.ReplyNoticeText(ops.ForwardedReply{Message: ops.InboundMessage{Phone: "+919876543210", Kind: store.InboundText, Body: "STOP"}, Intent: ops.IntentStop})
	if !strings.Contains(stop, ": STOP\n(A stop request: the number is opted out of campaigns") {
		t.Errorf("stop: %q", stop)
	}
	start := commands.ReplyNoticeText(ops.ForwardedReply{Message: ops.InboundMessage{Phone: "+919876543210", Kind: store.InboundText, Body: "START"}, Intent: ops.IntentStart})
	if !strings.Contains(start, "(START: the number gets campaigns again") {
		t.Errorf("start: %q", start)
	}
}

// TestRepliesReachStaff: the staff member who sent the customer a message
// gets their reply in chat, once; /inbox lists it; a STOP is forwarded
// marked as one.
func TestRepliesReachStaff(t *testing.T) {
	t.Parallel()
	f := newRepliesFixture(t)
	ctx := context.Background()
	// The staff message goes through a gateway without a window (on meta
	// it would need an intake template); the reply comes in on meta.
	if out := f.say(t, "telegram:3", "/gateway use dryrun"); !strings.Contains(out, "dryrun") {
		t.Fatalf("/gateway use dryrun: %q", out)
	}
	if out := f.say(t, "telegram:1", "/send! 98765 43210"); !strings.Contains(out, "Queued #") {
		t.Fatalf("/send!: %q", out)
	}
	f.clock.Advance(time.Hour)
	f.customerWrites(t, "wamid.1", "919876543210", "Asha <b>", store.InboundText, "Thanks! Is it ready?")
	f.customerWrites(t, "wamid.1", "919876543210", "Asha <b>", store.InboundText, "Thanks! Is it ready?")
	c := newChat()
	n := commands.NewNotices(f.ops, map[string]commands.Notifier{bot.Telegram: c}, commands.NoticeConfig{}, nil)
	if _, err := n.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := c.texts("1")
	if len(got) != 1 || got[0] != "Reply from +91 98765 43210 (Asha <b>): Thanks! Is it ready?\nAnswer with /reply +919876543210 <text>" {
		t.Fatalf("staff got %q", got)
	}
	if _, err := n.RunOnce(ctx); err != nil || c.total() != 1 {
		t.Fatalf("told again: %d, %v", c.total(), err)
	}
	f.clock.Advance(time.Minute)
	f.customerWrites(t, "wamid.2", "+919876543210", "Asha", store.InboundImage, "")
	f.clock.Advance(time.Minute)
	f.customerWrites(t, "wamid.3", "+919811111111", "", store.InboundText, "STOP")
	inbox := f.say(t, "telegram:1", "/inbox")
	want := "Latest 3 replies, newest first:\n" +
		"27 Nov 2026 15:32 IST · +91 98111 11111: STOP\n" +
		"27 Nov 2026 15:31 IST · +91 98765 43210 (Asha): [image]\n" +
		"27 Nov 2026 15:30 IST · +91 98765 43210 (Asha <b>): Thanks! Is it ready?\n" +
		"Answer with /reply <phone> <text>."
	if inbox != want {
		t.Errorf("/inbox:\n%s\nwant:\n%s", inbox, want)
	}
	if one := f.say(t, "telegram:1", "/inbox 1"); !strings.HasPrefix(one, "Latest 1 reply, newest first:\n") || strings.Count(one, "\n") != 2 {
		t.Errorf("/inbox 1: %q", one)
	}
	if bad := f.say(t, "telegram:1", "/inbox 80"); !strings.Contains(bad, "/inbox 50") {
		t.Errorf("/inbox 80: %q", bad)
	}
	if bad := f.say(t, "telegram:1", "/inbox many"); !strings.Contains(bad, "Usage: /inbox [n]") {
		t.Errorf("/inbox many: %q", bad)
	}
}

// TestReplyCommand: /reply inside the window queues the text as typed,
// line breaks kept; outside it is refused plainly with the template fix.
func TestReplyCommand(t *testing.T) {
	t.Parallel()
	f := newRepliesFixture(t)
	refused := f.say(t, "telegram:1", "/reply 98765 43210 Your order is ready")
	if refused != "+919876543210 has not written to us; WhatsApp only allows free text within 24 hours of their last message — send a template with /send +919876543210 <template>. Nothing was queued." {
		t.Fatalf("before any message: %q", refused)
	}
	f.customerWrites(t, "w1", "+919876543210", "Asha", store.InboundText, "hi")
	f.clock.Advance(2 * time.Hour)
	reply := f.say(t, "telegram:1", "/reply +91 98765 43210 Your order is ready.\nCome after 5.")
	items := f.items(t)
	if len(items) != 1 || items[0].Content.Body != "Your order is ready.\nCome after 5." || items[0].Phone != "+919876543210" || items[0].CreatedBy != "telegram:1" {
		t.Fatalf("items %+v", items)
	}
	if want := "Queued #1 for +919876543210 via meta."; reply != want {
		t.Errorf("reply %q, want %q", reply, want)
	}
	f.clock.Advance(2 * 24 * time.Hour)
	late := f.say(t, "telegram:1", "/reply 98765 43210 Anything else?")
	if !strings.HasPrefix(late, "+919876543210 last wrote 2 days ago; WhatsApp only allows free text within 24 hours of their last message — send a template with /send +919876543210 <template>") {
		t.Errorf("outside the window: %q", late)
	}
	if usage := f.say(t, "telegram:1", "/reply hello there"); !strings.HasPrefix(usage, "Usage: /reply <phone> <text>") {
		t.Errorf("no number: %q", usage)
	}
	if usage := f.say(t, "telegram:1", "/reply 98765 43210"); !strings.Contains(usage, "Usage: /reply <phone> <text>") {
		t.Errorf("no text: %q", usage)
	}
	if n := len(f.items(t)); n != 1 {
		t.Errorf("refused replies queued: %d items", n)
	}
}

// TestStopReplyShowsAsCustomerReply: a number that replied STOP gets no
// campaign message, and the results file and /optout name the customer's
// reply as the source, with its time.
func TestStopReplyShowsAsCustomerReply(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // dryrun active; clock 27 Nov 2026 09:00 UTC
	ctx := context.Background()
	f.say(t, "telegram:2", "/campaign new Offers")
	f.sayWith(t, "telegram:2", "/import 1", "list.txt", []byte("98111 11111\n98222 22222\n"))
	if _, err := f.db.CreateSavedMessage(ctx, "offer", "text", "20% off", 0, "t"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "telegram:2", "/campaign set 1 message=offer interval=5s")
	f.customerWrites(t, "w1", "919822222222", "Ravi", store.InboundText, "Stop")
	if reply := f.say(t, "telegram:2", "/campaign start 1"); reply != "Campaign #1 is running." {
		t.Fatalf("start: %q", reply)
	}
	d := campaign.NewDispatcher(f.db, campaign.DispatcherConfig{Tick: time.Minute, Now: f.clock.Now}, nil)
	if _, err := d.Once(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	for _, it := range f.sendAll(t) {
		if it.Phone == "+919822222222" && it.CampaignID != 0 {
			t.Fatalf("a campaign message went to the number that replied STOP: %+v", it)
		}
	}
	if got := strings.Join(resultColumn(t, f, 1, "C"), ","); got != "sent,opted out" {
		t.Errorf("statuses %q", got)
	}
	lastErr := resultColumn(t, f, 1, "E")
	if len(lastErr) != 2 || !strings.HasSuffix(lastErr[1], "(customer reply, 2026-11-27 14:30:00)") {
		t.Errorf("last error column %q, want the source and time of the opt-out", lastErr)
	}
	if got := f.say(t, "telegram:2", "/optout 98222 22222"); got != "+919822222222 opted out already: the customer replied asking to stop (customer reply, 27 Nov 2026 14:30 IST). It gets no campaign messages; imports skip it." {
		t.Errorf("/optout: %q", got)
	}
}
