package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/messagebridge/messagebridge/migrations"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/secretbox"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// conformanceEpoch is the store clock's time in the conformance suite; the
// microseconds prove both dialects keep them.
var conformanceEpoch = time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC)

// TestConformance runs the same store tests on every dialect available: its
// subtests are named sqlite and mysql.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"MigrateIsIdempotent", testMigrateIsIdempotent},
		{"SchemaHasEveryTable", testSchemaHasEveryTable},
		{"PlainSettings", testPlainSettings},
		{"SecretSettingsAreSealed", testSecretSettingsAreSealed},
		{"TimestampsRoundTripInUTC", testTimestampsRoundTripInUTC},
		{"MySQLSessionsReadCommitted", testMySQLSessionsReadCommitted},
		{"OperatorsAuditCursors", testOperatorsAuditCursors},
		{"AuditFitsEveryColumn", testAuditFitsEveryColumn},
		{"QueueEventDetailFits", testQueueEventDetailFits},
		{"Catalog", testCatalog},
		{"SyncedCatalog", testSyncedCatalog},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEachDialect(t, storetest.Options{Now: storetest.NewClock(conformanceEpoch).Now}, tc.fn)
		})
	}
}

func testMigrateIsIdempotent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Pending() || v.Current != v.Latest || v.Latest < 1 {
		t.Fatalf("after migrate: %+v, want current = latest >= 1", v)
	}
	again, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", again)
	}
}

// The schema covers the whole product, and only it: the unused templates
// and flows tables of 00001 are gone (00009; the catalog holds both).
func testSchemaHasEveryTable(t *testing.T, db *store.DB) {
	s, err := db.DescribeSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{
		"settings", "operators", "admin_users", "web_sessions", "media_objects", "gateway_media",
		"saved_messages", "campaigns", "campaign_contacts", "queue_items",
		"queue_events", "opt_outs", "audit_log", "webhook_events", "processor_heartbeats",
		"gateway_state", "leases", "cursors", "catalog_entries", "admin_setup_tokens",
	} {
		if len(s.Columns[table]) == 0 {
			t.Errorf("table %s is missing", table)
		}
	}
	for _, table := range []string{"templates", "flows"} {
		if len(s.Columns[table]) != 0 {
			t.Errorf("unused table %s is still there", table)
		}
	}
	for _, col := range []string{"lock_token", "locked_at", "attempts", "max_attempts", "next_attempt_at", "provider_message_id", "priority", "contact_id"} {
		if !slices.Contains(s.Columns["queue_items"], col) {
			t.Errorf("queue_items lacks %s", col)
		}
	}
}

func testPlainSettings(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.Setting(ctx, "region"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unset setting: err = %v, want ErrNotFound", err)
	}
	if err := db.PutSetting(ctx, "region", "IN", false, "admin:1"); err != nil {
		t.Fatal(err)
	}
	if err := db.PutSetting(ctx, "region", "AE", false, "admin:2"); err != nil {
		t.Fatal(err)
	}
	got, err := db.Setting(ctx, "region")
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "AE" || got.UpdatedBy != "admin:2" || got.Secret {
		t.Fatalf("setting = %+v, want the second write", got)
	}
	if err := db.PutSetting(ctx, "_internal", "x", false, "t"); err == nil {
		t.Fatal("a name starting with '_' was accepted")
	}
	if err := db.PutSetting(ctx, "active_gateway", "dryrun", false, "t"); err != nil {
		t.Fatal(err)
	}
	all, err := db.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	if want := []string{"active_gateway", "region"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("settings = %v, want %v", names, want)
	}
	if err := db.DeleteSetting(ctx, "region"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Setting(ctx, "region"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted setting: err = %v, want ErrNotFound", err)
	}
}

func testSecretSettingsAreSealed(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const token = "EAAG-meta-access-token-1234567890"
	if err := db.VerifySecretKey(ctx); err != nil {
		t.Fatalf("first verify on an empty database: %v", err)
	}
	if err := db.PutSetting(ctx, "meta.access_token", token, true, "admin"); err != nil {
		t.Fatal(err)
	}
	raw, err := store.RawSettingValue(ctx, db, "meta.access_token")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, token) || strings.Contains(raw, "1234567890") {
		t.Fatalf("secret stored in plaintext: %q", raw)
	}
	got, err := db.Setting(ctx, "meta.access_token")
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != token || !got.Secret {
		t.Fatalf("secret read back as %+v", got)
	}
	if err := db.VerifySecretKey(ctx); err != nil {
		t.Fatalf("verify with the same key: %v", err)
	}
}

func testTimestampsRoundTripInUTC(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if err := db.PutSetting(ctx, "x", "1", false, "t"); err != nil {
		t.Fatal(err)
	}
	s, err := db.Setting(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if s.UpdatedAt.Location() != time.UTC {
		t.Errorf("updated_at in %v, want UTC", s.UpdatedAt.Location())
	}
	if !s.UpdatedAt.Equal(conformanceEpoch) {
		t.Errorf("updated_at %v, want the store clock's %v", s.UpdatedAt, conformanceEpoch)
	}
}

// Queue claims need READ COMMITTED; every pooled MySQL session has it.
func testMySQLSessionsReadCommitted(t *testing.T, db *store.DB) {
	if db.Dialect() != store.MySQL {
		t.Skip("SQLite transactions are serializable")
	}
	got, err := store.SessionIsolation(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if got != "READ-COMMITTED" {
		t.Fatalf("session isolation %q, want READ-COMMITTED", got)
	}
}

func testOperatorsAuditCursors(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.Operator(ctx, "telegram:1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown operator: %v", err)
	}
	if _, err := db.PutOperator(ctx, "telegram:1", store.RoleStaff, "Asha", "bootstrap"); err != nil {
		t.Fatal(err)
	}
	op, err := db.PutOperator(ctx, "telegram:1", store.RoleAdmin, "", "telegram:9")
	if err != nil {
		t.Fatal(err)
	}
	if op.Role != store.RoleAdmin || op.DisplayName != "Asha" || op.Transport != "telegram" || op.CreatedBy != "bootstrap" {
		t.Fatalf("operator after role change: %+v", op)
	}
	err = db.WithOperators(ctx, func(tx *store.OperatorTx) error {
		if tx.Admins() != 1 {
			t.Errorf("admins = %d, want 1", tx.Admins())
		}
		if err := tx.Put("telegram:2", store.RoleAdmin, "", "telegram:1"); err != nil {
			return err
		}
		if err := tx.Remove("telegram:1"); err != nil {
			return err
		}
		if tx.Admins() != 1 {
			t.Errorf("admins after adding one and removing one = %d, want 1", tx.Admins())
		}
		if err := tx.Remove("telegram:1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second remove: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Operator(ctx, "telegram:1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed operator still there: %v", err)
	}
	// A rule's refusal rolls the whole transaction back.
	refused := errors.New("refused")
	if err := db.WithOperators(ctx, func(tx *store.OperatorTx) error {
		if err := tx.Remove("telegram:2"); err != nil {
			return err
		}
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("refusal: %v", err)
	}
	if op, err := db.Operator(ctx, "telegram:2"); err != nil || op.Role != store.RoleAdmin {
		t.Fatalf("refused removal took effect: %+v, %v", op, err)
	}

	if err := db.Audit(ctx, store.AuditEntry{Actor: "telegram:1", Role: "admin", Transport: "telegram", Action: "/status", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	log, err := db.AuditLog(ctx, 10)
	if err != nil || len(log) != 1 || log[0].Action != "/status" || log[0].Outcome != "ok" {
		t.Fatalf("audit log = %+v, %v", log, err)
	}

	if _, ok, err := db.Cursor(ctx, "telegram.updates"); err != nil || ok {
		t.Fatalf("unset cursor: ok %v, err %v", ok, err)
	}
	for _, pos := range []int64{41, 42} {
		if err := db.SetCursor(ctx, "telegram.updates", pos); err != nil {
			t.Fatal(err)
		}
	}
	if pos, ok, err := db.Cursor(ctx, "telegram.updates"); err != nil || !ok || pos != 42 {
		t.Fatalf("cursor = %d %v %v", pos, ok, err)
	}

	// Leases: one holder at a time; the holder renews; another takes over
	// only once the lease has expired (the clock stands still here, so use
	// a lease that is already over).
	if got, err := db.AcquireLease(ctx, "telegram.poll", "a", time.Minute); err != nil || !got {
		t.Fatalf("a acquires: %v %v", got, err)
	}
	if got, err := db.AcquireLease(ctx, "telegram.poll", "b", time.Minute); err != nil || got {
		t.Fatalf("b acquires a held lease: %v %v", got, err)
	}
	if got, err := db.AcquireLease(ctx, "telegram.poll", "a", -time.Second); err != nil || !got {
		t.Fatalf("a renews (into the past): %v %v", got, err)
	}
	if got, err := db.AcquireLease(ctx, "telegram.poll", "b", time.Minute); err != nil || !got {
		t.Fatalf("b takes the expired lease: %v %v", got, err)
	}
	if err := db.ReleaseLease(ctx, "telegram.poll", "a"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.AcquireLease(ctx, "telegram.poll", "a", time.Minute); err != nil || got {
		t.Fatalf("a's release must not free b's lease: %v %v", got, err)
	}
}

// A database whose secrets were sealed with one key refuses another key with
// ErrSecretKeyMismatch, at start and on every read, never returning garbage.
func TestWrongSecretKeyIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	open := func(key []byte) *store.DB {
		box, err := secretbox.New(key)
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(ctx, store.Config{DataDir: dir}, store.Options{Secrets: box})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	first := open(randomKey(t))
	if err := first.VerifySecretKey(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.PutSetting(ctx, "whapi.token", "whapi-token-abcdef", true, "admin"); err != nil {
		t.Fatal(err)
	}
	_ = first.Close()

	second := open(randomKey(t))
	if err := second.VerifySecretKey(ctx); !errors.Is(err, store.ErrSecretKeyMismatch) {
		t.Fatalf("verify with another key: err = %v, want ErrSecretKeyMismatch", err)
	}
	if _, err := second.Setting(ctx, "whapi.token"); !errors.Is(err, store.ErrSecretKeyMismatch) {
		t.Fatalf("read with another key: err = %v, want ErrSecretKeyMismatch", err)
	}
}

// Both dialects' migration sets have the same files, and, where MySQL is
// available, build the same tables, columns and named indexes.
func TestDialectsBuildTheSameSchema(t *testing.T) {
	t.Parallel()
	names := func(d store.Dialect) []string {
		fsys, err := migrations.FS(string(d))
		if err != nil {
			t.Fatal(err)
		}
		files, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	if a, b := names(store.SQLite), names(store.MySQL); !reflect.DeepEqual(a, b) || len(a) == 0 {
		t.Fatalf("migration files differ: sqlite %v, mysql %v", a, b)
	}

	ctx := context.Background()
	lite, err := storetest.OpenSQLite(t, storetest.Options{}).DescribeSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	my, err := storetest.OpenMySQL(t, storetest.Options{}).DescribeSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lite.Columns, my.Columns) {
		for table, cols := range lite.Columns {
			if !reflect.DeepEqual(cols, my.Columns[table]) {
				t.Errorf("table %s: sqlite columns %v, mysql %v", table, cols, my.Columns[table])
			}
		}
		for table := range my.Columns {
			if _, ok := lite.Columns[table]; !ok {
				t.Errorf("table %s exists only on mysql", table)
			}
		}
	}
	// MySQL also names the indexes behind UNIQUE and FOREIGN KEY; every
	// index SQLite was given by name must exist there too.
	for table, idx := range lite.Indexes {
		for _, name := range idx {
			if !slices.Contains(my.Indexes[table], name) {
				t.Errorf("index %s on %s exists only on sqlite", name, table)
			}
		}
	}
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// Purge removes old webhook event ids, stale heartbeats and expired leases,
// and keeps the recent ones.
func TestPurge(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(conformanceEpoch)
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			ctx := context.Background()
			if _, err := db.MarkWebhookEvent(ctx, "meta", "old"); err != nil {
				t.Fatal(err)
			}
			if err := db.PutHeartbeat(ctx, store.Heartbeat{ProcessorID: "gone", StartedAt: clock.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.AcquireLease(ctx, "telegram.poll", "gone", time.Minute); err != nil {
				t.Fatal(err)
			}
			clock.Advance(31 * 24 * time.Hour)
			if _, err := db.MarkWebhookEvent(ctx, "meta", "recent"); err != nil {
				t.Fatal(err)
			}
			if err := db.PutHeartbeat(ctx, store.Heartbeat{ProcessorID: "alive", StartedAt: clock.Now()}); err != nil {
				t.Fatal(err)
			}
			res, err := db.Purge(ctx, store.Retention{})
			if err != nil {
				t.Fatal(err)
			}
			if want := (store.PurgeResult{WebhookEvents: 1, Heartbeats: 1, Leases: 1}); res != want {
				t.Fatalf("purge = %+v, want %+v", res, want)
			}
			if first, _ := db.MarkWebhookEvent(ctx, "meta", "recent"); first {
				t.Fatal("a recent event id was purged")
			}
			if hb, _ := db.Heartbeats(ctx, time.Time{}); len(hb) != 1 || hb[0].ProcessorID != "alive" {
				t.Fatalf("heartbeats after purge: %+v", hb)
			}
		})
	}
}

// On MySQL a claim passes over the rows another transaction holds and keeps
// claim order (priority, then due time, then id), also when a drain has left
// the entries of claimed items ahead of the queued ones in the claim index
// and when the held rows fill a whole stretch the claim looks at first.
func TestClaimPassesOverHeldRows(t *testing.T) {
	t.Parallel()
	u := storetest.FreshMySQLDatabase(t)
	db := storetest.Open(t, store.Config{URL: u}, storetest.Options{Now: storetest.NewClock(conformanceEpoch).Now})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	enqueue := func(n, priority int) []int64 {
		items := make([]store.NewQueueItem, n)
		for i := range items {
			items[i] = store.NewQueueItem{Phone: fmt.Sprintf("+9198%08d", i), Priority: priority, MaxAttempts: 3,
				Content: store.QueueContent{Kind: store.ContentText, Body: "hi"}}
		}
		ids, err := db.EnqueueQueueItems(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	claim := func(limit int, want ...int64) {
		t.Helper()
		got, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: limit, Owner: "p1", Token: fmt.Sprintf("tok-%d", want[0])})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, len(got))
		for i, it := range got {
			ids[i] = it.ID
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("claimed %v, want %v", ids, want)
		}
		outs := make([]store.Outcome, len(got))
		for i, it := range got {
			outs[i] = store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusSent, ProviderMessageID: "p", Gateway: "g"}
		}
		if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
			t.Fatal(err)
		}
	}
	ids := enqueue(120, store.PriorityDefault)
	claim(4, ids[0:4]...)

	// Another claimer holds the next 72 rows: more than a claim of four
	// looks at first (store.claimSlack + 2×4).
	holder := rawMySQL(t, u)
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	held := ids[4:76]
	for _, id := range held { // one by one: a scan would lock every row it reads
		var got int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM queue_items WHERE id = ? FOR UPDATE`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
	}
	claim(4, ids[76:80]...)
	intake := enqueue(1, store.PriorityIntake)
	claim(3, intake[0], ids[80], ids[81])
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	claim(80, append(slices.Clone(held), ids[82:90]...)...)
	claim(100, ids[90:120]...)
}

// rawMySQL opens a plain connection pool to the MySQL database at u.
func rawMySQL(t *testing.T, u string) *sql.DB {
	t.Helper()
	tgt, err := store.ParseURL(u, "")
	if err != nil {
		t.Fatal(err)
	}
	mc, err := mysql.ParseDSN(tgt.DSN)
	if err != nil {
		t.Fatal(err)
	}
	mc.Params = nil // no session settings: they differ between MySQL and MariaDB
	raw, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

// Every audit field is cut to its column by characters, never inside a
// UTF-8 sequence, with "…" where cut; text at the limit is kept whole. On
// MariaDB in strict mode a byte cut inside a character or an overlong
// value fails the insert (1366, 1406), which loses the row.
func testAuditFitsEveryColumn(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const emoji, deva = "😀", "न" // 4 and 3 bytes
	rep := strings.Repeat
	cases := []struct {
		name     string
		in, want store.AuditEntry
	}{
		{name: "at every limit, kept whole",
			in: store.AuditEntry{Actor: rep(emoji, 190), Role: rep(deva, 16), Transport: rep(emoji, 16),
				Action: "/" + rep(deva, 63), Detail: rep(emoji, 2000), Outcome: "ok"},
			want: store.AuditEntry{Actor: rep(emoji, 190), Role: rep(deva, 16), Transport: rep(emoji, 16),
				Action: "/" + rep(deva, 63), Detail: rep(emoji, 2000), Outcome: "ok"}},
		{name: "one character over every limit",
			in: store.AuditEntry{Actor: rep(emoji, 191), Role: rep(deva, 17), Transport: rep(emoji, 17),
				Action: "/" + rep("a", 64), Detail: rep(deva, 2001), Outcome: "refused"},
			want: store.AuditEntry{Actor: rep(emoji, 189) + "…", Role: rep(deva, 15) + "…", Transport: rep(emoji, 15) + "…",
				Action: "/" + rep("a", 62) + "…", Detail: rep(deva, 1999) + "…", Outcome: "refused"}},
		{name: "a 2,000-byte cut would fall inside an emoji",
			in:   store.AuditEntry{Actor: "telegram:1", Action: "unknown_identity", Detail: rep("a", 1999) + emoji + "tail", Outcome: "refused"},
			want: store.AuditEntry{Actor: "telegram:1", Action: "unknown_identity", Detail: rep("a", 1999) + "…", Outcome: "refused"}},
		{name: "a 2,000-byte detail of Devanagari, kept whole",
			in:   store.AuditEntry{Actor: "telegram:1", Action: "/send", Detail: rep("a", 1997) + deva + deva + deva, Outcome: "error"},
			want: store.AuditEntry{Actor: "telegram:1", Action: "/send", Detail: rep("a", 1997) + deva + deva + deva, Outcome: "error"}},
		{name: "a command name of 100 characters",
			in:   store.AuditEntry{Actor: "telegram:1", Action: "/" + rep("a", 99), Detail: "unknown command", Outcome: "error"},
			want: store.AuditEntry{Actor: "telegram:1", Action: "/" + rep("a", 62) + "…", Detail: "unknown command", Outcome: "error"}},
		{name: "bytes that are not UTF-8",
			in:   store.AuditEntry{Actor: "web:\xffadmin", Action: "/x\xc3", Detail: "bad \xf0\x9f byte", Outcome: "ok"},
			want: store.AuditEntry{Actor: "web:\uFFFDadmin", Action: "/x\uFFFD", Detail: "bad \uFFFD byte", Outcome: "ok"}},
	}
	for _, tc := range cases {
		if err := db.Audit(ctx, tc.in); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		log, err := db.AuditLog(ctx, 1)
		if err != nil || len(log) != 1 {
			t.Fatalf("%s: audit log %v, %v", tc.name, log, err)
		}
		got := log[0]
		for _, f := range []struct{ field, got, want string }{
			{"actor", got.Actor, tc.want.Actor}, {"role", got.Role, tc.want.Role}, {"transport", got.Transport, tc.want.Transport},
			{"action", got.Action, tc.want.Action}, {"detail", got.Detail, tc.want.Detail}, {"outcome", got.Outcome, tc.want.Outcome},
		} {
			if f.got != f.want {
				t.Errorf("%s: %s stored as %d characters (%.40q…), want %d (%.40q…)", tc.name, f.field,
					utf8.RuneCountInString(f.got), f.got, utf8.RuneCountInString(f.want), f.want)
			}
		}
	}
}

// An item's history keeps a long last error in any script: the reset's
// detail ("attempts 1 reset; last error: …") is cut between characters to
// its column, where a byte cut inside a Devanagari letter failed the whole
// reset on MariaDB.
func testQueueEventDetailFits(t *testing.T, db *store.DB) {
	ctx := context.Background()
	ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543210", MaxAttempts: 1,
		Content: store.QueueContent{Kind: store.ContentText, Body: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "p1", Token: "tok"})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %v, %v", got, err)
	}
	lastError := strings.Repeat("न", 1000) // 3,000 bytes, within last_error's 1,024 characters
	if _, err := db.CompleteQueueItems(ctx, []store.Outcome{{ID: ids[0], Token: "tok", Status: store.StatusFailed,
		Error: lastError, ErrorClass: "permanent", Event: "failed", Actor: "p1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResetQueueItem(ctx, ids[0], strings.Repeat("😀", 200)); err != nil {
		t.Fatalf("reset after a long Devanagari error: %v", err)
	}
	evs, err := db.QueueItemEvents(ctx, ids[0])
	if err != nil || len(evs) != 2 {
		t.Fatalf("events %+v, %v", evs, err)
	}
	reset := evs[1]
	wantDetail := "attempts 1 reset; last error: " + lastError
	wantDetail = string([]rune(wantDetail)[:1023]) + "…"
	if reset.Detail != wantDetail || reset.Actor != strings.Repeat("😀", 189)+"…" {
		t.Fatalf("reset event: detail of %d characters, actor of %d; want 1024 and 190 ending in …",
			utf8.RuneCountInString(reset.Detail), utf8.RuneCountInString(reset.Actor))
	}
	if evs[0].Detail != lastError {
		t.Fatalf("failed event detail of %d characters, want the whole error", utf8.RuneCountInString(evs[0].Detail))
	}
}
