package ops_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// newTestSendService is the operations over db with a text gateway that is
// not the active one besides shiprocketGateways, on a clock standing at
// 2026-10-20 09:00 UTC.
func newTestSendService(t *testing.T, db *store.DB, notify func()) *ops.Service {
	t.Helper()
	gws := append(shiprocketGateways(), ops.Gateway{Name: "cloud", Caps: queue.Capabilities{Text: true, Media: true}})
	names := make([]string, len(gws))
	for i, g := range gws {
		names[i] = g.Name
	}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs(names), shiprocket.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC) }
	return ops.New(db, settings.NewReader(reg, db, time.Nanosecond, nil), ops.Config{Gateways: gws, Notify: notify, Now: now}, nil)
}

// queued counts the queue's items.
func queued(t *testing.T, db *store.DB) int {
	t.Helper()
	items, err := db.RecentQueueItems(context.Background(), store.RecentFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

// lastAudit is the newest audit entry.
func lastAudit(t *testing.T, db *store.DB) store.AuditEntry {
	t.Helper()
	log, err := db.AuditLog(context.Background(), 1)
	if err != nil || len(log) != 1 {
		t.Fatalf("audit log: %v %v", log, err)
	}
	return log[0]
}

// SendTest queues one single-attempt message through the gateway named,
// not the active one, and says clearly why when it cannot.
func TestSendTest(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	notified := 0
	svc := newTestSendService(t, db, func() { notified++ })
	ctx := context.Background()
	if got := svc.ActiveGateway(ctx); got != "dryrun" {
		t.Fatalf("active gateway %q", got)
	}

	it, err := svc.SendTest(ctx, admin, " Cloud ", "98765 43210")
	if err != nil {
		t.Fatalf("send test: %v", err)
	}
	if it.Gateway != "cloud" || it.MaxAttempts != 1 || it.Status != ops.StatusQueued || it.Phone != "+919876543210" ||
		it.Priority != store.PriorityIntake || it.CreatedBy != admin.Identity {
		t.Fatalf("test item %+v", it)
	}
	// 09:00 UTC is 14:30 in the default campaign time zone, Asia/Kolkata.
	if want := "MessageBridge test message from cloud (20 Oct 2026 14:30 IST)"; it.Content.Kind != ops.ContentText || it.Content.Body != want {
		t.Fatalf("test content %+v, want text %q", it.Content, want)
	}
	if stored, err := db.QueueItem(ctx, it.ID); err != nil || stored.Gateway != "cloud" || stored.MaxAttempts != 1 {
		t.Fatalf("stored item %+v %v", stored, err)
	}
	if notified != 1 {
		t.Fatalf("delivery loop woken %d times, want 1", notified)
	}
	if e := lastAudit(t, db); e.Action != "gateway.test" || e.Outcome != "ok" || !strings.Contains(e.Detail, "cloud") || e.Actor != admin.Identity {
		t.Fatalf("audit %+v", e)
	}
	// A test is not a staff send: the number is tested again at once.
	if _, err := svc.SendTest(ctx, admin, "cloud", "+91 98765 43210"); err != nil {
		t.Fatalf("second test to the same number: %v", err)
	}
	if svc.ActiveGateway(ctx) != "dryrun" {
		t.Fatal("a test send changed the active gateway")
	}
	count := queued(t, db)

	// Shiprocket sends no plain text: without its staff flow it is refused,
	// with it the flow goes.
	_, err = svc.SendTest(ctx, admin, "shiprocket", "9876543211")
	wantCode(t, err, ops.ECONFLICT, "shiprocket", shiprocket.SettingStaffFlow)
	if e := lastAudit(t, db); e.Action != "gateway.test" || e.Outcome != "refused" {
		t.Fatalf("audit of a refused test %+v", e)
	}
	_, err = svc.SendTest(ctx, admin, "mediaonly", "9876543211")
	wantCode(t, err, ops.ECONFLICT, "mediaonly", "cannot send")
	if _, err := svc.SetSetting(ctx, admin, shiprocket.SettingStaffFlow, "flow-42", false); err != nil {
		t.Fatal(err)
	}
	it, err = svc.SendTest(ctx, admin, "shiprocket", "9876543211")
	if err != nil {
		t.Fatalf("test through shiprocket with its flow: %v", err)
	}
	if it.Gateway != "shiprocket" || it.MaxAttempts != 1 || it.Content.Kind != ops.ContentFlow || it.Content.FlowID != "flow-42" {
		t.Fatalf("shiprocket test item %+v", it)
	}
	count++

	// A paused gateway would only hold the message.
	if err := db.BlockGateway(ctx, "cloud", "token expired"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.SendTest(ctx, admin, "cloud", "9876543210")
	wantCode(t, err, ops.ECONFLICT, "cloud", "paused", "token expired")

	// Bad input and the wrong role.
	_, err = svc.SendTest(ctx, admin, "nosuch", "9876543210")
	wantCode(t, err, ops.EINVALID, `"nosuch"`, "dryrun, shiprocket, mediaonly, cloud")
	_, err = svc.SendTest(ctx, admin, "dryrun", "12345")
	wantCode(t, err, ops.EINVALID, "12345", "too short", "98765 43210")
	_, err = svc.SendTest(ctx, admin, "dryrun", "  ")
	wantCode(t, err, ops.EINVALID, "which number")
	_, err = svc.SendTest(ctx, staff, "dryrun", "9876543210")
	wantCode(t, err, ops.EFORBIDDEN, "admin")
	_, err = svc.SendTest(ctx, operator, "dryrun", "9876543210")
	wantCode(t, err, ops.EFORBIDDEN, "admin")
	if got := queued(t, db); got != count {
		t.Fatalf("%d items queued, want %d: a refused test queued something", got, count)
	}
}
