package telegram_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/messagebridge/messagebridge/bot/telegram"
)

// TestNotifierSendsToTheUser: a notice goes to the user's private chat
// with sendMessage, with the token in force at the time; without a token
// the notifier is not ready, and errors never show the token.
func TestNotifierSendsToTheUser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, r.URL.Path+" chat="+r.PostForm.Get("chat_id")+" text="+r.PostForm.Get("text"))
		code := status
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code != http.StatusOK {
			_, _ = w.Write([]byte(`{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true,"result":{"message_id":7,"date":0,"chat":{"id":42,"type":"private"}}}`))
	}))
	defer srv.Close()

	token := ""
	n := telegram.NewNotifier(telegram.NotifierConfig{Token: func() string { return token }, APIEndpoint: srv.URL})
	if n.Ready() {
		t.Fatal("ready without a token")
	}
	token = "123456:SECRET-token"
	if !n.Ready() {
		t.Fatal("not ready with a token")
	}
	if err := n.Notify(context.Background(), "42", "⚠ Your message #6 could not be sent."); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "/bot123456:SECRET-token/sendMessage chat=42 text=⚠ Your message #6 could not be sent." {
		t.Fatalf("requests: %q", got)
	}
	mu.Lock()
	status = http.StatusForbidden
	mu.Unlock()
	err := n.Notify(context.Background(), "42", "again")
	if err == nil || !strings.Contains(err.Error(), "blocked by the user") || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("refused notice: %v", err)
	}
	if err := n.Notify(context.Background(), "abc", "x"); err == nil {
		t.Fatal("a user id that is not a number was accepted")
	}
}
