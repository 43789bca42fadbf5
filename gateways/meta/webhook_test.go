package meta_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

const (
	testAppSecret   = "app-secret-for-tests"
	testVerifyToken = "verify-token-for-tests"
	webhookSchema   = "#/components/schemas/WebhookPayload"
)

func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// statusPayload is a status webhook as in §1.6; errs is the raw errors
// array ("" for none).
func statusPayload(wamid, status string, ts int64, errs string) []byte {
	extra := `,"pricing":{"billable":true,"pricing_model":"PMP","category":"utility"}`
	if errs != "" {
		extra = `,"errors":` + errs
	}
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{`+
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},`+
		`"statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"919876543210"%s}]}}]}]}`,
		testPNID, wamid, status, ts, extra)
}

const undeliverable = `[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable",` +
	`"error_data":{"details":"Message Undeliverable."},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]`

// inboundPayload is an inbound text message: no statuses.
var inboundPayload = []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` +
	`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},` +
	`"contacts":[{"profile":{"name":"Asha"},"wa_id":"919876543210"}],` +
	`"messages":[{"from":"919876543210","id":"wamid.IN1","timestamp":"1750263773","type":"text","text":{"body":"hi"}}]}}]}]}`)

// memSink records receipts; it is not idempotent, so a second apply of one
// event would show.
type memSink struct {
	mu       sync.Mutex
	receipts []store.Receipt
	err      error
}

func (s *memSink) ApplyReceipt(_ context.Context, r store.Receipt) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false, s.err
	}
	s.receipts = append(s.receipts, r)
	return true, nil
}

func (s *memSink) got() []store.Receipt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Receipt(nil), s.receipts...)
}

type memEvents struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (e *memEvents) ForgetWebhookEvent(_ context.Context, provider, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.seen, provider+"/"+id)
	return nil
}

func (e *memEvents) MarkWebhookEvent(_ context.Context, provider, id string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	k := provider + "/" + id
	if e.seen[k] {
		return false, nil
	}
	e.seen[k] = true
	return true, nil
}

func (e *memEvents) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seen)
}

func webhookClient(logger *slog.Logger) *meta.Client {
	return meta.New(meta.Options{Logger: logger, Credentials: func(context.Context) (meta.Credentials, error) {
		return meta.Credentials{AccessToken: testToken, PhoneNumberID: testPNID, AppSecret: testAppSecret, VerifyToken: testVerifyToken}, nil
	}})
}

func post(h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/meta", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(meta.SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The status fixtures are shaped like Meta's: they validate against the
// spec's WebhookPayload schema. (The inbound fixture cannot: the spec's
// IncomingMessage reuses the outbound message schemas, which require
// messaging_product and "to" that inbound messages do not carry.)
func TestWebhookFixturesMatchSpec(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	for name, b := range map[string][]byte{
		"delivered": statusPayload("wamid.X", "delivered", 1750263773, ""),
		"failed":    statusPayload("wamid.X", "failed", 1750263773, undeliverable),
	} {
		if err := s.validate(t, webhookSchema, b); err != nil {
			t.Errorf("%s fixture: %v", name, err)
		}
	}
}

// GET answers the subscription handshake only with the right token.
func TestWebhookHandshake(t *testing.T) {
	t.Parallel()
	h := webhookClient(nil).WebhookHandler(&memSink{}, &memEvents{}, nil)
	get := func(q url.Values) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/meta?"+q.Encode(), nil))
		return rec
	}
	rec := get(url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken}, "hub.challenge": {"1158201444"}})
	if rec.Code != http.StatusOK || rec.Body.String() != "1158201444" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("right token: %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
	}
	for name, q := range map[string]url.Values{
		"wrong token":  {"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1"}},
		"token prefix": {"hub.mode": {"subscribe"}, "hub.verify_token": {testVerifyToken[:5]}, "hub.challenge": {"1"}},
		"no token":     {"hub.mode": {"subscribe"}, "hub.challenge": {"1"}},
		"wrong mode":   {"hub.mode": {"unsubscribe"}, "hub.verify_token": {testVerifyToken}, "hub.challenge": {"1"}},
	} {
		if rec := get(q); rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "1") {
			t.Errorf("%s: %d %q", name, rec.Code, rec.Body.String())
		}
	}
	// No verify token configured: nothing matches, not even an empty one.
	empty := meta.New(meta.Options{Credentials: func(context.Context) (meta.Credentials, error) { return meta.Credentials{}, nil }})
	rec = httptest.NewRecorder()
	empty.WebhookHandler(nil, nil, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhooks/meta?hub.mode=subscribe&hub.verify_token=&hub.challenge=1", nil))
	if rec.Code != http.StatusForbidden {
		t.Errorf("empty configured token: %d", rec.Code)
	}
}

// A validly signed status is applied; tampered, mis-signed and unsigned
// posts get 401 and touch nothing.
func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	sink, events := &memSink{}, &memEvents{}
	h := webhookClient(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))).WebhookHandler(sink, events, nil)
	body := statusPayload("wamid.X", "delivered", 1750263773, "")

	tampered := bytes.Replace(body, []byte("delivered"), []byte("read"), 1)
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"tampered body": post(h, tampered, sign(body, testAppSecret)),
		"wrong secret":  post(h, body, sign(body, "not-the-secret")),
		"missing":       post(h, body, ""),
		"not hex":       post(h, body, "sha256=zz"+sign(body, testAppSecret)[9:]),
		"sha1 prefix":   post(h, body, "sha1="+sign(body, testAppSecret)[7:]),
		"bare hex":      post(h, body, sign(body, testAppSecret)[7:]),
	} {
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, rec.Code)
		}
	}
	if n := len(sink.got()); n != 0 || events.count() != 0 {
		t.Fatalf("refused posts recorded %d receipts, %d events", n, events.count())
	}

	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
		t.Fatalf("signed: %d", rec.Code)
	}
	got := sink.got()
	want := store.Receipt{Gateway: meta.Name, ProviderMessageID: "wamid.X", Status: store.StatusDelivered, At: time.Unix(1750263773, 0).UTC()}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("receipts = %+v, want %+v", got, want)
	}
	for _, secret := range []string{testAppSecret, testVerifyToken, testToken} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("logs contain a secret:\n%s", logs.String())
		}
	}

	// A replay of the same event changes nothing.
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
		t.Fatalf("replay: %d", rec.Code)
	}
	if n := len(sink.got()); n != 1 {
		t.Fatalf("replay applied again: %d receipts", n)
	}

	// "sent" and inbound messages are answered 200 and change nothing.
	for name, b := range map[string][]byte{"sent": statusPayload("wamid.X", "sent", 1750263700, ""), "inbound": inboundPayload,
		"empty": []byte(`{}`), "not json": []byte(`nope`)} {
		if rec := post(h, b, sign(b, testAppSecret)); rec.Code != http.StatusOK {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	if n := len(sink.got()); n != 1 {
		t.Fatalf("sent/inbound applied receipts: %d", n)
	}

	// Failed statuses carry the provider's reason, sanitized.
	failed := statusPayload("wamid.Y", "failed", 1750263800, undeliverable)
	if rec := post(h, failed, sign(failed, testAppSecret)); rec.Code != http.StatusOK {
		t.Fatalf("failed: %d", rec.Code)
	}
	got = sink.got()
	if len(got) != 2 || got[1].Status != store.StatusFailed || got[1].Error != "meta: Message undeliverable (code 131026)" {
		t.Fatalf("failed receipt = %+v", got[len(got)-1])
	}
}

// A store error answers 500 so Meta delivers again; a huge body is refused.
func TestWebhookStoreErrorAndLimits(t *testing.T) {
	t.Parallel()
	sink := &memSink{err: errors.New("database is locked")}
	h := webhookClient(nil).WebhookHandler(sink, nil, nil)
	body := statusPayload("wamid.X", "read", 1750263773, "")
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("store error: %d", rec.Code)
	}
	big := append([]byte(`{"object":"whatsapp_business_account","pad":"`), bytes.Repeat([]byte("a"), meta.MaxWebhookBody)...)
	big = append(big, `"}`...)
	if rec := post(h, big, sign(big, testAppSecret)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge body: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/webhooks/meta", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", rec.Code)
	}
}

// A status whose receipt could not be stored is not marked as seen: Meta's
// redelivery after the 500 is applied.
func TestWebhookRedeliveryAfterStoreError(t *testing.T) {
	t.Parallel()
	sink, events := &memSink{err: errors.New("database is locked")}, &memEvents{}
	h := webhookClient(nil).WebhookHandler(sink, events, nil)
	body := statusPayload("wamid.R", "delivered", 1750263773, "")
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("store error: %d", rec.Code)
	}
	sink.mu.Lock()
	sink.err = nil
	sink.mu.Unlock()
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
		t.Fatalf("redelivery: %d", rec.Code)
	}
	if got := sink.got(); len(got) != 1 || got[0].ProviderMessageID != "wamid.R" {
		t.Fatalf("receipts after redelivery: %+v", got)
	}
}

// Against the real store: statuses move sent items forward, "read" before
// "delivered" ends as read, replays change nothing, unknown ids are
// ignored, and a failed status with 131026 fails the item with Meta's
// reason.
func TestWebhookWithStore(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	ctx := context.Background()
	ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{
		{Phone: "+919876543210", MaxAttempts: 3, CreatedBy: "test", Content: store.QueueContent{Kind: store.ContentText, Body: "Order ready"}},
		{Phone: "+919876543211", MaxAttempts: 3, CreatedBy: "test", Content: store.QueueContent{Kind: store.ContentText, Body: "Order ready"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 2, Owner: "test", Token: "tok"})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %d items, %v", len(claimed), err)
	}
	wamid := map[int64]string{ids[0]: "wamid.X", ids[1]: "wamid.Y"}
	var outs []store.Outcome
	for _, it := range claimed {
		outs = append(outs, store.Outcome{ID: it.ID, Token: "tok", Status: store.StatusSent, ProviderMessageID: wamid[it.ID], Gateway: meta.Name})
	}
	if applied, err := db.CompleteQueueItems(ctx, outs); err != nil || !applied[0] || !applied[1] {
		t.Fatalf("complete: %v %v", applied, err)
	}
	h := webhookClient(nil).WebhookHandler(db, db, nil)
	send := func(b []byte) {
		t.Helper()
		if rec := post(h, b, sign(b, testAppSecret)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: %d %s", rec.Code, rec.Body.String())
		}
	}
	item := func(id int64) store.QueueItem {
		t.Helper()
		it, err := db.QueueItem(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}

	read := statusPayload("wamid.X", "read", 1750263790, "")
	send(read)
	if it := item(ids[0]); it.Status != store.StatusRead || !it.ReadAt.Equal(time.Unix(1750263790, 0).UTC()) {
		t.Fatalf("after read: %s read_at %v", it.Status, it.ReadAt)
	}
	send(statusPayload("wamid.X", "delivered", 1750263780, ""))
	before := item(ids[0])
	if before.Status != store.StatusRead || !before.DeliveredAt.Equal(time.Unix(1750263780, 0).UTC()) {
		t.Fatalf("late delivered: %s delivered_at %v", before.Status, before.DeliveredAt)
	}
	send(read) // replay
	send(statusPayload("wamid.X", "delivered", 1750263780, ""))
	if after := item(ids[0]); !reflect.DeepEqual(after, before) {
		t.Fatalf("a replay changed the item:\n%+v\n%+v", before, after)
	}
	send(statusPayload("wamid.UNKNOWN", "delivered", 1750263780, ""))

	send(statusPayload("wamid.Y", "failed", 1750263800, undeliverable))
	it := item(ids[1])
	if it.Status != store.StatusFailed || !strings.Contains(it.LastError, "Message undeliverable") || !strings.Contains(it.LastError, "131026") {
		t.Fatalf("failed item: %s %q", it.Status, it.LastError)
	}
	evs, err := db.QueueItemEvents(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.ToStatus != "failed" || !strings.Contains(last.Detail, "131026") {
		t.Fatalf("last event = %+v", last)
	}
}
