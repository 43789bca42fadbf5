// Package dryrun is the gateway of a fresh install: it sends nothing, records
// what it would have sent, returns a message id, and after a short delay
// reports simulated delivered and read receipts, so the whole pipeline can be
// tried without a provider account.
package dryrun

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// Name is the gateway's name in settings and on queue items.
const Name = "dryrun"

var _ queue.Sender = (*Gateway)(nil)

// ReceiptSink applies delivery receipts; *store.DB satisfies it.
type ReceiptSink interface {
	ApplyReceipt(ctx context.Context, r store.Receipt) (bool, error)
}

// Record is one send the gateway pretended to make.
type Record struct {
	ItemID     int64
	Phone      string
	Kind       queue.Kind
	ProviderID string
	At         time.Time
}

// Options configure the gateway.
type Options struct {
	// Receipts gets the simulated receipts; nil sends none.
	Receipts ReceiptSink
	// ReceiptDelay is the wait before "delivered"; "read" follows after the
	// same again (default 2s).
	ReceiptDelay time.Duration
	// Keep is how many recent records are kept for inspection (default 1000).
	Keep   int
	Logger *slog.Logger
}

// Gateway is the dry-run gateway. It is safe for concurrent use.
type Gateway struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	records []Record
	timers  map[*time.Timer]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// New returns a dry-run gateway.
func New(opts Options) *Gateway {
	if opts.ReceiptDelay <= 0 {
		opts.ReceiptDelay = 2 * time.Second
	}
	if opts.Keep <= 0 {
		opts.Keep = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Gateway{opts: opts, log: opts.Logger.With("component", "gateways.dryrun"), timers: map[*time.Timer]struct{}{}}
}

// Send records the delivery and schedules its receipts.
func (g *Gateway) Send(ctx context.Context, d queue.Delivery) (string, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := "dryrun." + hex.EncodeToString(b)
	rec := Record{ItemID: d.ItemID, Phone: d.Phone, Kind: d.Kind, ProviderID: id, At: time.Now().UTC()}
	g.mu.Lock()
	g.records = append(g.records, rec)
	if over := len(g.records) - g.opts.Keep; over > 0 {
		g.records = append(g.records[:0], g.records[over:]...)
	}
	g.mu.Unlock()
	g.log.Info("dry run: message not sent", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "kind", d.Kind, "provider_id", id)
	if g.opts.Receipts != nil {
		g.after(g.opts.ReceiptDelay, store.Receipt{Gateway: Name, ProviderMessageID: id, Status: store.StatusDelivered})
		g.after(2*g.opts.ReceiptDelay, store.Receipt{Gateway: Name, ProviderMessageID: id, Status: store.StatusRead})
	}
	return id, nil
}

func (g *Gateway) after(d time.Duration, r store.Receipt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	var t *time.Timer
	g.wg.Add(1)
	t = time.AfterFunc(d, func() {
		defer g.wg.Done()
		g.mu.Lock()
		delete(g.timers, t)
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.At = time.Now().UTC()
		if _, err := g.opts.Receipts.ApplyReceipt(ctx, r); err != nil {
			g.log.Warn("dry run: simulated receipt not applied", "provider_id", r.ProviderMessageID, "err", err)
		}
	})
	g.timers[t] = struct{}{}
}

// Sent returns the most recent records, oldest first.
func (g *Gateway) Sent() []Record {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Record(nil), g.records...)
}

// Close drops receipts not yet due and waits for those being applied.
func (g *Gateway) Close() {
	g.mu.Lock()
	g.closed = true
	for t := range g.timers {
		if t.Stop() {
			g.wg.Done()
		}
		delete(g.timers, t)
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// Definition describes the dry run to the wiring: it accepts everything,
// is always ready, and fakes delivered and read receipts.
func Definition() gateways.Definition {
	return gateways.Definition{
		Name: Name,
		Caps: queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true},
		Open: func(_ context.Context, env gateways.Env) (gateways.Gateway, error) {
			g := New(Options{Receipts: env.DB, Logger: env.Logger})
			return gateways.Gateway{Sender: g, Close: g.Close}, nil
		},
	}
}
