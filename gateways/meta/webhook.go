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
// GET answers the subscription handshake, POST takes signed status
// notifications and applies them as receipts.
func (c *Client) WebhookHandler(sink ReceiptSink, events EventLog) http.Handler {
	return &webhook{c: c, sink: sink, events: events}
}

type webhook struct {
	c      *Client
	sink   ReceiptSink
	events EventLog
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

// Webhook payload (§1.6): only what receipts need.
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
		Messages json.RawMessage `json:"messages"`
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
// body; 200 for any validly signed body, even one without statuses; 500
// only when receipts could not be stored, so Meta delivers again.
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
		}
	}
	if failed != nil {
		h.c.log.ErrorContext(ctx, "webhook: receipts not stored; Meta will deliver again", "err", failed)
		http.Error(w, "receipts not stored", http.StatusInternalServerError)
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
