package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

const fakeToken = "123456:AAFakeTokenForTests0123456789abcdef"

// fakeBotAPI speaks the Telegram Bot API's wire format for the methods the
// transport uses. It holds one staff message, update 500, and never forgets
// it: only the offset the transport sends keeps it from coming back. The
// first sendMessage is answered 429 with retry_after, as Telegram's flood
// control does.
type fakeBotAPI struct {
	mu      sync.Mutex
	offsets []int64
	sent    []string
	got429  bool
	updates int // how many times update 500 was handed out
}

func (f *fakeBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + fakeToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseMultipartForm(1 << 20)
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := func(result any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
	}
	switch strings.TrimPrefix(r.URL.Path, prefix) {
	case "getMe":
		ok(map[string]any{"id": 123456, "is_bot": true, "first_name": "Shop Bot", "username": "shop_bot"})
	case "getUpdates":
		offset, _ := strconv.ParseInt(r.FormValue("offset"), 10, 64)
		f.offsets = append(f.offsets, offset)
		if offset > 500 {
			f.mu.Unlock()
			time.Sleep(50 * time.Millisecond) // a short long-poll
			f.mu.Lock()
			ok([]any{})
			return
		}
		f.updates++
		ok([]any{map[string]any{
			"update_id": 500,
			"message": map[string]any{
				"message_id": 77, "date": time.Now().Unix(), "text": "98765 43210",
				"chat": map[string]any{"id": 1001, "type": "private"},
				"from": map[string]any{"id": 1001, "is_bot": false, "first_name": "Ravi"},
			},
		}})
	case "sendMessage":
		if !f.got429 {
			f.got429 = true
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 429,
				"description": "Too Many Requests: retry after 1", "parameters": map[string]any{"retry_after": 1}})
			return
		}
		if r.FormValue("chat_id") != "1001" {
			http.Error(w, "wrong chat", http.StatusBadRequest)
			return
		}
		f.sent = append(f.sent, r.FormValue("text"))
		ok(map[string]any{"message_id": 78, "date": time.Now().Unix(), "chat": map[string]any{"id": 1001, "type": "private"}, "text": r.FormValue("text")})
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 404, "description": "Not Found: method not found"})
	}
}

func (f *fakeBotAPI) snapshot() (sent []string, updates int, offsets []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...), f.updates, append([]int64(nil), f.offsets...)
}

// A staff member's "98765 43210" in Telegram becomes exactly one queue row
// for +919876543210 and one reply naming its id; a restarted bot does not
// handle that update again.
func TestTelegramIntakeEndToEnd(t *testing.T) {
	t.Parallel()
	fake := &fakeBotAPI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dataDir := t.TempDir()
	getenv := env(t, "MB_DATA_DIR", dataDir, "MB_TELEGRAM_TOKEN", fakeToken, "MB_TELEGRAM_API_ENDPOINT", srv.URL)

	// The sender is staff.
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{})
	if _, err := db.PutOperator(context.Background(), "telegram:1001", store.RoleStaff, "Ravi", "test"); err != nil {
		t.Fatal(err)
	}

	stop, logs := serveUntilStarted(t, getenv)
	deadline := time.Now().Add(15 * time.Second)
	var sent []string
	for len(sent) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		sent, _, _ = fake.snapshot()
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	items, err := db.RecentQueueItems(context.Background(), store.RecentFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Phone != "+919876543210" || items[0].CreatedBy != "telegram:1001" {
		t.Fatalf("queue rows: %+v", items)
	}
	want := "Queued #" + strconv.FormatInt(items[0].ID, 10) + " for +919876543210 via dryrun."
	if len(sent) != 1 || sent[0] != want {
		t.Log(logs.String())
		t.Fatalf("replies %q, want exactly [%q]", sent, want)
	}
	if strings.Contains(logs.String(), fakeToken) {
		t.Fatal("the bot token appears in the log")
	}

	// While it was being handled, update 500 was asked for again (polls
	// never confirm an update in flight) and skipped. Restart: the saved
	// cursor keeps it from being asked for, let alone handled, again.
	_, handedOut, _ := fake.snapshot()
	stop, _ = serveUntilStarted(t, getenv)
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, _, offsets := fake.snapshot()
		if len(offsets) > 0 && offsets[len(offsets)-1] == 501 && time.Now().After(deadline.Add(-8*time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted bot never polled from offset 501: %v", offsets)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("restarted serve exited %d", code)
	}
	sent, updates, _ := fake.snapshot()
	if updates != handedOut || len(sent) != 1 {
		t.Fatalf("after restart: update handed out %d more times, %d replies; want 0 and 1", updates-handedOut, len(sent))
	}
	if items, _ := db.RecentQueueItems(context.Background(), store.RecentFilter{Limit: 10}); len(items) != 1 {
		t.Fatalf("after restart: %d queue rows, want 1", len(items))
	}
}
