package gateways

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

// Definition is one gateway as it describes itself, declared in its own
// package (meta.Definition(), session.Definition(…)). The wiring builds the
// senders, webhooks, send rates, the settings registry and what the rules
// know of each gateway from a list of them, and knows no gateway by name.
type Definition struct {
	// Name is the gateway's name in settings, on queue items and in
	// receipts.
	Name string
	// Caps are what it can send.
	Caps queue.Capabilities
	// MinInterval is the gateway's own pacing: a campaign interval may not
	// be shorter (0: none).
	MinInterval time.Duration
	// StaffFlowSetting names the setting with the flow that staff messages
	// are sent as, for a gateway that cannot send plain text; "" for none.
	StaffFlowSetting string
	// Settings are its settings (credentials, tuning), collected into the
	// registry.
	Settings []settings.Def
	// Rate is its send rate in force, per second, read live from r (nil
	// or 0: the delivery loop does not pace it).
	Rate func(ctx context.Context, r *settings.Reader) float64
	// Ready says why the gateway cannot send yet, in words for an admin
	// ("not set up: the access token is empty"), or "" when it can. nil:
	// always ready. Its Send reports the same reason (NotReady), so a
	// gateway that is paused for it says so.
	Ready func(ctx context.Context, r *settings.Reader) string
	// Window is how long after a customer's last message the provider
	// lets the business send free-form messages (text, media, flows):
	// Meta's 24-hour customer-service window. 0: no window; anything may
	// be sent at any time.
	Window time.Duration
	// Open builds the gateway once the database and settings are open.
	// It is where a gateway reacts to its own events (the session lifts
	// its pause when it connects again).
	Open func(ctx context.Context, env Env) (Gateway, error)
}

// Env is what a gateway is built with.
type Env struct {
	// DB records receipts, webhook events and media ids, and lifts a
	// gateway's pause (UnblockGateway).
	DB *store.DB
	// Settings are read live on every send: admins change credentials
	// while MessageBridge runs.
	Settings *settings.Reader
	Logger   *slog.Logger
	// Inbound takes the messages customers send to the business; nil
	// drops them.
	Inbound InboundSink
}

// InboundSink takes one message a customer sent to the business, as a
// gateway received it (webhook or session event): it stores it once per
// provider message id, opens the customer's window, forwards it to staff
// and honours a stop request. An error means it was not stored; a webhook
// answers so that the provider delivers it again.
type InboundSink interface {
	Inbound(ctx context.Context, m store.InboundMessage) error
}

// Gateway is a built gateway.
type Gateway struct {
	Sender queue.Sender
	// Webhook takes the provider's delivery reports; nil for none.
	Webhook http.Handler
	// Close lets go of what it holds; nil for nothing.
	Close func()
	// Templates lists the message templates the provider account has
	// (every page), as catalog entries of kind template with their
	// shape, status and category; nil for a gateway without a template
	// list.
	Templates func(ctx context.Context) ([]store.CatalogEntry, error)
}

// Check reports a definition that cannot be wired: no name, no Open, or
// a name given twice in defs.
func Check(defs []Definition) error {
	seen := map[string]bool{}
	for _, d := range defs {
		switch {
		case strings.TrimSpace(d.Name) == "" || d.Name != strings.ToLower(d.Name):
			return errors.New("gateways: a gateway needs a lower-case name")
		case d.Open == nil:
			return errors.New("gateways: gateway " + d.Name + " has no Open")
		case seen[d.Name]:
			return errors.New("gateways: gateway " + d.Name + " is registered twice")
		}
		seen[d.Name] = true
	}
	if len(defs) == 0 {
		return errors.New("gateways: no gateway is registered")
	}
	return nil
}

// ReadyReason runs d's readiness check: "" when d is ready.
func (d Definition) ReadyReason(ctx context.Context, r *settings.Reader) string {
	if d.Ready == nil {
		return ""
	}
	return d.Ready(ctx, r)
}

// RateOf reads d's send rate: 0 when it has none.
func (d Definition) RateOf(ctx context.Context, r *settings.Reader) float64 {
	if d.Rate == nil {
		return 0
	}
	return d.Rate(ctx, r)
}

// ErrNotReady marks the send error of a gateway that is not set up.
var ErrNotReady = errors.New("gateway not ready")

type notReady struct{ reason string }

func (e *notReady) Error() string { return e.reason }
func (e *notReady) Is(target error) bool {
	return target == ErrNotReady
}

// NotReady is the error a gateway's Send returns while it is not set up:
// sender-blocked, so the delivery loop pauses the gateway and keeps the
// items queued, and worded as the readiness reason, so the pause names
// what really happened.
func NotReady(reason string) error {
	return queue.Classify(queue.SenderBlocked, "", &notReady{reason: reason})
}
