package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// A token planted in a provider's error response appears in no stored
// error, no log line and no chat reply: the whole path, from the Meta
// gateway through the queue to /failed in the chat.
func TestProviderErrorsDoNotLeakTokens(t *testing.T) {
	t.Parallel()
	const token = "EAAGm0PX4ZCpsBAKZBplantedsecrettoken9876543210"
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message":    "(#100) Invalid parameter: token " + token + " in https://graph.facebook.com/v23.0/me?access_token=" + token,
			"type":       "OAuthException",
			"code":       100,
			"fbtrace_id": "AbCdEf",
		}})
	}))
	defer fake.Close()

	dataDir := t.TempDir()
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{})
	ctx := context.Background()
	if err := db.PutSetting(ctx, "gateway.active", "meta", false, "test"); err != nil {
		t.Fatal(err)
	}
	customerWrote(t, db, "+919876543210")
	getenv := env(t, "MB_DATA_DIR", dataDir, "MB_META_ACCESS_TOKEN", token, "MB_META_PHONE_NUMBER_ID", "1234567890",
		"MB_META_BASE_URL", fake.URL, "MB_LOG_LEVEL", "debug")

	inR, inW := io.Pipe()
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), []string{"chat"}, getenv, inR, out, logs) }()
	fmt.Fprintln(inW, "98765 43210")
	deadline := time.Now().Add(20 * time.Second)
	var item store.QueueItem
	for {
		items, err := db.RecentQueueItems(ctx, store.RecentFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 1 && items[0].Status == store.StatusFailed {
			item = items[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the item did not fail within 20s: %+v\nlogs:\n%s", items, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintln(inW, "/failed")
	for !strings.Contains(out.String(), "Latest 1 failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no /failed reply:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(inW, "/quit")
	<-done

	if !strings.Contains(item.LastError, "100") {
		t.Errorf("stored error lost the provider code: %q", item.LastError)
	}
	for name, text := range map[string]string{"stored error": item.LastError, "log": logs.String(), "chat reply": out.String()} {
		if strings.Contains(text, token) || strings.Contains(text, "plantedsecret") {
			t.Errorf("the token appears in the %s:\n%s", name, text)
		}
	}
	evs, err := db.QueueItemEvents(ctx, item.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if strings.Contains(e.Detail, "plantedsecret") {
			t.Errorf("the token appears in the item's history: %q", e.Detail)
		}
	}
}
