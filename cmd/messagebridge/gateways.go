package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/messagebridge/messagebridge/bot/telegram"
	"github.com/messagebridge/messagebridge/bot/whatsapp"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/dryrun"
	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

// The WhatsApp operator chat runs on the linked session's account.
var _ whatsapp.Session = (*session.Session)(nil)

// gatewayList is every gateway admins may choose, the default first: one
// line each, each gateway describing itself. account is the linked
// WhatsApp account the session gateway sends through (nil where only the
// descriptions are read: the settings table, the admin CLI).
func gatewayList(account *session.Session) []gateways.Definition {
	return []gateways.Definition{
		dryrun.Definition(),
		meta.Definition(),
		whapi.Definition(),
		shiprocket.Definition(),
		session.Definition(account),
	}
}

// gatewayNames names defs, in order.
func gatewayNames(defs []gateways.Definition) []string {
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Name
	}
	return names
}

// newRegistry collects every runtime setting, each declared beside the code
// that uses it: the gateways' come from their definitions.
func newRegistry(defs []gateways.Definition) (*settings.Registry, error) {
	groups := [][]settings.Def{
		ops.SettingDefs(gatewayNames(defs)),
		queue.SettingDefs(),
	}
	for _, d := range defs {
		groups = append(groups, d.Settings)
	}
	groups = append(groups,
		whatsapp.SettingDefs(),
		telegram.SettingDefs(),
		library.SettingDefs(),
		httpSettingDefs(),
	)
	return settings.NewRegistry(groups...)
}

// gatewaySet is every gateway built: the senders the loop resolves by
// name and the webhook handlers, with the definitions they came from.
type gatewaySet struct {
	defs     []gateways.Definition
	senders  map[string]queue.Sender
	webhooks map[string]http.Handler
	// templates are the template lists of the gateways that have one.
	templates map[string]func(ctx context.Context) ([]store.CatalogEntry, error)
	closers   []func()
}

// describe tells the operations layer what each gateway can send, and
// whether it is ready, read live through r.
func (g *gatewaySet) describe(r *settings.Reader) []ops.Gateway {
	out := make([]ops.Gateway, 0, len(g.defs))
	for _, d := range g.defs {
		out = append(out, ops.Gateway{Name: d.Name, Caps: d.Caps, StaffFlowSetting: d.StaffFlowSetting, MinInterval: d.MinInterval, Window: d.Window,
			Ready: func(ctx context.Context) string { return d.ReadyReason(ctx, r) }, Templates: templateList(g.templates[d.Name])})
	}
	return out
}

// lateOps hands the gateways and the delivery loop what the operations
// layer answers, though it is built after them (it needs the gateways'
// descriptions and the loop's Notify): customers' messages (a message
// that comes before is refused, and the provider delivers it again) and
// the intake template a staff message goes as when the customer's window
// is closed (an item that asks before is given back for a moment).
type lateOps struct{ ops atomic.Pointer[ops.Service] }

var errOpsNotReady = errors.New("the operations layer is not ready yet")

func (s *lateOps) Inbound(ctx context.Context, m store.InboundMessage) error {
	svc := s.ops.Load()
	if svc == nil {
		return fmt.Errorf("inbound message: %w", errOpsNotReady)
	}
	return svc.Inbound(ctx, m)
}

func (s *lateOps) IntakeTemplate(ctx context.Context, it store.QueueItem) (store.QueueContent, bool, error) {
	svc := s.ops.Load()
	if svc == nil {
		return store.QueueContent{}, false, fmt.Errorf("intake template: %w", errOpsNotReady)
	}
	return svc.IntakeTemplate(ctx, it)
}

// templateList is a gateway's template list as the operations layer reads
// it: a list that cannot be read until an admin sets something up (a
// gateway's not-ready error: no account id, no token) is ops.NotSetUp, so
// the scheduled sync skips it quietly; any other error reads as the
// provider's words, without the send error's class in front. nil stays
// nil.
func templateList(list func(ctx context.Context) ([]store.CatalogEntry, error)) func(ctx context.Context) ([]store.CatalogEntry, error) {
	if list == nil {
		return nil
	}
	return func(ctx context.Context) ([]store.CatalogEntry, error) {
		entries, err := list(ctx)
		if err == nil {
			return entries, nil
		}
		text := err.Error()
		var se *queue.SendError
		if errors.As(err, &se) && se.Err != nil {
			text = se.Err.Error()
		}
		if errors.Is(err, gateways.ErrNotReady) {
			return nil, ops.NotSetUp(text)
		}
		return nil, &listError{text: text, err: err}
	}
}

// listError is a template list's error worded as the provider's words.
type listError struct {
	text string
	err  error
}

func (e *listError) Error() string { return e.text }
func (e *listError) Unwrap() error { return e.err }

// rates are the gateways' send rates, read live.
func (g *gatewaySet) rates(r *settings.Reader) func(ctx context.Context) map[string]float64 {
	return func(ctx context.Context) map[string]float64 {
		out := map[string]float64{}
		for _, d := range g.defs {
			if v := d.RateOf(ctx, r); v > 0 {
				out[d.Name] = v
			}
		}
		return out
	}
}

// windowOf gives the loop each gateway's customer-service window by name
// (0: none).
func (g *gatewaySet) windowOf() func(gateway string) time.Duration {
	w := make(map[string]time.Duration, len(g.defs))
	for _, d := range g.defs {
		w[d.Name] = d.Window
	}
	return func(gateway string) time.Duration { return w[gateway] }
}

// close lets go of the gateways, the last built first.
func (g *gatewaySet) close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
	g.closers = nil
}

// buildGateways builds every gateway of defs. Credentials are read from
// the settings (through the cached reader) on each send, so admins can
// change them while MessageBridge runs.
func buildGateways(ctx context.Context, defs []gateways.Definition, env gateways.Env) (*gatewaySet, error) {
	if err := gateways.Check(defs); err != nil {
		return nil, err
	}
	g := &gatewaySet{defs: defs, senders: map[string]queue.Sender{}, webhooks: map[string]http.Handler{},
		templates: map[string]func(ctx context.Context) ([]store.CatalogEntry, error){}}
	for _, d := range defs {
		built, err := d.Open(ctx, env)
		if err != nil {
			g.close()
			return nil, fmt.Errorf("gateway %s: %w", d.Name, err)
		}
		g.senders[d.Name] = built.Sender
		if built.Webhook != nil {
			g.webhooks[d.Name] = built.Webhook
		}
		if built.Templates != nil {
			g.templates[d.Name] = built.Templates
		}
		if built.Close != nil {
			g.closers = append(g.closers, built.Close)
		}
	}
	return g, nil
}
