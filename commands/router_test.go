package commands_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

type fixture struct {
	db     *store.DB
	ops    *ops.Service
	router *commands.Router
	clock  *storetest.Clock
	woken  int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, store.SQLite)
}

// newFixtureOn is newFixture over a fresh database of dialect d (a MySQL
// one is skipped unless MB_TEST_MYSQL_DSN is set).
func newFixtureOn(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	f := &fixture{clock: clock}
	f.db = storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
	f.ops = newOps(t, f.db, []string{"dryrun", "meta"}, clock.Now, func() { f.woken++ })
	f.router = commands.New(f.ops, commands.Config{Now: clock.Now}, nil)
	ctx := context.Background()
	for id, role := range map[string]string{"telegram:1": "staff", "telegram:2": "operator", "telegram:3": "admin"} {
		if _, err := f.db.PutOperator(ctx, id, role, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// say sends text as the identity and returns the replies joined.
func (f *fixture) say(t *testing.T, identity, text string) string {
	t.Helper()
	transport, id, _ := strings.Cut(identity, ":")
	replies := f.router.Handle(context.Background(), bot.Message{
		Transport: transport, ChatID: id, From: bot.Identity{Transport: transport, ID: id}, Text: text,
	})
	var parts []string
	for _, r := range replies {
		parts = append(parts, r.Text)
	}
	return strings.Join(parts, "\n")
}

func (f *fixture) items(t *testing.T) []store.QueueItem {
	t.Helper()
	items, err := f.db.RecentQueueItems(context.Background(), store.RecentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func (f *fixture) lastAudit(t *testing.T) store.AuditEntry {
	t.Helper()
	log, err := f.db.AuditLog(context.Background(), 1)
	if err != nil || len(log) != 1 {
		t.Fatalf("audit log: %v, %v", log, err)
	}
	return log[0]
}

func TestIntake(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	reply := f.say(t, "telegram:1", "98765 43210")
	items := f.items(t)
	if len(items) != 1 || items[0].Phone != "+919876543210" || items[0].Priority != store.PriorityIntake || items[0].CreatedBy != "telegram:1" {
		t.Fatalf("items after intake: %+v", items)
	}
	want := fmt.Sprintf("Queued #%d for +919876543210 via dryrun.", items[0].ID)
	if reply != want {
		t.Fatalf("reply %q, want %q", reply, want)
	}
	if f.woken != 1 {
		t.Errorf("delivery loop woken %d times, want 1", f.woken)
	}

	// The same number again, in another format, within the window.
	reply = f.say(t, "telegram:2", "+91-98765-43210")
	if !strings.Contains(reply, fmt.Sprintf("already queued as #%d", items[0].ID)) || len(f.items(t)) != 1 {
		t.Fatalf("duplicate: reply %q, %d items", reply, len(f.items(t)))
	}
	reply = f.say(t, "telegram:1", "/send! 098765 43210")
	if !strings.Contains(reply, "Queued #") || len(f.items(t)) != 2 {
		t.Fatalf("forced: reply %q, %d items", reply, len(f.items(t)))
	}
	// After the window the number is queued again without force.
	f.clock.Advance(11 * time.Minute)
	if reply = f.say(t, "telegram:1", "9876543210"); !strings.Contains(reply, "Queued #") || len(f.items(t)) != 3 {
		t.Fatalf("after the window: reply %q, %d items", reply, len(f.items(t)))
	}

	// A campaign message to a number does not make the staff's
	// notification to it a duplicate: the order-ready message still goes.
	c, err := f.db.CreateCampaign(context.Background(), "Diwali offer", "telegram:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.EnqueueQueueItems(context.Background(), []store.NewQueueItem{{Phone: "+919876500001", CampaignID: c.ID, MaxAttempts: 3,
		Content: store.QueueContent{Kind: store.ContentText, Body: "20% off"}, Priority: store.PriorityCampaign}}); err != nil {
		t.Fatal(err)
	}
	if reply = f.say(t, "telegram:1", "98765 00001"); !strings.Contains(reply, "Queued #") {
		t.Fatalf("staff send to a number a campaign just messaged: %q", reply)
	}
}

func TestIntakeSeveralNumbersAndBadOnes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	reply := f.say(t, "telegram:1", "9123456789, 98111 22334\n12345\n011 2345 6789")
	items := f.items(t)
	if len(items) != 2 {
		t.Fatalf("%d items queued, want 2; reply %q", len(items), reply)
	}
	for _, want := range []string{"Queued 2 via dryrun", "+919123456789", "+919811122334", "✗ 12345", "✗ 011 2345 6789: not a mobile number"} {
		if !strings.Contains(reply, want) {
			t.Errorf("reply lacks %q:\n%s", want, reply)
		}
	}
	reply = f.say(t, "telegram:1", "/send 12345")
	if !strings.Contains(reply, "Nothing queued") || !strings.Contains(reply, "98765 43210") || len(f.items(t)) != 2 {
		t.Fatalf("only a bad number: reply %q", reply)
	}
	if reply = f.say(t, "telegram:1", "hello there"); !strings.Contains(reply, "did not understand") {
		t.Fatalf("chatter: %q", reply)
	}
	if reply = f.say(t, "telegram:1", "/send"); !strings.Contains(reply, "Which number?") {
		t.Fatalf("/send alone: %q", reply)
	}
	if reply = f.say(t, "telegram:1", "/send 9876543210 no-such-message"); !strings.Contains(reply, `no saved message called "no-such-message"`) {
		t.Fatalf("unknown saved message: %q", reply)
	}
}

func TestUnknownIdentityIsRefusedPolitely(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	reply := f.say(t, "telegram:777", "98765 43210")
	if !strings.Contains(reply, "telegram:777") || !strings.Contains(reply, "/operator add telegram:777 staff") {
		t.Fatalf("refusal %q should show the id and how to add it", reply)
	}
	if len(f.items(t)) != 0 {
		t.Fatal("an unknown identity queued a message")
	}
	if a := f.lastAudit(t); a.Actor != "telegram:777" || a.Outcome != "refused" {
		t.Fatalf("audit %+v", a)
	}
}

func TestQueueCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.say(t, "telegram:1", "9876543210")
	id := f.items(t)[0].ID
	// Fail the item as a gateway would.
	claimed, err := f.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "t", Token: "tok"})
	if err != nil || len(claimed) != 1 {
		t.Fatal(err)
	}
	if _, err := f.db.CompleteQueueItems(ctx, []store.Outcome{{ID: id, Token: "tok", Status: store.StatusFailed, Error: "131026: not on WhatsApp", ErrorClass: "permanent", Event: "failed"}}); err != nil {
		t.Fatal(err)
	}

	if reply := f.say(t, "telegram:2", "/failed"); !strings.Contains(reply, fmt.Sprintf("#%d +919876543210", id)) || !strings.Contains(reply, "not on WhatsApp") {
		t.Fatalf("/failed: %q", reply)
	}
	if reply := f.say(t, "telegram:2", fmt.Sprintf("/edit %d 91234 56789", id)); !strings.Contains(reply, "+919123456789") || !strings.Contains(reply, fmt.Sprintf("/retry %d", id)) {
		t.Fatalf("/edit: %q", reply)
	}
	if reply := f.say(t, "telegram:2", fmt.Sprintf("/retry %d", id)); !strings.Contains(reply, "queued again") {
		t.Fatalf("/retry: %q", reply)
	}
	it, _ := f.db.QueueItem(ctx, id)
	if it.Status != store.StatusQueued || it.Attempts != 0 || it.Phone != "+919123456789" {
		t.Fatalf("after edit and retry: %+v", it)
	}
	if reply := f.say(t, "telegram:2", fmt.Sprintf("/cancel #%d", id)); !strings.Contains(reply, "cancelled") {
		t.Fatalf("/cancel: %q", reply)
	}
	if reply := f.say(t, "telegram:2", fmt.Sprintf("/retry %d", id)); !strings.Contains(reply, "cannot be retried now") {
		t.Fatalf("/retry of a cancelled item: %q", reply)
	}
	for text, want := range map[string]string{
		"/retry":         "Usage: /retry <id>",
		"/retry abc":     `"abc" is not a message id`,
		"/retry 99999":   "There is no message #99999",
		"/edit 1":        "Usage: /edit <id> <phone>",
		"/edit 1 12345":  "12345:",
		"/queue 2w":      "Use /queue 1h, 24h, 7d, 30d or all.",
		"/recent -3":     "Usage: /recent [n]",
		"/frobnicate":    "There is no command /frobnicate",
		"/gateway use x": `There is no gateway "x"`,
	} {
		if reply := f.say(t, "telegram:3", text); !strings.Contains(reply, want) {
			t.Errorf("%s: reply %q, want %q", text, reply, want)
		}
	}
	if reply := f.say(t, "telegram:2", "/queue all"); !strings.Contains(reply, "All time: 1 message\n") || !strings.Contains(reply, "Cancelled 1") {
		t.Fatalf("/queue all: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/recent"); !strings.Contains(reply, fmt.Sprintf("#%d +919123456789 · cancelled", id)) {
		t.Fatalf("/recent: %q", reply)
	}
}

func TestStatusAndGateway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.say(t, "telegram:1", "9876543210")
	reply := f.say(t, "telegram:1", "/status")
	for _, want := range []string{"Gateway: dryrun", "Queued 1 · Sending 0 · Sent 0", "no delivery processor is running"} {
		if !strings.Contains(reply, want) {
			t.Errorf("/status lacks %q:\n%s", want, reply)
		}
	}
	if reply := f.say(t, "telegram:3", "/gateway use meta"); reply != "Messages now go out via meta." {
		t.Fatalf("/gateway use: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/gateway"); !strings.Contains(reply, "Active gateway: meta") || strings.Contains(reply, "Switch with") {
		t.Fatalf("/gateway for an operator: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "9123456789"); !strings.Contains(reply, "via meta") {
		t.Fatalf("intake after the switch: %q", reply)
	}
}

func TestOperatorCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if reply := f.say(t, "telegram:3", "/operator add whatsapp:098765 43210 operator"); !strings.Contains(reply, "Usage") {
		t.Fatalf("identity with a space: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/operator add whatsapp:09876543210 operator"); reply != "whatsapp:+919876543210 is now operator." {
		t.Fatalf("add: %q", reply)
	}
	if reply := f.say(t, "whatsapp:+919876543210", "/whoami"); reply != "You are whatsapp:+919876543210, role operator." {
		t.Fatalf("the new operator: %q", reply)
	}
	for text, want := range map[string]string{
		"/operator add telegram:abc staff": "numeric user id",
		"/operator add telegram:5 boss":    `Unknown role "boss"`,
		"/operator add sms:5 staff":        `Unknown chat "sms"`,
		"/operator remove telegram:404":    "is not an operator",
		"/operator remove telegram:3":      "would leave no admin",
		"/operator add telegram:3 staff":   "would leave no admin",
		"/operator":                        "Usage:",
	} {
		if reply := f.say(t, "telegram:3", text); !strings.Contains(reply, want) {
			t.Errorf("%s: reply %q, want %q", text, reply, want)
		}
	}
	if reply := f.say(t, "telegram:3", "/operators"); !strings.Contains(reply, "4 people") || !strings.Contains(reply, "telegram:1 — staff") {
		t.Fatalf("/operators: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/operator remove telegram:1"); !strings.Contains(reply, "no longer") {
		t.Fatalf("remove: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "/status"); !strings.Contains(reply, "not set up") {
		t.Fatalf("removed staff: %q", reply)
	}
}

func TestHelpListsOnlyWhatTheRoleMayUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	staff := f.say(t, "telegram:1", "/help")
	admin := f.say(t, "telegram:3", "/help")
	for _, s := range []string{"/send", "/status", "/whoami"} {
		if !strings.Contains(staff, s) {
			t.Errorf("staff help lacks %s", s)
		}
	}
	for _, s := range []string{"/retry", "/gateway use", "/operator add", "/queue", "/save", "/messages", "/message archive", "/media cleanup", "/flows", "/templates"} {
		if strings.Contains(staff, s) {
			t.Errorf("staff help shows %s:\n%s", s, staff)
		}
		if !strings.Contains(admin, s) {
			t.Errorf("admin help lacks %s", s)
		}
	}
}

// Every command × every role, and an unknown identity: allowed or refused
// as the issue specifies. A refusal is read from the audit log.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	texts := map[string]string{
		"send": "/send 9876543210", "status": "/status", "mine": "/mine", "whoami": "/whoami", "help": "/help",
		"inbox": "/inbox", "reply": "/reply 9876543210 Your order is ready",
		"queue": "/queue 24h", "recent": "/recent 3", "failed": "/failed", "retry": "/retry 1",
		"edit": "/edit 1 9123456789", "cancel": "/cancel 1", "gateway": "/gateway",
		"gateway use": "/gateway use dryrun", "operators": "/operators",
		"operator add": "/operator add telegram:50 staff", "operator remove": "/operator remove telegram:51",
		"campaigns": "/campaigns", "campaign": "/campaign 1", "campaign new": "/campaign new Test",
		"campaign set": "/campaign set 1 interval=5s", "import": "/import 1", "campaign copy": "/campaign copy 1 1",
		"campaign start": "/campaign start 1", "campaign schedule": "/campaign schedule 1 2030-01-01 10:00",
		"campaign pause": "/campaign pause 1", "campaign resume": "/campaign resume 1", "campaign cancel": "/campaign cancel 1",
		"campaign delete": "/campaign delete 1", "campaign stats": "/campaign stats 1", "campaign results": "/campaign results 1",
		"optout":   "/optout 9123456789 asked in store",
		"settings": "/settings", "set": "/set intake.text Your order is ready",
		"save": "/save promo text Hello", "messages": "/messages all", "message": "/message promo",
		"message replace": "/message replace promo", "message archive": "/message archive promo",
		"message restore": "/message restore promo", "message delete": `/message delete "promo"`,
		"media cleanup": "/media cleanup", "flows": "/flows", "templates": "/templates",
		"templates sync": "/templates sync",
	}
	// Who may run what, written out as specified rather than derived.
	minRole := map[string]string{
		"send": "staff", "status": "staff", "mine": "staff", "whoami": "staff", "help": "staff",
		"inbox": "staff", "reply": "staff",
		"queue": "operator", "recent": "operator", "failed": "operator", "retry": "operator",
		"edit": "operator", "cancel": "operator", "gateway": "operator",
		"gateway use": "admin", "operators": "admin", "operator add": "admin", "operator remove": "admin",
		"campaigns": "operator", "campaign": "operator", "campaign new": "operator", "campaign set": "operator",
		"import": "operator", "campaign copy": "operator", "campaign start": "operator", "campaign schedule": "operator",
		"campaign pause": "operator", "campaign resume": "operator", "campaign cancel": "operator",
		"campaign delete": "operator", "campaign stats": "operator", "campaign results": "operator",
		"optout": "operator", "settings": "operator", "set": "operator",
		"save": "operator", "messages": "operator", "message": "operator", "message replace": "operator",
		"message archive": "operator", "message restore": "operator", "message delete": "operator",
		"media cleanup": "admin", "flows": "operator", "templates": "operator",
		"templates sync": "operator",
	}
	if len(texts) != len(commands.Keys()) || len(minRole) != len(commands.Keys()) {
		t.Fatalf("the matrix covers %d commands, the router has %d", len(texts), len(commands.Keys()))
	}
	rank := map[string]int{"staff": 0, "operator": 1, "admin": 2}
	identities := map[string]string{"staff": "telegram:1", "operator": "telegram:2", "admin": "telegram:3", "unknown": "telegram:999"}
	for _, key := range commands.Keys() {
		for _, role := range []string{"staff", "operator", "admin", "unknown"} {
			t.Run(key+"/"+role, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				ctx := context.Background()
				if _, err := f.db.PutOperator(ctx, "telegram:51", "staff", "", "test"); err != nil {
					t.Fatal(err)
				}
				if _, err := f.db.CreateCampaign(ctx, "Matrix", "test"); err != nil {
					t.Fatal(err)
				}
				if _, err := f.db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876500000", MaxAttempts: 3,
					Content: store.QueueContent{Kind: store.ContentText, Body: "x"}}}); err != nil {
					t.Fatal(err)
				}
				reply := f.say(t, identities[role], texts[key])
				a := f.lastAudit(t)
				refused := a.Outcome == "refused"
				want := role != "unknown" && rank[role] >= rank[minRole[key]]
				if refused == want {
					t.Fatalf("%s as %s: refused=%v, want allowed=%v (reply %q, audit %+v)", texts[key], role, refused, want, reply, a)
				}
				if want != commands.Allowed(role, key) && role != "unknown" {
					t.Fatalf("Allowed(%s, %s) disagrees with the specification", role, key)
				}
				if refused && !regexp.MustCompile(`needs the \w+ role|not set up`).MatchString(reply) {
					t.Fatalf("refusal %q does not say why", reply)
				}
			})
		}
	}
}

// Every command writes one audit row naming who ran it and how it went.
func TestEveryCommandIsAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, text := range []string{"/status", "/retry 404", "9876543210", "/gateway use nope"} {
		before, _ := f.db.AuditLog(context.Background(), 1000)
		f.say(t, "telegram:3", text)
		after, _ := f.db.AuditLog(context.Background(), 1000)
		if len(after) != len(before)+1 {
			t.Fatalf("%s wrote %d audit rows, want 1", text, len(after)-len(before))
		}
		if after[0].Actor != "telegram:3" || after[0].Role != "admin" || after[0].Transport != "telegram" {
			t.Fatalf("%s: audit %+v", text, after[0])
		}
	}
	log, _ := f.db.AuditLog(context.Background(), 4)
	outcomes := []string{log[3].Outcome, log[2].Outcome, log[1].Outcome, log[0].Outcome}
	if strings.Join(outcomes, ",") != "ok,error,ok,error" {
		t.Fatalf("outcomes %v", outcomes)
	}
}
