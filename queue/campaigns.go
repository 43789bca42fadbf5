package queue

import (
	"context"
	"log/slog"
	"time"
)

// CampaignStore hands out campaign send slots; *store.DB satisfies it.
type CampaignStore interface {
	DispatchCampaigns(ctx context.Context, horizon time.Duration, maxAttempts int) (int, error)
}

// Dispatcher turns running campaigns' contacts into queue items, one per
// send slot, every Tick. The store paces them (each item is due at its
// slot), so any number of dispatchers and workers keep the interval.
type Dispatcher struct {
	store       CampaignStore
	tick        time.Duration
	maxAttempts int
	notify      func()
	log         *slog.Logger
}

// NewDispatcher returns a dispatcher that looks every tick for slots due
// within the next tick, gives campaign items maxAttempts, and calls notify
// (the loop's Notify) when it queued something.
func NewDispatcher(st CampaignStore, tick time.Duration, maxAttempts int, notify func(), log *slog.Logger) *Dispatcher {
	if tick <= 0 {
		tick = time.Second
	}
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	if notify == nil {
		notify = func() {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{store: st, tick: tick, maxAttempts: maxAttempts, notify: notify, log: log.With("component", "queue.campaigns")}
}

// Run dispatches until ctx is cancelled.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.tick)
	defer t.Stop()
	for {
		n, err := d.store.DispatchCampaigns(ctx, d.tick, d.maxAttempts)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error("campaign dispatch failed", "err", err)
		case n > 0:
			d.notify()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
