package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

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
	tg := &scriptedBotAPI{}
	tg.say("98765 43210")
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
	customerWrote(t, db, "+919876543210")
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
