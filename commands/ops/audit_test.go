package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// failingAudit is a store whose audit writes fail while fail says so.
type failingAudit struct {
	*store.DB
	mu    sync.Mutex
	fail  func(e store.AuditEntry) bool
	tries []store.AuditEntry
}

func (f *failingAudit) Audit(ctx context.Context, e store.AuditEntry) error {
	f.mu.Lock()
	f.tries = append(f.tries, e)
	fail := f.fail(e)
	f.mu.Unlock()
	if fail {
		return errors.New("audit: Error 1406 (22001): Data too long for column 'detail' at row 1")
	}
	return f.DB.Audit(ctx, e)
}

// logRecords parses the JSON log lines in buf.
func logRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, m)
	}
	return recs
}

func newAuditService(t *testing.T, fail func(store.AuditEntry) bool) (*ops.Service, *failingAudit, *bytes.Buffer) {
	t.Helper()
	db := storetest.OpenSQLite(t, storetest.Options{})
	st := &failingAudit{DB: db, fail: fail}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"dryrun"}))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := ops.New(st, settings.NewReader(reg, db, time.Nanosecond, nil), ops.Config{}, log)
	return svc, st, &buf
}

var unstorable = ops.AuditEntry{Actor: "telegram:42", Role: "operator", Transport: "telegram",
	Action: "/campaign set", Detail: "1 interval=5s", Outcome: "ok"}

// When an entry cannot be stored, it is logged at Error with every field
// and a minimal row still records who did what and how it went.
func TestFailedAuditWriteIsLoggedAndRecordedMinimally(t *testing.T) {
	t.Parallel()
	svc, st, buf := newAuditService(t, func(e store.AuditEntry) bool { return e.Detail != "audit detail could not be stored" })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the request is gone; the audit row must still be written
	svc.Audit(ctx, unstorable)

	if len(st.tries) != 2 {
		t.Fatalf("%d audit writes tried, want the entry and one minimal row", len(st.tries))
	}
	log, err := st.DB.AuditLog(context.Background(), 10)
	if err != nil || len(log) != 1 {
		t.Fatalf("audit log %+v, %v", log, err)
	}
	if got := log[0]; got.Actor != "telegram:42" || got.Action != "/campaign set" || got.Outcome != "ok" ||
		got.Detail != "audit detail could not be stored" {
		t.Fatalf("minimal row %+v", got)
	}
	recs := logRecords(t, buf)
	if len(recs) != 1 {
		t.Fatalf("log records %v, want one", recs)
	}
	r := recs[0]
	for k, want := range map[string]string{"level": "ERROR", "actor": "telegram:42", "role": "operator", "transport": "telegram",
		"action": "/campaign set", "outcome": "ok", "detail": "1 interval=5s"} {
		if r[k] != want {
			t.Errorf("log %s = %v, want %q (record %v)", k, r[k], want, r)
		}
	}
	if !strings.Contains(r["err"].(string), "1406") {
		t.Errorf("log err = %v, want the store's error", r["err"])
	}
}

// When even the minimal row fails, both failures are logged at Error and
// nothing is tried a third time.
func TestAuditFallbackFailureIsLogged(t *testing.T) {
	t.Parallel()
	svc, st, buf := newAuditService(t, func(store.AuditEntry) bool { return true })
	e := unstorable
	e.Outcome = "weird" // not one the log accepts: the minimal row says error
	svc.Audit(context.Background(), e)
	if len(st.tries) != 2 || st.tries[1].Outcome != "error" || st.tries[1].Role != "" || st.tries[1].Detail != "audit detail could not be stored" {
		t.Fatalf("writes tried %+v, want the entry and one minimal row with outcome error", st.tries)
	}
	recs := logRecords(t, buf)
	if len(recs) != 2 {
		t.Fatalf("log records %v, want two", recs)
	}
	for _, r := range recs {
		if r["level"] != "ERROR" || r["actor"] != "telegram:42" || r["action"] != "/campaign set" {
			t.Errorf("log record %v", r)
		}
	}
	if !strings.Contains(recs[1]["msg"].(string), "fallback") {
		t.Errorf("second record %v does not say the fallback failed", recs[1])
	}
}

// A write that succeeds is tried once and logs nothing.
func TestAuditWriteThatSucceedsIsTriedOnce(t *testing.T) {
	t.Parallel()
	svc, st, buf := newAuditService(t, func(store.AuditEntry) bool { return false })
	svc.Audit(context.Background(), unstorable)
	if len(st.tries) != 1 || buf.Len() != 0 {
		t.Fatalf("%d writes, log %q", len(st.tries), buf.String())
	}
	if log, _ := st.DB.AuditLog(context.Background(), 1); len(log) != 1 || log[0].Detail != "1 interval=5s" {
		t.Fatalf("audit log %+v", log)
	}
}
