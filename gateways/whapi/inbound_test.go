package whapi_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/store"
)

// inboundLog keeps the inbound messages it is given, or fails with err.
type inboundLog struct {
	mu   sync.Mutex
	msgs []store.InboundMessage
	err  error
}

func (l *inboundLog) Inbound(_ context.Context, m store.InboundMessage) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.msgs = append(l.msgs, m)
	return nil
}

func (l *inboundLog) taken() []store.InboundMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]store.InboundMessage(nil), l.msgs...)
}

func (l *inboundLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

// Words the customer wrote: they must reach the sink and never the log.
const (
	customerText    = "Is my order 4471 shipped yet?"
	customerCaption = "the box arrived crushed"
	customerName    = "Asha Kulkarni"
)

// Inbound fixtures, in WHAPI's Message shape (spec 1.8.7). The contract
// test validates every one of them against the spec's WebhookPayload.
var (
	textMessage = `{"id":"PsqXn5SAD5v7HRA-wO1ZWnnIo","from_me":false,"type":"text","chat_id":"919876543210@s.whatsapp.net",` +
		`"timestamp":1712995300,"source":"mobile","text":{"body":"` + customerText + `"},"from":"919876543210","from_name":"` + customerName + `"}`
	imageMessage = `{"id":"Qk3vZr8Lw2aXc9d-gNu4TmsYe","from_me":false,"type":"image","chat_id":"447700900123@s.whatsapp.net",` +
		`"timestamp":1712995360,"source":"mobile","image":{"id":"jpeg-4a28b1c3d5e6f708","mime_type":"image/jpeg","file_size":48213,` +
		`"sha256":"c2hhMjU2","link":"https://s3.eu-central-1.wasabisys.com/in-files/x.jpeg","caption":"` + customerCaption + `"},` +
		`"from":"447700900123","from_name":"Tom"}`
	documentMessage = `{"id":"Dc7pA2sFq9wErT-yUi0OpLk","from_me":false,"type":"document","chat_id":"919876543210@c.us",` +
		`"timestamp":1712995400,"document":{"id":"pdf-0a1b2c3d4e5f","mime_type":"application/pdf","file_size":1024,"file_name":"invoice.pdf","caption":"invoice"},` +
		`"from":"919876543210"}`
	voiceMessage = `{"id":"Vo1ceNoteAbc-DEF12345","from_me":false,"type":"voice","chat_id":"919876543210@s.whatsapp.net",` +
		`"timestamp":1712995460,"voice":{"id":"oga-9f8e7d6c5b4a","mime_type":"audio/ogg; codecs=opus","file_size":5120,"seconds":4},"from":"919876543210"}`
	// No from: the person chat's number.
	stickerMessage = `{"id":"St1ckerAbcd-EF123456","from_me":false,"type":"sticker","chat_id":"919876543210@s.whatsapp.net",` +
		`"timestamp":1712995470,"sticker":{"id":"webp-1a2b3c4d","mime_type":"image/webp","file_size":2048}}`
	// Sent by the business, from the API or the phone.
	ownMessage = `{"id":"0wnMsgAbcdef-GH123456","from_me":true,"type":"text","chat_id":"919876543210@s.whatsapp.net",` +
		`"timestamp":1712995500,"source":"api","text":{"body":"Shipped today"},"from":"15550001111","from_name":"Shop"}`
	groupMessage = `{"id":"Gr0upMsgAbcd-EF123456","from_me":false,"type":"text","chat_id":"120363012345678901@g.us","chat_name":"Friends",` +
		`"timestamp":1712995510,"text":{"body":"hello group"},"from":"919876543210","from_name":"Asha"}`
	newsletterMessage = `{"id":"NewsMsgAbcde-EF123456","from_me":false,"type":"text","chat_id":"120363098765432100@newsletter",` +
		`"timestamp":1712995520,"text":{"body":"channel post"},"from":"919876543210"}`
	statusMessage = `{"id":"StatusAbcdef-EF123456","from_me":false,"type":"image","chat_id":"status@broadcast",` +
		`"timestamp":1712995530,"image":{"id":"jpeg-0a0b0c0d","mime_type":"image/jpeg","file_size":10},"from":"919876543210"}`
	hiddenNumberMessage = `{"id":"LidMsgAbcdef-EF123456","from_me":false,"type":"text","chat_id":"123456789012345@lid",` +
		`"timestamp":1712995540,"text":{"body":"from a hidden number"},"from":"123456789012345"}`
	reactionMessage = `{"id":"ReactMsgAbcd-EF123456","from_me":false,"type":"action","chat_id":"919876543210@s.whatsapp.net",` +
		`"timestamp":1712995550,"action":{"target":"PsqXn5SAD5v7HRA-wO1ZWnnIo","type":"reaction","emoji":"👍"},"from":"919876543210"}`
)

// messagesPayload is a messages.post webhook with msgs.
func messagesPayload(method string, msgs ...string) string {
	return `{"messages":[` + strings.Join(msgs, ",") + `],"event":{"type":"messages","method":"` + method + `"},"channel_id":"SUPERMAN-f75"}`
}

// inboundFixtures are every payload the inbound tests post.
func inboundFixtures() map[string]string {
	return map[string]string{
		"customer messages": messagesPayload("post", textMessage, imageMessage, documentMessage, voiceMessage, stickerMessage),
		"skipped messages": messagesPayload("post", ownMessage, groupMessage, newsletterMessage, statusMessage,
			hiddenNumberMessage, reactionMessage),
		"text": messagesPayload("post", textMessage),
		"put":  messagesPayload("put", textMessage),
	}
}

func inboundHandler(t *testing.T, sink *inboundLog, logs *bytes.Buffer) http.Handler {
	t.Helper()
	o := whapi.Options{
		Credentials: func(context.Context) (whapi.Credentials, error) {
			return whapi.Credentials{Token: testToken, WebhookSecret: hookSecret}, nil
		},
	}
	if sink != nil {
		o.Inbound = sink
	}
	if logs != nil {
		o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return whapi.New(o).WebhookHandler(&receiptLog{}, nil)
}

func postHook(t *testing.T, h http.Handler, secret, body string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/whapi", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(whapi.SecretHeader, secret)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestWebhookInboundMessages(t *testing.T) {
	t.Parallel()

	t.Run("customer messages reach the sink; text and names stay out of the log", func(t *testing.T) {
		t.Parallel()
		sink := &inboundLog{}
		var logs bytes.Buffer
		h := inboundHandler(t, sink, &logs)
		if code := postHook(t, h, hookSecret, inboundFixtures()["customer messages"]); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		want := []store.InboundMessage{
			{Gateway: whapi.Name, Account: "SUPERMAN-f75", ProviderMessageID: "PsqXn5SAD5v7HRA-wO1ZWnnIo", Phone: "+919876543210",
				ProfileName: customerName, Kind: store.InboundText, Body: customerText, ReceivedAt: time.Unix(1712995300, 0).UTC()},
			{Gateway: whapi.Name, Account: "SUPERMAN-f75", ProviderMessageID: "Qk3vZr8Lw2aXc9d-gNu4TmsYe", Phone: "+447700900123",
				ProfileName: "Tom", Kind: store.InboundImage, Body: customerCaption, ReceivedAt: time.Unix(1712995360, 0).UTC()},
			{Gateway: whapi.Name, Account: "SUPERMAN-f75", ProviderMessageID: "Dc7pA2sFq9wErT-yUi0OpLk", Phone: "+919876543210",
				Kind: store.InboundDocument, Body: "invoice", ReceivedAt: time.Unix(1712995400, 0).UTC()},
			{Gateway: whapi.Name, Account: "SUPERMAN-f75", ProviderMessageID: "Vo1ceNoteAbc-DEF12345", Phone: "+919876543210",
				Kind: store.InboundAudio, ReceivedAt: time.Unix(1712995460, 0).UTC()},
			{Gateway: whapi.Name, Account: "SUPERMAN-f75", ProviderMessageID: "St1ckerAbcd-EF123456", Phone: "+919876543210",
				Kind: store.InboundOther, ReceivedAt: time.Unix(1712995470, 0).UTC()},
		}
		got := sink.taken()
		if len(got) != len(want) {
			t.Fatalf("sink got %d messages, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
		for _, secret := range []string{customerText, customerCaption, customerName, "invoice"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds the customer's %q:\n%s", secret, logs.String())
			}
		}
		if !strings.Contains(logs.String(), "PsqXn5SAD5v7HRA-wO1ZWnnIo") {
			t.Errorf("the log does not name the message id:\n%s", logs.String())
		}
	})

	t.Run("own, group, channel, status, hidden-number and reaction messages do not", func(t *testing.T) {
		t.Parallel()
		sink := &inboundLog{}
		var logs bytes.Buffer
		h := inboundHandler(t, sink, &logs)
		if code := postHook(t, h, hookSecret, inboundFixtures()["skipped messages"]); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		if got := sink.taken(); len(got) != 0 {
			t.Fatalf("sink got %+v", got)
		}
		for _, secret := range []string{"Shipped today", "hello group", "from a hidden number", "Friends"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds message text %q", secret)
			}
		}
		// Updates of messages (messages.put) are not new messages.
		if code := postHook(t, h, hookSecret, inboundFixtures()["put"]); code != http.StatusOK || len(sink.taken()) != 0 {
			t.Fatalf("put: status %d, sink %+v", code, sink.taken())
		}
	})

	t.Run("a sink error answers 500 so WHAPI delivers again", func(t *testing.T) {
		t.Parallel()
		sink := &inboundLog{err: errors.New("database is locked")}
		var logs bytes.Buffer
		h := inboundHandler(t, sink, &logs)
		body := inboundFixtures()["text"]
		if code := postHook(t, h, hookSecret, body); code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", code)
		}
		if strings.Contains(logs.String(), customerText) || strings.Contains(logs.String(), customerName) {
			t.Fatalf("the error log holds the message:\n%s", logs.String())
		}
		sink.fail(nil)
		if code := postHook(t, h, hookSecret, body); code != http.StatusOK {
			t.Fatalf("redelivery: status %d", code)
		}
		if got := sink.taken(); len(got) != 1 || got[0].Body != customerText {
			t.Fatalf("after redelivery the sink has %+v", got)
		}
	})

	t.Run("the secret is still required", func(t *testing.T) {
		t.Parallel()
		sink := &inboundLog{}
		h := inboundHandler(t, sink, nil)
		for _, secret := range []string{"", "hook-secret-wrong"} {
			if code := postHook(t, h, secret, inboundFixtures()["text"]); code != http.StatusUnauthorized {
				t.Fatalf("secret %q: status %d, want 401", secret, code)
			}
		}
		if got := sink.taken(); len(got) != 0 {
			t.Fatalf("an unauthenticated webhook reached the sink: %+v", got)
		}
	})

	t.Run("no sink drops messages with 200", func(t *testing.T) {
		t.Parallel()
		h := inboundHandler(t, nil, nil)
		if code := postHook(t, h, hookSecret, inboundFixtures()["text"]); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
	})
}
