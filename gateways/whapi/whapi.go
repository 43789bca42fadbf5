// Package whapi sends WhatsApp messages through WHAPI (whapi.cloud), a
// gateway that drives a normal WhatsApp account linked by QR code, and
// receives its webhooks: delivery statuses, and the messages customers send
// to the number (passed to gateways.InboundSink).
//
// Sends are POST /messages/text, /messages/image and /messages/video with
// "Authorization: Bearer <channel token>" and a JSON body. Images and videos
// go by link when MediaByLink is on and the file has a public URL; otherwise
// the file travels inline as a base64 data URI
// ("data:image/png;name=x.png;base64,…"), one of the media forms WHAPI
// documents. WHAPI has no message templates or flows.
//
// HTTP statuses map to queue classes as WHAPI documents them: 401 (channel
// not authorized, QR not scanned) and 402 (trial limit exceeded) block the
// sender; 429 is rate limited (Retry-After honoured); 5xx is retried; 400,
// 403, 404, 413, 415 and other 4xx fail the item.
package whapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// Name is the gateway's name in settings and on queue items.
const Name = "whapi"

// DefaultBaseURL is WHAPI's API host.
const DefaultBaseURL = "https://gate.whapi.cloud"

// SecretHeader is the header WHAPI is configured to send on webhooks
// (PATCH /settings, webhooks[].headers); WHAPI does not sign payloads.
const SecretHeader = "X-Webhook-Secret"

// MaxInlineMedia bounds a file sent inline as a data URI.
const MaxInlineMedia = 64 << 20

// maxResponse bounds how much of a provider response is read.
const maxResponse = 1 << 20

var _ queue.Sender = (*Client)(nil)

// Credentials are the WHAPI settings, read on every send so that an admin's
// change takes effect at once.
type Credentials struct {
	// Token is the channel's API token (secret).
	Token string
	// BaseURL is the API host (default https://gate.whapi.cloud).
	BaseURL string
	// WebhookSecret is the value WHAPI must send in X-Webhook-Secret
	// (secret); empty refuses every webhook.
	WebhookSecret string
	// MediaByLink sends images and videos by their public URL when they
	// have one, instead of inline.
	MediaByLink bool
	// Secrets are the values of every other secret setting (CredentialsFrom
	// fills them in), redacted from provider text like the two above.
	Secrets []string
}

// Options configure the client.
type Options struct {
	// Credentials returns the current settings; required.
	Credentials func(ctx context.Context) (Credentials, error)
	// HTTPClient makes the calls (default: a client with a 60s timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Inbound takes the messages customers send to the channel's number
	// (webhook event "messages"); nil drops them.
	Inbound gateways.InboundSink
}

// Client is the WHAPI gateway. It is safe for concurrent use.
type Client struct {
	creds   func(ctx context.Context) (Credentials, error)
	http    *http.Client
	log     *slog.Logger
	inbound gateways.InboundSink
}

// New returns a WHAPI client.
func New(o Options) *Client {
	c := &Client{creds: o.Credentials, http: o.HTTPClient, log: o.Logger, inbound: o.Inbound}
	if c.creds == nil {
		c.creds = func(context.Context) (Credentials, error) {
			return Credentials{}, errors.New("no credentials configured")
		}
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 60 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "gateways.whapi")
	return c
}

// ErrUnsupported is the cause of sends WHAPI cannot make (templates, flows).
var ErrUnsupported = errors.New("whapi cannot send templates or flows: a WHAPI channel is a linked WhatsApp account, which has neither; send text or a saved message instead")

// Send implements queue.Sender: it posts one text, image or video message
// and returns WHAPI's message id.
func (c *Client) Send(ctx context.Context, d queue.Delivery) (string, error) {
	var path string
	switch d.Kind {
	case queue.KindText:
		path = "/messages/text"
	case queue.KindImage:
		path = "/messages/image"
	case queue.KindVideo:
		path = "/messages/video"
	case queue.KindTemplate, queue.KindFlow:
		return "", queue.Classify(queue.Permanent, "", ErrUnsupported)
	default:
		return "", queue.Classify(queue.Permanent, "", fmt.Errorf("whapi: unknown delivery kind %q", d.Kind))
	}
	to, err := Recipient(d.Phone)
	if err != nil {
		return "", queue.Classify(queue.Permanent, "", err)
	}
	cr, err := c.credentials(ctx)
	if err != nil {
		return "", err
	}
	var body []byte
	if d.Kind == queue.KindText {
		if strings.TrimSpace(d.Text) == "" {
			return "", queue.Classify(queue.Permanent, "", errors.New("whapi: text message has no body"))
		}
		body, err = json.Marshal(textRequest{To: to, Body: d.Text})
	} else {
		body, err = c.mediaBody(ctx, d, to, cr)
	}
	if err != nil {
		return "", err
	}
	id, err := c.post(ctx, cr, path, body)
	if err != nil {
		class, _ := queue.ClassOf(err)
		c.log.Debug("send failed", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "kind", d.Kind, "class", class.String(), "err", err.Error())
		return "", err
	}
	c.log.Debug("sent", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "kind", d.Kind, "provider_id", id)
	return id, nil
}

// credentials reads the settings. A send without a token cannot work until
// an admin sets one, so that blocks the sender rather than failing items.
func (c *Client) credentials(ctx context.Context) (Credentials, error) {
	cr, err := c.creds(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Credentials{}, queue.Classify(queue.Retry, "", ctx.Err())
		}
		return Credentials{}, queue.Classify(queue.SenderBlocked, "", fmt.Errorf("whapi: read credentials: %s", queue.SanitizeError(err.Error())))
	}
	if p := cr.notReady(); p != "" {
		return Credentials{}, gateways.NotReady(p)
	}
	if cr.BaseURL == "" {
		cr.BaseURL = DefaultBaseURL
	}
	cr.BaseURL = strings.TrimRight(cr.BaseURL, "/")
	return cr, nil
}

// Recipient turns an E.164 phone into WHAPI's "to": the digits without "+"
// ("+919876543210" → "919876543210").
func Recipient(phone string) (string, error) {
	digits := strings.TrimPrefix(strings.TrimSpace(phone), "+")
	if len(digits) < 7 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return "", fmt.Errorf("whapi: %q is not an E.164 phone number", gateways.MaskPhone(phone))
	}
	return digits, nil
}

type textRequest struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

type mediaRequest struct {
	To       string `json:"to"`
	Media    string `json:"media"`
	Caption  string `json:"caption,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
}

// mediaBody builds an image or video request: by link, or with the file
// inline as a base64 data URI written straight into the body.
func (c *Client) mediaBody(ctx context.Context, d queue.Delivery, to string, cr Credentials) ([]byte, error) {
	m := d.Media
	if m == nil {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("whapi: %s message has no media", d.Kind))
	}
	req := mediaRequest{To: to, Caption: d.Text, MimeType: m.MIME}
	if cr.MediaByLink && m.PublicURL != "" {
		req.Media = m.PublicURL
		return json.Marshal(req)
	}
	if m.Open == nil {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("whapi: media %d cannot be read", m.ID))
	}
	if m.Size > MaxInlineMedia {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("whapi: media %d is %d bytes, over the %d-byte limit for inline upload", m.ID, m.Size, MaxInlineMedia))
	}
	f, err := m.Open(ctx)
	if err != nil {
		class := queue.Retry
		if errors.Is(err, fs.ErrNotExist) {
			class = queue.Permanent
		}
		return nil, queue.Classify(class, "", fmt.Errorf("whapi: open media %d: %w", m.ID, err))
	}
	defer f.Close()

	// The JSON is written by hand around the encoder so the file is held
	// once, as base64; every other field goes through encoding/json.
	head, err := json.Marshal(struct {
		To       string `json:"to"`
		Caption  string `json:"caption,omitempty"`
		MimeType string `json:"mime_type,omitempty"`
	}{req.To, req.Caption, req.MimeType})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if m.Size > 0 {
		buf.Grow(len(head) + 64 + int(m.Size)*4/3)
	}
	buf.Write(head[:bytes.LastIndexByte(head, '}')])
	mime := m.MIME
	if mime == "" {
		mime = "application/octet-stream"
	}
	buf.WriteString(`,"media":"data:` + dataURIToken(mime))
	if name := dataURIToken(m.Name); name != "" {
		buf.WriteString(";name=" + name)
	}
	buf.WriteString(";base64,")
	enc := base64.NewEncoder(base64.StdEncoding, &buf)
	n, err := io.Copy(enc, io.LimitReader(f, MaxInlineMedia+1))
	if err != nil {
		return nil, queue.Classify(queue.Retry, "", fmt.Errorf("whapi: read media %d: %w", m.ID, err))
	}
	if n > MaxInlineMedia {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("whapi: media %d is over the %d-byte limit for inline upload", m.ID, MaxInlineMedia))
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	buf.WriteString(`"}`)
	return buf.Bytes(), nil
}

// dataURIToken keeps the characters that are safe in a data URI parameter
// and in a JSON string; others become "_".
func dataURIToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".-_+/", r):
			return r
		}
		return '_'
	}, s)
}

// sentMessage is WHAPI's SentMessage response.
type sentMessage struct {
	Sent    bool `json:"sent"`
	Message struct {
		ID string `json:"id"`
	} `json:"message"`
}

// responseError is WHAPI's ResponseError.
type responseError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details string `json:"details"`
	} `json:"error"`
}

func (c *Client) post(ctx context.Context, cr Credentials, path string, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cr.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return "", queue.Classify(queue.SenderBlocked, "", fmt.Errorf("whapi: bad base URL: %s", scrub(err.Error(), cr)))
	}
	req.Header.Set("Authorization", "Bearer "+cr.Token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", queue.Classify(queue.Retry, "", ctx.Err())
		}
		return "", queue.Classify(queue.Retry, "", fmt.Errorf("whapi %s: %s", path, scrub(err.Error(), cr)))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err != nil {
			// The message may be out; retrying risks a duplicate, but an
			// unreadable answer gives no id to track it by.
			return "", queue.Classify(queue.Retry, "", fmt.Errorf("whapi %s: read response: %s", path, scrub(err.Error(), cr)))
		}
		var sm sentMessage
		if err := json.Unmarshal(raw, &sm); err != nil {
			return "", queue.Classify(queue.Retry, "", fmt.Errorf("whapi %s: HTTP %d with a response that is not a sent message", path, resp.StatusCode))
		}
		if !sm.Sent {
			return "", queue.Classify(queue.Retry, "", fmt.Errorf("whapi %s: HTTP %d but the message was not sent (sent=false)", path, resp.StatusCode))
		}
		if sm.Message.ID == "" {
			c.log.Warn("message sent without an id; its receipts cannot be matched", "path", path)
		}
		return sm.Message.ID, nil
	}
	return "", statusError(path, resp.StatusCode, resp.Header, raw, cr)
}

// statusMeaning is WHAPI's documented meaning of a send status.
func statusMeaning(status int) string {
	switch status {
	case 400:
		return "wrong request parameters"
	case 401:
		return "the channel is not authorized (QR code not scanned, or the token is wrong)"
	case 402:
		return "trial version limit exceeded"
	case 403:
		return "sending to this recipient or group is forbidden"
	case 404:
		return "media not found"
	case 413:
		return "body or media too large"
	case 415:
		return "unsupported media type"
	case 429:
		return "too many requests"
	case 500:
		return "WHAPI internal error"
	default:
		return ""
	}
}

// StatusClass maps a WHAPI HTTP status to a queue class, as WHAPI documents
// the statuses of its send endpoints. WHAPI throttles the channel, not a
// recipient, so a 429 is gateway-scoped.
func StatusClass(status int) queue.Class {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusPaymentRequired:
		return queue.SenderBlocked
	case status == http.StatusTooManyRequests:
		return queue.RateLimited
	case status >= 500, status == http.StatusRequestTimeout:
		return queue.Retry
	case status >= 400:
		return queue.Permanent
	default:
		return queue.Retry
	}
}

// statusError builds the classified error for a failed send: the status,
// its documented meaning and WHAPI's own message, scrubbed of credentials
// and bounded. The raw body is never included.
func statusError(path string, status int, h http.Header, raw []byte, cr Credentials) error {
	meaning := statusMeaning(status)
	if meaning == "" {
		meaning = strings.ToLower(http.StatusText(status))
	}
	msg := fmt.Sprintf("whapi %s: HTTP %d (%s)", path, status, meaning)
	var re responseError
	if json.Unmarshal(raw, &re) == nil && re.Error.Message != "" {
		detail := re.Error.Message
		if re.Error.Details != "" {
			detail += ": " + re.Error.Details
		}
		msg += ": " + words.Cut(clean(detail, cr), 200)
	}
	err := errors.New(scrub(msg, cr))
	code := strconv.Itoa(status)
	class := StatusClass(status)
	if class == queue.RateLimited {
		return queue.RateLimitedFor(gateways.RetryAfter(h.Get("Retry-After"), time.Now()), code, err)
	}
	return queue.Classify(class, code, err)
}

// clean removes the secrets (whole or in pieces) and the usual credential
// shapes from s without shortening it: bound only what clean returned.
func clean(s string, cr Credentials) string {
	return queue.Redact(s, append([]string{cr.Token, cr.WebhookSecret}, cr.Secrets...)...)
}

// scrub is clean followed by the queue's length bound.
func scrub(s string, cr Credentials) string {
	return queue.SanitizeError(clean(s, cr))
}

// ReceiptSink applies delivery receipts; *store.DB satisfies it.
type ReceiptSink interface {
	ApplyReceipt(ctx context.Context, r store.Receipt) (bool, error)
}

// EventLog remembers processed webhook events; *store.DB satisfies it.
type EventLog interface {
	MarkWebhookEvent(ctx context.Context, provider, eventID string) (bool, error)
	// ForgetWebhookEvent undoes a mark whose receipt could not be applied.
	ForgetWebhookEvent(ctx context.Context, provider, eventID string) error
}
