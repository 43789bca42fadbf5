package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/secretbox"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// customerWrote records, on db, that each customer (E.164) just wrote to
// the business on WhatsApp through Meta, as Meta's webhook would have it
// stored: it opens their 24-hour customer-service window, so a staff
// member's free-form message to them may be sent. Tests about something
// else than the window call it before queueing such a message.
func customerWrote(t testing.TB, db *store.DB, phones ...string) {
	t.Helper()
	for _, phone := range phones {
		m := store.InboundMessage{Gateway: "meta", Phone: phone, Kind: store.InboundText, Body: "Hello",
			ProviderMessageID: fmt.Sprintf("wamid.test.%s.%d", strings.TrimPrefix(phone, "+"), time.Now().UnixNano())}
		if _, first, err := db.RecordInbound(context.Background(), m); err != nil || !first {
			t.Fatalf("record that %s wrote: first=%v err=%v", phone, first, err)
		}
	}
}

// e2eMetaSend is one POST /{version}/{phone-number-id}/messages the fake
// Cloud API received.
type e2eMetaSend struct {
	token string    // the Authorization bearer token
	to    string    // the body's "to"
	wamid string    // the message id it answered with
	at    time.Time // when it arrived
}

// e2eFakeMeta speaks the Cloud API's messages endpoint (providers.md §1.2):
// it records each send when it arrives (from then on Meta would deliver
// it, whatever happens to the answer) and answers like the real API, after
// delay() when delay is set.
type e2eFakeMeta struct {
	phoneNumberID string
	delay         func() time.Duration

	inFlight atomic.Int64
	mu       sync.Mutex
	sends    []e2eMetaSend
}

var e2eMessagesPath = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/([0-9]+)/messages$`)

func (f *e2eFakeMeta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	graphError := func(status, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
			"message": msg, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfFake"}})
	}
	m := e2eMessagesPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPost || m == nil || m[1] != f.phoneNumberID {
		graphError(http.StatusBadRequest, 100, "Unsupported request")
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		graphError(http.StatusUnauthorized, 190, "Invalid OAuth access token")
		return
	}
	var body struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.MessagingProduct != "whatsapp" || body.To == "" {
		graphError(http.StatusBadRequest, 100, "(#100) Invalid parameter")
		return
	}
	f.mu.Lock()
	wamid := fmt.Sprintf("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFAKE%06d", len(f.sends)+1)
	f.sends = append(f.sends, e2eMetaSend{token: token, to: body.To, wamid: wamid, at: time.Now()})
	f.mu.Unlock()
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	if f.delay != nil {
		if d := f.delay(); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []any{map[string]any{"input": body.To, "wa_id": strings.TrimPrefix(body.To, "+")}},
		"messages":          []any{map[string]any{"id": wamid, "message_status": "accepted"}},
	})
}

func (f *e2eFakeMeta) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sends)
}

func (f *e2eFakeMeta) snapshot() []e2eMetaSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]e2eMetaSend(nil), f.sends...)
}

// e2eChat is a running `messagebridge chat` with a pipe for its stdin.
type e2eChat struct {
	t     *testing.T
	in    *io.PipeWriter
	out   *syncBuffer
	logs  *syncBuffer
	done  chan int
	ended bool
}

func startE2EChat(t *testing.T, getenv func(string) string) *e2eChat {
	t.Helper()
	inR, inW := io.Pipe()
	c := &e2eChat{t: t, in: inW, out: &syncBuffer{}, logs: &syncBuffer{}, done: make(chan int, 1)}
	go func() { c.done <- run(context.Background(), []string{"chat"}, getenv, inR, c.out, c.logs) }()
	t.Cleanup(func() {
		if !c.ended { // a failed test: do not leave the process running
			_ = inW.Close()
			select {
			case <-c.done:
			case <-time.After(15 * time.Second):
			}
		}
	})
	c.waitOut("> ")
	return c
}

func (c *e2eChat) say(line string) {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.in, line); err != nil {
		c.t.Fatalf("typing %q: %v", line, err)
	}
}

func (c *e2eChat) waitOut(what string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.out.String(), what) {
		select {
		case code := <-c.done:
			c.ended = true
			c.t.Fatalf("chat exited %d while waiting for %q:\n%s\nlogs:\n%s", code, what, c.out, c.logs)
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %q in the chat within 20s:\n%s\nlogs:\n%s", what, c.out, c.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quit types /quit and returns the exit status.
func (c *e2eChat) quit() int {
	c.t.Helper()
	c.say("/quit")
	select {
	case code := <-c.done:
		c.ended = true
		return code
	case <-time.After(20 * time.Second):
		c.t.Fatalf("chat did not exit within 20s of /quit:\n%s", c.logs)
		return -1
	}
}

// waitMetaSend waits until the fake got a send to `to`, and returns it.
func waitMetaSend(t *testing.T, fake *e2eFakeMeta, to string, c *e2eChat) e2eMetaSend {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, s := range fake.snapshot() {
			if s.to == to {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fake Cloud API got no send to %s within 20s; sends %+v\nchat:\n%s\nlogs:\n%s", to, fake.snapshot(), c.out, c.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	e2eTokenA = "EAAGtokenAAAA0123456789abcdefghijklmnopqrstuv"
	e2eTokenB = "EAAGtokenBBBB0123456789abcdefghijklmnopqrstuv"
	e2eTokenC = "EAAGtokenCCCC0123456789abcdefghijklmnopqrstuv"
	e2ePNID   = "106540352242922"
)

// e2eMetaRig is a data dir and a fake Cloud API shared by the starts of
// one test.
type e2eMetaRig struct {
	t       *testing.T
	dataDir string
	fake    *e2eFakeMeta
	url     string
	seen    int // sends checked so far
	// db is the data dir's database, where the customers write.
	db *store.DB
}

func newE2EMetaRig(t *testing.T) *e2eMetaRig {
	fake := &e2eFakeMeta{phoneNumberID: e2ePNID}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dataDir := t.TempDir()
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{})
	return &e2eMetaRig{t: t, dataDir: dataDir, fake: fake, url: srv.URL, db: db}
}

// start has the customer at phone write to the business, runs `chat` on
// the Meta gateway with MB_META_ACCESS_TOKEN=token, types phone, waits for "Queued #<n>" and for the fake to get the send,
// quits, and checks the exit status, that every send of this start used
// want, and that no token appears in the log or the chat. It returns the
// log.
func (r *e2eMetaRig) start(phase, token, phone string, n int, want string) string {
	t := r.t
	t.Helper()
	e164 := "+91" + strings.ReplaceAll(phone, " ", "")
	customerWrote(t, r.db, e164)
	c := startE2EChat(t, env(t, "MB_DATA_DIR", r.dataDir, "MB_GATEWAY", "meta", "MB_META_ACCESS_TOKEN", token,
		"MB_META_PHONE_NUMBER_ID", e2ePNID, "MB_META_BASE_URL", r.url, "MB_LOG_LEVEL", "debug"))
	c.say(phone)
	c.waitOut(fmt.Sprintf("bot: Queued #%d for %s via meta.", n, e164))
	if s := waitMetaSend(t, r.fake, strings.TrimPrefix(e164, "+"), c); s.token != want {
		t.Errorf("%s: the send used %s, want %s\nlogs:\n%s", phase, e2eTokenName(s.token), e2eTokenName(want), c.logs)
	}
	if code := c.quit(); code != 0 {
		t.Fatalf("%s: chat exited %d:\n%s", phase, code, c.logs)
	}
	sends := r.fake.snapshot()
	for _, s := range sends[r.seen:] {
		if s.token != want {
			t.Errorf("%s: a send to %s used %s, want %s", phase, s.to, e2eTokenName(s.token), e2eTokenName(want))
		}
	}
	r.seen = len(sends)
	for name, text := range map[string]string{"log": c.logs.String(), "chat output": c.out.String()} {
		for _, tok := range []string{e2eTokenA, e2eTokenB, e2eTokenC, "tokenAAAA", "tokenBBBB", "tokenCCCC"} {
			if strings.Contains(text, tok) {
				t.Errorf("%s: the %s holds %s:\n%s", phase, name, e2eTokenName(tok), text)
			}
		}
	}
	return c.logs.String()
}

// e2eTokenName names a token without showing it in full.
func e2eTokenName(tok string) string {
	switch {
	case strings.Contains(tok, "tokenAAAA"):
		return "tokenA"
	case strings.Contains(tok, "tokenBBBB"):
		return "tokenB"
	case strings.Contains(tok, "tokenCCCC"):
		return "tokenC"
	}
	return fmt.Sprintf("an unknown token (%d chars)", len(tok))
}

// A token rotated by changing MB_META_ACCESS_TOKEN is what the Meta
// gateway sends with after a restart, and nobody is said to have changed
// it. No token appears in any log line or chat output.
func TestRotatedCredentialIsUsedAfterRestart(t *testing.T) {
	t.Parallel()
	r := newE2EMetaRig(t)
	r.start("first start", e2eTokenA, "98765 43210", 1, e2eTokenA)
	logs := r.start("restart with MB_META_ACCESS_TOKEN rotated", e2eTokenB, "98765 43211", 2, e2eTokenB)
	if strings.Contains(logs, "an admin changed") || strings.Contains(logs, "changed_by=") {
		t.Errorf("a rotated variable is logged as an admin's change:\n%s", logs)
	}
}

// An admin's change of the token (made on the admin page: secrets cannot
// be set from a chat) wins over MB_META_ACCESS_TOKEN at the next restart,
// and the start-up log names the admin, when, and the variable ignored.
func TestAdminChangeSurvivesRestart(t *testing.T) {
	t.Parallel()
	r := newE2EMetaRig(t)
	r.start("first start", e2eTokenA, "98765 43210", 1, e2eTokenA)

	// The admin page's write: sealed with the data dir's key, by web:owner.
	key, created, err := secretbox.LoadOrCreateKeyFile(filepath.Join(r.dataDir, keyFileName))
	if err != nil || created {
		t.Fatalf("secret key file: created=%v err=%v", created, err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Open(t, store.Config{DataDir: r.dataDir}, storetest.Options{NoMigrate: true, Secrets: box})
	if err := db.PutSetting(context.Background(), "meta.access_token", e2eTokenC, true, "web:owner"); err != nil {
		t.Fatal(err)
	}

	// Restarts with the variable rotated to tokenB: the admin's token is
	// used, every time.
	for i, phone := range []string{"98765 43211", "98765 43212"} {
		phase := fmt.Sprintf("restart %d after the admin's change", i+1)
		logs := r.start(phase, e2eTokenB, phone, i+2, e2eTokenC)
		var warning string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "setting=meta.access_token") && strings.Contains(l, "admin") {
				warning = l
			}
		}
		if !strings.Contains(warning, "changed_by=web:owner") || !strings.Contains(warning, "env=MB_META_ACCESS_TOKEN") || !strings.Contains(warning, "changed_at=") {
			t.Errorf("%s: no log line naming web:owner, when, and MB_META_ACCESS_TOKEN for meta.access_token; got %q in:\n%s", phase, warning, logs)
		}
	}
	if s, err := db.Setting(context.Background(), "meta.access_token"); err != nil || s.UpdatedBy != "web:owner" || s.Value != e2eTokenC {
		t.Errorf("after the restarts the setting is by %q holding %s, err %v; want web:owner's tokenC", s.UpdatedBy, e2eTokenName(s.Value), err)
	}
}
