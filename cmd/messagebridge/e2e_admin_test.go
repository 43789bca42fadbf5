package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
)

const (
	rigAdmin    = "asha"
	rigPassword = "correct horse battery"
)

// adminRig is a whole MessageBridge running in the test process: every
// service, and the HTTP server with the admin page, and one admin account.
type adminRig struct {
	m    *Main
	url  string
	logs *syncBuffer
}

func startAdminRig(t *testing.T, getenv func(string) string) *adminRig {
	t.Helper()
	cfg, err := parseConfig("messagebridge serve", nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	m, err := Open(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	m.addHTTP(ln)
	m.addTransports()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		_ = m.Close()
	})
	if _, err := m.ops.CreateAdmin(ctx, cliActor(), rigAdmin, rigPassword); err != nil {
		t.Fatal(err)
	}
	return &adminRig{m: m, url: "http://" + ln.Addr().String(), logs: logs}
}

// browser is a signed-in client that sends what a browser sends with the
// page's own forms.
func (r *adminRig) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code := r.post(t, c, "/admin/login", url.Values{"username": {rigAdmin}, "password": {rigPassword}}); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	return c
}

func (r *adminRig) post(t *testing.T, c *http.Client, path string, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// failingGraph is a Cloud API that answers every send with Meta's
// transient "Something went wrong" (code 131000, HTTP 500).
type failingGraph struct{}

func (failingGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, `{"error":{"message":"(#131000) Something went wrong","type":"OAuthException","code":131000,"error_data":{"messaging_product":"whatsapp","details":"Something went wrong"},"fbtrace_id":"AbCdFake"}}`)
}

func waitItem(t *testing.T, m *Main, id int64, what string, ok func(ops.QueueItem) bool) ops.QueueItem {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		it, err := m.ops.QueueItem(context.Background(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if err == nil && ok(it) {
			return it
		}
		if time.Now().After(deadline) {
			t.Fatalf("message #%d never %s: %+v", id, what, it)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Changing max attempts on the admin page reaches the running delivery
// loop at once: a message already retrying stops at the new, lower limit,
// and new messages get it, with no restart.
func TestMaxAttemptsFromThePageReachesTheRunningLoop(t *testing.T) {
	t.Parallel()
	fake := httptest.NewServer(failingGraph{})
	defer fake.Close()
	r := startAdminRig(t, env(t, "MB_GATEWAY", "meta", "MB_META_BASE_URL", fake.URL, "MB_META_ACCESS_TOKEN", "EAAtest-token-0000",
		"MB_META_PHONE_NUMBER_ID", "106540352242922", "MB_RECIPIENT_SPACING", "0s", "MB_META_RATE_PER_SECOND", "50"))
	c := r.browser(t)
	if code := r.post(t, c, "/admin/settings", url.Values{"s:queue.retry_base": {"1s"}, "s:queue.retry_max_delay": {"1s"}, "s:queue.max_attempts": {"6"}}); code != http.StatusSeeOther {
		t.Fatalf("settings: %d", code)
	}
	ctx := context.Background()
	staff := ops.Actor{Identity: "console:till1", Role: ops.RoleStaff, Transport: "console"}
	customerWrote(t, r.m.db, "+919876543210", "+919876543211")
	res, err := r.m.ops.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"98765 43210"}})
	if err != nil || len(res.Queued) != 1 {
		t.Fatalf("intake: %+v %v", res, err)
	}
	id := res.Queued[0].ID
	first := waitItem(t, r.m, id, "failed once", func(it ops.QueueItem) bool { return it.Attempts >= 1 })
	if first.MaxAttempts != 6 {
		t.Fatalf("the message was queued with %d attempts, the page said 6", first.MaxAttempts)
	}
	// Lower it while the message is retrying.
	if code := r.post(t, c, "/admin/settings", url.Values{"s:queue.max_attempts": {"2"}}); code != http.StatusSeeOther {
		t.Fatalf("settings: %d", code)
	}
	done := waitItem(t, r.m, id, "failed", func(it ops.QueueItem) bool { return it.Status == ops.StatusFailed })
	if done.Attempts > 2 {
		t.Fatalf("the message was tried %d times after max attempts went down to 2", done.Attempts)
	}
	if !strings.Contains(done.LastError, "gave up after") {
		t.Fatalf("last error %q does not say it gave up", done.LastError)
	}
	// New messages get the new limit too.
	res, err = r.m.ops.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"98765 43211"}})
	if err != nil || len(res.Queued) != 1 {
		t.Fatalf("intake: %+v %v", res, err)
	}
	if it, _ := r.m.ops.QueueItem(ctx, res.Queued[0].ID); it.MaxAttempts != 2 {
		t.Fatalf("a new message has %d attempts, want 2", it.MaxAttempts)
	}
	waitItem(t, r.m, res.Queued[0].ID, "failed", func(it ops.QueueItem) bool { return it.Status == ops.StatusFailed && it.Attempts == 2 })
}

// tokenBotAPI is a Telegram Bot API that answers any token and counts
// the calls made with each.
type tokenBotAPI struct {
	mu    sync.Mutex
	calls map[string]int
}

func (f *tokenBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.calls[token]++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "getMe":
		_, _ = io.WriteString(w, `{"ok":true,"result":{"id":7000001,"is_bot":true,"first_name":"Shop bot","username":"shop_bot"}}`)
	case "getUpdates":
		select {
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, `{"ok":true,"result":[]}`)
	default:
		_, _ = io.WriteString(w, `{"ok":true,"result":true}`)
	}
}

func (f *tokenBotAPI) count(token string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[token]
}

// The Telegram token is a setting like the others: typed on the page, the
// chat starts without a restart; changed, it reconnects with the new one.
func TestTelegramTokenFromThePage(t *testing.T) {
	t.Parallel()
	api := &tokenBotAPI{calls: map[string]int{}}
	fake := httptest.NewServer(api)
	defer fake.Close()
	r := startAdminRig(t, env(t, "MB_TELEGRAM_API_ENDPOINT", fake.URL))
	c := r.browser(t)
	const first, second = "111111:AAFirstTokenForTheAdminPage0000001", "222222:AASecondTokenForTheAdminPage000002"
	waitCalls := func(token string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for api.count(token) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the Telegram chat never called the Bot API with the token set on the page\n%s", r.logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code := r.post(t, c, "/admin/settings", url.Values{"s:telegram.token": {first}}); code != http.StatusSeeOther {
		t.Fatalf("settings: %d", code)
	}
	waitCalls(first)
	if code := r.post(t, c, "/admin/settings", url.Values{"s:telegram.token": {second}}); code != http.StatusSeeOther {
		t.Fatalf("settings: %d", code)
	}
	waitCalls(second)
	before := api.count(first)
	time.Sleep(time.Second)
	if api.count(first) != before {
		t.Fatal("the old token is still polled after the change")
	}
	if strings.Contains(r.logs.String(), first) || strings.Contains(r.logs.String(), second) {
		t.Fatal("a token reached the log")
	}
}
