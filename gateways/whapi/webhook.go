package whapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// maxWebhookBody bounds a webhook request body.
const maxWebhookBody = 1 << 20

// webhookPayload is the part of WHAPI's WebhookPayload this gateway reads.
// Other arrays (chats, contacts, …) are ignored on purpose.
type webhookPayload struct {
	Statuses []webhookStatus  `json:"statuses"`
	Messages []webhookMessage `json:"messages"`
	Event    struct {
		Type   string `json:"type"`
		Method string `json:"method"`
	} `json:"event"`
	ChannelID string `json:"channel_id"`
}

// webhookStatus is WHAPI's Status.
type webhookStatus struct {
	ID          string          `json:"id"`
	Code        json.RawMessage `json:"code"`
	Status      string          `json:"status"`
	RecipientID string          `json:"recipient_id"`
	Timestamp   json.RawMessage `json:"timestamp"`
	Errors      []struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
		Details string          `json:"details"`
	} `json:"errors"`
}

// WebhookHandler returns the handler for WHAPI's webhooks, mounted at
// POST /webhooks/whapi. A request must carry the configured secret in
// X-Webhook-Secret, or it gets 401 and nothing is recorded. Status callbacks
// become receipts for gateway "whapi": delivered, read (also "played") and
// failed; pending, sent and deleted change nothing. Each (message id,
// status) is processed once: events remembers it, and a replay is skipped.
// New messages (event messages.post) that customers sent from a person's
// chat go to the client's inbound sink (see inboundFor); the sink stores
// each message id once, so a redelivery is harmless. The answer is 200
// unless the store or the sink fails (500, so WHAPI retries).
func (c *Client) WebhookHandler(sink ReceiptSink, events EventLog) http.Handler {
	if sink == nil {
		panic("whapi: WebhookHandler needs a receipt sink")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		ctx := r.Context()
		cr, err := c.creds(ctx)
		if err != nil {
			c.log.Error("webhook: read credentials", "err", queue.SanitizeError(err.Error()))
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		if !secretMatches(r.Header.Get(SecretHeader), cr.WebhookSecret) {
			c.log.Warn("webhook rejected: missing or wrong secret header", "header", SecretHeader, "remote", r.RemoteAddr)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var p webhookPayload
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err := dec.Decode(&p); err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		for _, st := range p.Statuses {
			if err := c.applyStatus(ctx, sink, events, st, cr); err != nil {
				c.log.Error("webhook: apply status", "provider_id", st.ID, "status", st.Status, "err", queue.SanitizeError(err.Error()))
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
		}
		if err := c.takeMessages(ctx, p); err != nil {
			c.log.Error("webhook: inbound message not taken", "err", scrub(err.Error(), cr))
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
	})
}

// secretMatches compares in constant time; hashing first hides the length
// too. An empty configured secret matches nothing.
func secretMatches(got, want string) bool {
	if want == "" || got == "" {
		return false
	}
	g, x := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return hmac.Equal(g[:], x[:])
}

// applyStatus turns one status into a receipt, once. The event is marked
// before the receipt is applied, so a replay is skipped; if applying then
// fails the 500 makes WHAPI retry, which the mark skips, so that receipt is
// lost: a narrow window judged better than applying replays twice.
func (c *Client) applyStatus(ctx context.Context, sink ReceiptSink, events EventLog, st webhookStatus, cr Credentials) error {
	rec, ok := Receipt(st.ID, st.Status, st.Timestamp)
	if !ok {
		return nil
	}
	if rec.Status == store.StatusFailed {
		rec.Error = failureText(st, cr)
	}
	eventID := "status:" + st.ID + ":" + strings.ToLower(st.Status)
	if events != nil {
		first, err := events.MarkWebhookEvent(ctx, Name, eventID)
		if err != nil {
			return err
		}
		if !first {
			c.log.Debug("webhook: replayed status ignored", "provider_id", st.ID, "status", st.Status)
			return nil
		}
	}
	changed, err := sink.ApplyReceipt(ctx, rec)
	if err != nil {
		// Unmark, so WHAPI's redelivery (after our 500) is applied.
		if events != nil {
			if ferr := events.ForgetWebhookEvent(context.WithoutCancel(ctx), Name, eventID); ferr != nil {
				c.log.Error("webhook: could not unmark a failed event", "err", ferr)
			}
		}
		return err
	}
	c.log.Debug("webhook: receipt", "provider_id", st.ID, "status", rec.Status, "changed", changed)
	return nil
}

// Receipt maps a WHAPI status callback to a receipt: delivered → delivered,
// read and played → read, failed → failed. Other statuses (pending, sent,
// deleted) give false. timestamp is WHAPI's Unix seconds, as a string or a
// number; a missing one leaves At zero (the store uses now).
func Receipt(id, status string, timestamp json.RawMessage) (store.Receipt, bool) {
	if id == "" {
		return store.Receipt{}, false
	}
	rec := store.Receipt{Gateway: Name, ProviderMessageID: id, At: unixTime(timestamp)}
	switch strings.ToLower(status) {
	case "delivered":
		rec.Status = store.StatusDelivered
	case "read", "played":
		rec.Status = store.StatusRead
	case "failed":
		rec.Status = store.StatusFailed
	default:
		return store.Receipt{}, false
	}
	return rec, true
}

func unixTime(raw json.RawMessage) time.Time {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	if s == "" || s == "null" {
		return time.Time{}
	}
	sec, err := strconv.ParseFloat(s, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0).UTC()
}

// failureText is the provider's reason for a failed status, scrubbed.
func failureText(st webhookStatus, cr Credentials) string {
	if len(st.Errors) == 0 {
		return "whapi reported the message failed"
	}
	e := st.Errors[0]
	msg := e.Message
	if e.Details != "" {
		msg += ": " + e.Details
	}
	// Redacted before it is bounded: a secret cut by the bound would no
	// longer match.
	msg = clean(msg, cr)
	code := clean(strings.Trim(string(e.Code), `"`), cr)
	if code == "" || code == "null" {
		return scrub("whapi reported the message failed: "+words.Cut(msg, 300), cr)
	}
	return scrub(fmt.Sprintf("whapi reported the message failed (code %s): %s", words.Cut(code, 20), words.Cut(msg, 300)), cr)
}
