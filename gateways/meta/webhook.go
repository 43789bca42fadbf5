package meta

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/store"
)

// MaxWebhookBody bounds a webhook POST body.
const MaxWebhookBody = 1 << 20

// SignatureHeader carries "sha256=" + hex(HMAC-SHA256(body, app secret)).
const SignatureHeader = "X-Hub-Signature-256"

// ReceiptSink applies delivery receipts; *store.DB satisfies it.
type ReceiptSink interface {
	ApplyReceipt(ctx context.Context, r store.Receipt) (bool, error)
}

// EventLog records processed webhook events so replays are ignored;
// *store.DB satisfies it.
type EventLog interface {
	MarkWebhookEvent(ctx context.Context, provider, eventID string) (bool, error)
	// ForgetWebhookEvent undoes a mark whose receipt could not be applied.
	ForgetWebhookEvent(ctx context.Context, provider, eventID string) error
}

// WebhookHandler serves Meta's webhook callback (mounted at /webhooks/meta):
// GET answers the subscription handshake, POST takes signed
// notifications: statuses become receipts for sink, customers' messages
// (the "messages" field) go to inbound, which stores each once (nil
// drops them).
func (c *Client) WebhookHandler(sink ReceiptSink, events EventLog, inbound gateways.InboundSink) http.Handler {
	return &webhook{c: c, sink: sink, events: events, inbound: inbound}
}

type webhook struct {
	c       *Client
	sink    ReceiptSink
	events  EventLog
	inbound gateways.InboundSink
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.verify(w, r)
	case http.MethodPost:
		h.notify(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// verify answers GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…
// with the challenge when the token matches (§1.6), else 403.
func (h *webhook) verify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	cr, err := h.credentials(ctx)
	if err != nil {
		h.c.log.ErrorContext(ctx, "webhook verification: cannot read credentials", "err", redact(err.Error(), cr.secrets()))
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if q.Get("hub.mode") != "subscribe" || cr.VerifyToken == "" || !equalSecret(q.Get("hub.verify_token"), cr.VerifyToken) {
		h.c.log.WarnContext(ctx, "webhook verification refused", "mode", bound(q.Get("hub.mode")))
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	h.c.log.InfoContext(ctx, "webhook verified")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
}

func (h *webhook) credentials(ctx context.Context) (Credentials, error) {
	if h.c.creds == nil {
		return Credentials{}, errors.New("no credentials are configured")
	}
	return h.c.creds(ctx)
}

// equalSecret compares in constant time, also hiding the secret's length.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// validSignature checks header against the HMAC-SHA256 of body.
func validSignature(header string, body []byte, secret string) bool {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Webhook payload (§1.6): only what receipts and inbound messages need.
type (
	webhookPayload struct {
		Object string `json:"object"`
		Entry  []struct {
			Changes []struct {
				Field string      `json:"field"`
				Value changeValue `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	changeValue struct {
		Metadata struct {
			PhoneNumberID string `json:"phone_number_id"`
		} `json:"metadata"`
		Statuses []statusUpdate  `json:"statuses"`
		Errors   []webhookError  `json:"errors"`
		Contacts []contact       `json:"contacts"`
		Messages json.RawMessage `json:"messages"`
	}
	contact struct {
		WAID    string `json:"wa_id"`
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
	}
	// incoming is one customer message; only the parts that carry text
	// are read.
	incoming struct {
		From      string `json:"from"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Type      string `json:"type"`
		Text      *struct {
			Body string `json:"body"`
		} `json:"text"`
		Image    *captioned `json:"image"`
		Video    *captioned `json:"video"`
		Document *captioned `json:"document"`
		Button   *struct {
			Text string `json:"text"`
		} `json:"button"`
		Interactive *struct {
			Type        string `json:"type"`
			ButtonReply *struct {
				Title string `json:"title"`
			} `json:"button_reply"`
			ListReply *struct {
				Title string `json:"title"`
			} `json:"list_reply"`
		} `json:"interactive"`
	}
	captioned struct {
		Caption string `json:"caption"`
	}
	statusUpdate struct {
		ID          string         `json:"id"`
		Status      string         `json:"status"`
		Timestamp   string         `json:"timestamp"`
		RecipientID string         `json:"recipient_id"`
		Errors      []webhookError `json:"errors"`
	}
	webhookError struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Message string `json:"message"`
	}
)

// notify handles a signed POST: 401 unless the signature matches the raw
// body; 200 for any validly signed body, even one without statuses or
// messages; 500 only when a receipt or a customer's message could not be
// stored, so Meta delivers the whole body again (receipts already applied
// are skipped by the event log, messages already stored by the inbound
// sink).
func (h *webhook) notify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.c.log.WarnContext(ctx, "webhook body too large", "limit", MaxWebhookBody)
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	cr, err := h.credentials(ctx)
	if err != nil {
		h.c.log.ErrorContext(ctx, "webhook: cannot read credentials", "err", redact(err.Error(), cr.secrets()))
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if cr.AppSecret == "" {
		h.c.log.WarnContext(ctx, "webhook refused: the app secret is not set, so signatures cannot be checked")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !validSignature(r.Header.Get(SignatureHeader), body, cr.AppSecret) {
		h.c.log.WarnContext(ctx, "webhook refused: missing or invalid signature", "has_header", r.Header.Get(SignatureHeader) != "")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var p webhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		// Signed by Meta but unreadable: a redelivery would not help.
		h.c.log.WarnContext(ctx, "webhook body is not valid JSON; ignored", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	var failed error
	for _, e := range p.Entry {
		for _, ch := range e.Changes {
			for _, se := range ch.Value.Errors {
				h.c.log.WarnContext(ctx, "meta reported an error", "code", se.Code, "title", bound(redact(se.Title, cr.secrets())))
			}
			for _, st := range ch.Value.Statuses {
				if err := h.apply(ctx, st, cr); err != nil {
					failed = err
				}
			}
			if ch.Field == "messages" {
				if err := h.receive(ctx, ch.Value, cr); err != nil {
					failed = err
				}
			}
		}
	}
	if failed != nil {
		h.c.log.ErrorContext(ctx, "webhook: receipts or messages not stored; Meta will deliver again",
			"err", redact(failed.Error(), cr.secrets()))
		http.Error(w, "not stored", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// apply records one status once. "sent" changes nothing and is skipped.
func (h *webhook) apply(ctx context.Context, st statusUpdate, cr Credentials) error {
	var status store.QueueStatus
	switch st.Status {
	case "delivered":
		status = store.StatusDelivered
	case "read":
		status = store.StatusRead
	case "failed":
		status = store.StatusFailed
	case "sent":
		return nil
	default:
		h.c.log.DebugContext(ctx, "webhook: unknown status ignored", "status", bound(clean(st.Status, cr.secrets())))
		return nil
	}
	if st.ID == "" {
		h.c.log.WarnContext(ctx, "webhook: status without a message id ignored", "status", st.Status)
		return nil
	}
	rc := store.Receipt{Gateway: Name, ProviderMessageID: st.ID, Status: status, At: parseUnix(st.Timestamp)}
	if status == store.StatusFailed {
		rc.Error = failureReason(st.Errors, cr.secrets())
		for _, e := range st.Errors {
			if e.Code == CodeWindowClosed {
				rc.WindowClosed = true
			}
		}
	}
	eventID := st.ID + ":" + st.Status + ":" + st.Timestamp
	if h.events != nil {
		first, err := h.events.MarkWebhookEvent(ctx, Name, eventID)
		if err != nil {
			return fmt.Errorf("mark event %s: %w", st.ID, err)
		}
		if !first {
			h.c.log.DebugContext(ctx, "webhook: replayed status ignored", "provider_id", st.ID, "status", st.Status)
			return nil
		}
	}
	if h.sink == nil {
		return nil
	}
	changed, err := h.sink.ApplyReceipt(ctx, rc)
	if err != nil {
		// Unmark, so Meta's redelivery (after our 500) is applied.
		if h.events != nil {
			if ferr := h.events.ForgetWebhookEvent(context.WithoutCancel(ctx), Name, eventID); ferr != nil {
				h.c.log.ErrorContext(ctx, "webhook: could not unmark a failed event", "err", ferr)
			}
		}
		return fmt.Errorf("apply %s %s: %w", st.Status, st.ID, err)
	}
	if !changed {
		h.c.log.DebugContext(ctx, "webhook: status changed nothing (unknown message or already further along)",
			"provider_id", st.ID, "status", st.Status)
		return nil
	}
	h.c.log.DebugContext(ctx, "receipt applied", "provider_id", st.ID, "status", st.Status)
	return nil
}

// receive hands each customer message of one change to the inbound sink.
// A message that cannot be read is skipped (a redelivery would not help);
// the first sink error is returned after trying the others. Neither the
// text nor the profile name is logged.
func (h *webhook) receive(ctx context.Context, v changeValue, cr Credentials) error {
	if len(v.Messages) == 0 {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(v.Messages, &raw); err != nil {
		h.c.log.WarnContext(ctx, "webhook: messages is not a list; ignored")
		return nil
	}
	var failed error
	for _, r := range raw {
		var in incoming
		if err := json.Unmarshal(r, &in); err != nil {
			h.c.log.WarnContext(ctx, "webhook: unreadable message ignored")
			continue
		}
		m, ok := inboundMessage(in, v)
		if !ok {
			h.c.log.WarnContext(ctx, "webhook: message without an id or a sender's number ignored",
				"provider_id", bound(clean(in.ID, cr.secrets())), "type", bound(clean(in.Type, cr.secrets())))
			continue
		}
		if h.inbound == nil {
			h.c.log.DebugContext(ctx, "webhook: customer message dropped (no inbound sink)", "provider_id", m.ProviderMessageID)
			continue
		}
		if err := h.inbound.Inbound(ctx, m); err != nil {
			if failed == nil {
				failed = fmt.Errorf("inbound %s: %w", m.ProviderMessageID, err)
			}
			continue
		}
		h.c.log.DebugContext(ctx, "customer message received", "provider_id", m.ProviderMessageID,
			"phone", gateways.MaskPhone(m.Phone), "kind", m.Kind)
	}
	return failed
}

// inboundMessage is the stored form of one customer message; ok is false
// without an id or a sender's number.
func inboundMessage(in incoming, v changeValue) (store.InboundMessage, bool) {
	if in.ID == "" || in.From == "" || strings.Trim(in.From, "0123456789") != "" {
		return store.InboundMessage{}, false
	}
	m := store.InboundMessage{Gateway: Name, Account: v.Metadata.PhoneNumberID, ProviderMessageID: in.ID,
		Phone: "+" + in.From, Kind: store.InboundOther, ReceivedAt: parseUnix(in.Timestamp)}
	for _, c := range v.Contacts {
		if c.WAID == in.From {
			m.ProfileName = c.Profile.Name
			break
		}
	}
	caption := func(c *captioned) string {
		if c == nil {
			return ""
		}
		return c.Caption
	}
	switch in.Type {
	case "text":
		m.Kind = store.InboundText
		if in.Text != nil {
			m.Body = in.Text.Body
		}
	case "image":
		m.Kind, m.Body = store.InboundImage, caption(in.Image)
	case "video":
		m.Kind, m.Body = store.InboundVideo, caption(in.Video)
	case "document":
		m.Kind, m.Body = store.InboundDocument, caption(in.Document)
	case "audio":
		m.Kind = store.InboundAudio
	case "button":
		// A quick-reply button of a template ("Stop promotions").
		m.Kind = store.InboundText
		if in.Button != nil {
			m.Body = in.Button.Text
		}
	case "interactive":
		m.Kind = store.InboundText
		if i := in.Interactive; i != nil {
			switch {
			case i.ButtonReply != nil:
				m.Body = i.ButtonReply.Title
			case i.ListReply != nil:
				m.Body = i.ListReply.Title
			}
		}
		if m.Body == "" {
			m.Kind = store.InboundOther
		}
	}
	return m, true
}

// failureReason is the item's error for a failed status: the first error's
// title and code, sanitized.
func failureReason(errs []webhookError, secrets []string) string {
	if len(errs) == 0 {
		return "meta: the message failed (no reason given)"
	}
	e := errs[0]
	title := bound(clean(e.Title, secrets))
	if title == "" {
		title = bound(clean(e.Message, secrets))
	}
	if title == "" {
		title = "the message failed"
	}
	return redact(fmt.Sprintf("meta: %s (code %d)", title, e.Code), secrets)
}

// parseUnix reads a webhook timestamp (Unix seconds as a string); zero
// means "now" to the store.
func parseUnix(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}
