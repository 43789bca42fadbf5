package main

import (
	"context"
	"encoding/json"
	"io"
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

// noticeBotAPI is a Bot API with one staff message, "98765 43210" from
// user 1001, that records what the bot sends.
type noticeBotAPI struct {
	mu     sync.Mutex
	handed bool
	sent   []string // "chat_id: text"
}

func (f *noticeBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + fakeToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseMultipartForm(1 << 20)
	ok := func(result any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch strings.TrimPrefix(r.URL.Path, prefix) {
	case "getMe":
		ok(map[string]any{"id": 123456, "is_bot": true, "first_name": "Shop Bot", "username": "shop_bot"})
	case "getUpdates":
		offset, _ := strconv.ParseInt(r.FormValue("offset"), 10, 64)
		if offset > 500 || f.handed {
			f.mu.Unlock()
			time.Sleep(50 * time.Millisecond)
			f.mu.Lock()
			ok([]any{})
			return
		}
		f.handed = true
		ok([]any{map[string]any{"update_id": 500, "message": map[string]any{
			"message_id": 77, "date": time.Now().Unix(), "text": "98765 43210",
			"chat": map[string]any{"id": 1001, "type": "private"},
			"from": map[string]any{"id": 1001, "is_bot": false, "first_name": "Ravi"}}}})
	case "sendMessage":
		f.sent = append(f.sent, r.FormValue("chat_id")+": "+r.FormValue("text"))
		ok(map[string]any{"message_id": 78, "date": time.Now().Unix(), "chat": map[string]any{"id": 1001, "type": "private"}})
	default:
		http.NotFound(w, r)
	}
}

func (f *noticeBotAPI) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// undeliverableGraph is a Cloud API that answers every send with Meta's
// 131026, "Message undeliverable": a permanent failure.
type undeliverableGraph struct{}

func (undeliverableGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"error":{"message":"(#131026) Message undeliverable","type":"OAuthException","code":131026,"fbtrace_id":"AbCdFake"}}`)
}

// A staff member who queues a number from Telegram that WhatsApp cannot
// deliver to is told so in their chat, in plain words with the fix, once.
func TestStaffToldWhenTheirMessageFails(t *testing.T) {
	t.Parallel()
	tg := &noticeBotAPI{}
	tgSrv := httptest.NewServer(tg)
	defer tgSrv.Close()
	graph := httptest.NewServer(undeliverableGraph{})
	defer graph.Close()
	dataDir := t.TempDir()
	getenv := env(t, "MB_DATA_DIR", dataDir, "MB_TELEGRAM_TOKEN", fakeToken, "MB_TELEGRAM_API_ENDPOINT", tgSrv.URL,
		"MB_GATEWAY", "meta", "MB_META_ACCESS_TOKEN", "EAAGfaketoken", "MB_META_PHONE_NUMBER_ID", "1234567890", "MB_META_BASE_URL", graph.URL)
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{})
	if _, err := db.PutOperator(context.Background(), "telegram:1001", store.RoleStaff, "Ravi", "test"); err != nil {
		t.Fatal(err)
	}
	stop, logs := serveUntilStarted(t, getenv)
	deadline := time.Now().Add(20 * time.Second)
	var notices []string
	for len(notices) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		for _, m := range tg.messages() {
			if strings.Contains(m, "could not be sent") {
				notices = append(notices, m)
			}
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	items, err := db.RecentQueueItems(context.Background(), store.RecentFilter{Limit: 10})
	if err != nil || len(items) != 1 || items[0].Status != store.StatusFailed {
		t.Fatalf("queue: %+v, %v", items, err)
	}
	id := strconv.FormatInt(items[0].ID, 10)
	if len(notices) != 1 {
		t.Log(logs.String())
		t.Fatalf("notices %q (all sent: %q), want one", notices, tg.messages())
	}
	for _, want := range []string{"1001: ⚠ Your message #" + id + " to +919876543210 could not be sent.",
		"cannot receive WhatsApp messages", "ask an operator", "/edit " + id + " <phone>", "/retry " + id} {
		if !strings.Contains(notices[0], want) {
			t.Errorf("notice lacks %q:\n%s", want, notices[0])
		}
	}
	if strings.Contains(notices[0], "131026") || strings.Contains(notices[0], "undeliverable") {
		t.Errorf("the staff notice shows the provider's text:\n%s", notices[0])
	}
	ns, err := db.StaffNotices(context.Background(), items[0].ID)
	if err != nil || len(ns) != 1 || ns[0].State != store.NoticeSent {
		t.Fatalf("notice rows: %+v, %v", ns, err)
	}
}
