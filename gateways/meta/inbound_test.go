package meta_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// memInbound records every message handed to it, redeliveries included
// (deduplication is the sink's job, as store.RecordInbound does it).
type memInbound struct {
	mu   sync.Mutex
	msgs []store.InboundMessage
	err  error
}

func (s *memInbound) Inbound(_ context.Context, m store.InboundMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *memInbound) got() []store.InboundMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.InboundMessage(nil), s.msgs...)
}

func (s *memInbound) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// storeInbound is the sink over the real store: it stores each message
// once and opens the customer's window.
type storeInbound struct{ db *store.DB }

func (s storeInbound) Inbound(ctx context.Context, m store.InboundMessage) error {
	_, _, err := s.db.RecordInbound(ctx, m)
	return err
}

// messagesPayload wraps inbound messages (raw JSON objects) and contacts
// in the webhook envelope of the "messages" field.
func messagesPayload(contacts string, msgs ...string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + testPNID + `"},` +
		`"contacts":` + contacts + `,"messages":[` + strings.Join(msgs, ",") + `]}}]}]}`)
}

const (
	twoContacts = `[{"profile":{"name":"Asha Rao"},"wa_id":"919876543210"},{"profile":{"name":"Ravi K"},"wa_id":"919876543211"}]`
	textMsg     = `{"from":"919876543210","id":"wamid.IN.TEXT","timestamp":"1750263773","type":"text","text":{"body":"Is the red kurta in stock?"}}`
	imageMsg    = `{"from":"919876543211","id":"wamid.IN.IMAGE","timestamp":"1750263790","type":"image",` +
		`"image":{"caption":"this one please","mime_type":"image/jpeg","sha256":"HgUXX2vkYbTpQ+Cw5N7l8HiRkpEW4IhWEmk5rvbyHTY=","id":"1003383421387256"}}`
)

// Text and image messages reach the sink with the phone number id, the
// wamid, the customer's number with "+", the profile name of the
// matching contact, the kind, the text or caption, and the time Meta
// gave; neither text nor profile name reaches the logs.
func TestInboundMessagesReachTheSink(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sink := &memInbound{}
	h := webhookClient(logger).WebhookHandler(&memSink{}, &memEvents{}, sink)
	body := messagesPayload(twoContacts, textMsg, imageMsg)
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
		t.Fatalf("webhook: %d", rec.Code)
	}
	want := []store.InboundMessage{
		{Gateway: meta.Name, Account: testPNID, ProviderMessageID: "wamid.IN.TEXT", Phone: "+919876543210", ProfileName: "Asha Rao",
			Kind: store.InboundText, Body: "Is the red kurta in stock?", ReceivedAt: time.Unix(1750263773, 0).UTC()},
		{Gateway: meta.Name, Account: testPNID, ProviderMessageID: "wamid.IN.IMAGE", Phone: "+919876543211", ProfileName: "Ravi K",
			Kind: store.InboundImage, Body: "this one please", ReceivedAt: time.Unix(1750263790, 0).UTC()},
	}
	got := sink.got()
	if len(got) != len(want) {
		t.Fatalf("%d messages reached the sink, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	for _, private := range []string{"red kurta", "this one please", "Asha", "Ravi"} {
		if strings.Contains(logs.String(), private) {
			t.Fatalf("the logs hold %q:\n%s", private, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "wamid.IN.TEXT") {
		t.Errorf("the logs do not say a message came in:\n%s", logs.String())
	}
}

// Every message type gets a kind and what text it has: captions of
// video and documents, the text of a template's quick-reply button, the
// title of an interactive reply; audio, stickers and reactions carry no
// text. A message without an id or with a sender that is not a number is
// skipped; the others in the body still arrive.
func TestInboundKinds(t *testing.T) {
	t.Parallel()
	sink := &memInbound{}
	h := webhookClient(nil).WebhookHandler(nil, nil, sink)
	msg := func(id, typ, content string) string {
		return fmt.Sprintf(`{"from":"919876543210","id":%q,"timestamp":"1750263773","type":%q%s}`, id, typ, content)
	}
	body := messagesPayload(`[{"profile":{"name":"Asha"},"wa_id":"919876543210"}]`,
		msg("v", "video", `,"video":{"caption":"see","id":"1","mime_type":"video/mp4"}`),
		msg("d", "document", `,"document":{"caption":"bill","filename":"a.pdf","id":"2","mime_type":"application/pdf"}`),
		msg("a", "audio", `,"audio":{"id":"3","mime_type":"audio/ogg; codecs=opus"}`),
		msg("b", "button", `,"context":{"from":"15550783881","id":"wamid.OUT"},"button":{"payload":"STOP","text":"Stop promotions"}`),
		msg("br", "interactive", `,"interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes please"}}`),
		msg("lr", "interactive", `,"interactive":{"type":"list_reply","list_reply":{"id":"x","title":"Express","description":"1 day"}}`),
		msg("s", "sticker", `,"sticker":{"id":"4","mime_type":"image/webp","animated":false}`),
		msg("r", "reaction", `,"reaction":{"message_id":"wamid.OUT","emoji":"👍"}`),
		msg("", "text", `,"text":{"body":"no id"}`),
		`{"from":"not-a-number","id":"x","timestamp":"1750263773","type":"text","text":{"body":"?"}}`,
		`"not an object"`,
	)
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
		t.Fatalf("webhook: %d", rec.Code)
	}
	want := map[string][2]string{
		"v": {store.InboundVideo, "see"}, "d": {store.InboundDocument, "bill"}, "a": {store.InboundAudio, ""},
		"b": {store.InboundText, "Stop promotions"}, "br": {store.InboundText, "Yes please"}, "lr": {store.InboundText, "Express"},
		"s": {store.InboundOther, ""}, "r": {store.InboundOther, ""},
	}
	got := sink.got()
	if len(got) != len(want) {
		t.Fatalf("%d messages reached the sink, want %d: %+v", len(got), len(want), got)
	}
	for _, m := range got {
		if w := want[m.ProviderMessageID]; m.Kind != w[0] || m.Body != w[1] || m.ProfileName != "Asha" {
			t.Errorf("%s: kind %q body %q profile %q, want %q %q", m.ProviderMessageID, m.Kind, m.Body, m.ProfileName, w[0], w[1])
		}
	}
}

// A redelivered body reaches the sink again (the sink deduplicates: over
// the store, the message is stored once); a sink error answers 500 so
// Meta delivers again, and that redelivery is stored.
func TestInboundRedeliveryAndSinkError(t *testing.T) {
	t.Parallel()
	sink := &memInbound{}
	h := webhookClient(nil).WebhookHandler(&memSink{}, &memEvents{}, sink)
	body := messagesPayload(twoContacts, textMsg)
	for i := range 2 {
		if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
			t.Fatalf("delivery %d: %d", i, rec.Code)
		}
	}
	if got := sink.got(); len(got) != 2 || got[0] != got[1] {
		t.Fatalf("a redelivery did not reach the sink as the same message: %+v", got)
	}

	sink.setErr(errors.New("database is locked"))
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusInternalServerError {
		t.Fatalf("sink error: %d, want 500", rec.Code)
	}
	sink.setErr(nil)
	if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK || len(sink.got()) != 3 {
		t.Fatalf("redelivery after the error: %d, %d messages", rec.Code, len(sink.got()))
	}

	// Over the store: stored once, and the customer's window opened.
	db := storetest.OpenSQLite(t, storetest.Options{Now: func() time.Time { return time.Unix(1750263800, 0) }})
	ctx := context.Background()
	hs := webhookClient(nil).WebhookHandler(db, db, storeInbound{db})
	for i := range 2 {
		if rec := post(hs, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
			t.Fatalf("store delivery %d: %d", i, rec.Code)
		}
	}
	msgs, err := db.InboundMessages(ctx, "+919876543210", 10)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "Is the red kurta in stock?" || msgs[0].ProfileName != "Asha Rao" {
		t.Fatalf("stored: %+v, %v", msgs, err)
	}
	w, err := db.CustomerWindow(ctx, meta.Name, "+919876543210")
	if err != nil || !w.LastInbound.Equal(time.Unix(1750263773, 0).UTC()) {
		t.Fatalf("window: %+v, %v", w, err)
	}
}

// Unsigned and mis-signed bodies with messages are refused with 401 and
// nothing reaches the sink.
func TestInboundUnsignedRefused(t *testing.T) {
	t.Parallel()
	sink := &memInbound{}
	h := webhookClient(nil).WebhookHandler(&memSink{}, &memEvents{}, sink)
	body := messagesPayload(twoContacts, textMsg, imageMsg)
	for name, sig := range map[string]string{"unsigned": "", "wrong secret": sign(body, "not-the-secret"),
		"other body": sign(messagesPayload(twoContacts, textMsg), testAppSecret)} {
		if rec := post(h, body, sig); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, rec.Code)
		}
	}
	if n := len(sink.got()); n != 0 {
		t.Fatalf("%d messages reached the sink from refused posts", n)
	}
	// Without an inbound sink a signed message is dropped and answered 200.
	if rec := post(webhookClient(nil).WebhookHandler(nil, nil, nil), body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
		t.Fatalf("no sink: %d", rec.Code)
	}
}

// A failed status with 131047 marks the receipt WindowClosed; one with
// another code does not. The fixture is shaped like the spec's.
func TestFailedStatusWindowClosed(t *testing.T) {
	t.Parallel()
	reengage := `[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",` +
		`"error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},` +
		`"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]`
	closed := statusPayload("wamid.W", "failed", 1750263800, reengage)
	if s := optionalSpec(t); s != nil {
		if err := s.validate(t, webhookSchema, closed); err != nil {
			t.Fatalf("fixture: %v", err)
		}
	}
	sink := &memSink{}
	h := webhookClient(nil).WebhookHandler(sink, &memEvents{}, nil)
	for _, b := range [][]byte{closed, statusPayload("wamid.U", "failed", 1750263800, undeliverable)} {
		if rec := post(h, b, sign(b, testAppSecret)); rec.Code != http.StatusOK {
			t.Fatalf("webhook: %d", rec.Code)
		}
	}
	got := sink.got()
	if len(got) != 2 {
		t.Fatalf("%d receipts", len(got))
	}
	if r := got[0]; !r.WindowClosed || r.Status != store.StatusFailed || r.Error != "meta: Re-engagement message (code 131047)" {
		t.Errorf("131047 receipt = %+v", r)
	}
	if got[1].WindowClosed {
		t.Errorf("131026 receipt marked the window closed: %+v", got[1])
	}
}

// The definition has the 24-hour window, and what it opens lists
// templates from meta.waba_id and hands customers' messages to
// Env.Inbound; meta.waba_id takes digits only.
func TestDefinitionWiring(t *testing.T) {
	t.Parallel()
	def := meta.Definition()
	if def.Window != 24*time.Hour {
		t.Fatalf("Window = %v", def.Window)
	}
	f := newFakeGraph(t)
	f.templates = accountTemplates
	db := storetest.OpenSQLite(t, storetest.Options{})
	reg, err := settings.NewRegistry(def.Settings)
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	ctx := context.Background()
	if _, err := r.Set(ctx, meta.SettingWABAID, "1022abc", "test"); err == nil {
		t.Fatal("a WABA id with letters was accepted")
	}
	for k, v := range map[string]string{meta.SettingAccessToken: testToken, meta.SettingPhoneNumberID: testPNID,
		meta.SettingWABAID: testWABA, meta.SettingBaseURL: f.srv.URL, meta.SettingAppSecret: testAppSecret} {
		if _, err := r.Set(ctx, k, v, "test"); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	sink := &memInbound{}
	g, err := def.Open(ctx, gateways.Env{DB: db, Settings: r, Inbound: sink})
	if err != nil {
		t.Fatal(err)
	}
	if g.Templates == nil {
		t.Fatal("no template list")
	}
	list, err := g.Templates(ctx)
	if err != nil || len(list) != len(accountTemplates) {
		t.Fatalf("templates: %d, %v", len(list), err)
	}
	body := messagesPayload(twoContacts, textMsg)
	req := httptest.NewRequest(http.MethodPost, "/webhooks/meta", bytes.NewReader(body))
	req.Header.Set(meta.SignatureHeader, sign(body, testAppSecret))
	rec := httptest.NewRecorder()
	g.Webhook.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(sink.got()) != 1 {
		t.Fatalf("webhook: %d, %d messages at Env.Inbound", rec.Code, len(sink.got()))
	}
}
