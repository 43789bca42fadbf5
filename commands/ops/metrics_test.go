package ops_test

import (
	"context"
	"fmt"
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

// serviceWith builds the operations over db as newService does, with cfg
// (its Gateways default to one "dryrun" that sends everything).
func serviceWith(t testing.TB, db *store.DB, cfg ops.Config) *ops.Service {
	t.Helper()
	if len(cfg.Gateways) == 0 {
		cfg.Gateways = []ops.Gateway{{Name: "dryrun", Caps: allCaps}}
	}
	names := make([]string, len(cfg.Gateways))
	for i, g := range cfg.Gateways {
		names[i] = g.Name
	}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs(names), shiprocket.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	return ops.New(db, settings.NewReader(reg, db, time.Nanosecond, nil), cfg, nil)
}

// Config.Imported hears of each successful import with the contacts it
// added, and of nothing a refused import did.
func TestImportedCountsAddedRows(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	var calls []int
	svc := serviceWith(t, db, ops.Config{Imported: func(rows int) { calls = append(calls, rows) }})
	c := newCampaign(t, svc, "Diwali")

	// Three good rows, one of them twice, and one that is no number.
	res := importCSV(t, svc, c.ID, csvContacts("Name,Mobile",
		"Asha,9876543201", "Ravi,9876543202", "Asha again,9876543201", "Meena,9876543203", "Nobody,12"))
	if res.Added != 3 {
		t.Fatalf("import added %d, want 3 (%+v)", res.Added, res)
	}
	if len(calls) != 1 || calls[0] != 3 {
		t.Fatalf("Imported calls %v, want [3]", calls)
	}

	// Refused: staff may not import.
	list := csvContacts("Name,Mobile", "Zed,9876543299")
	_, err := svc.ImportContacts(context.Background(), staff, c.ID, "more.csv", strings.NewReader(list), int64(len(list)), "")
	wantCode(t, err, ops.EFORBIDDEN)
	if len(calls) != 1 {
		t.Fatalf("a refused import was reported: %v", calls)
	}
}

// QueueDepth counts every item by status, with every status present.
func TestQueueDepthCountsByStatus(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, storetest.Options{}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := serviceWith(t, db, ops.Config{})
		items := make([]store.NewQueueItem, 3)
		for i := range items {
			items[i] = store.NewQueueItem{Phone: fmt.Sprintf("+9198765432%02d", i+1),
				Content: store.QueueContent{Kind: store.ContentText, Body: "Hello"}, MaxAttempts: 3, CreatedBy: "test"}
		}
		ids, err := db.EnqueueQueueItems(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CancelQueueItem(ctx, ids[0], "test"); err != nil {
			t.Fatal(err)
		}
		depth, err := svc.QueueDepth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ops.QueueStatuses() {
			want := 0
			switch s {
			case ops.StatusQueued:
				want = 2
			case ops.StatusCancelled:
				want = 1
			}
			if n, ok := depth[string(s)]; !ok || n != want {
				t.Errorf("depth[%s] = %d (present %v), want %d", s, n, ok, want)
			}
		}
		if len(depth) != len(ops.QueueStatuses()) {
			t.Errorf("depth has %d statuses, want %d: %v", len(depth), len(ops.QueueStatuses()), depth)
		}
	})
}

// A database that does not answer is an error, not an empty queue.
func TestQueueDepthReportsStoreErrors(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc := serviceWith(t, db, ops.Config{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	depth, err := svc.QueueDepth(context.Background())
	if err == nil || !strings.Contains(err.Error(), "queue depth") {
		t.Fatalf("QueueDepth on a closed database = %v, %v; want a wrapped error", depth, err)
	}
}
