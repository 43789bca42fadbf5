package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// Store is what the dispatcher needs; *store.DB satisfies it.
type Store interface {
	DueCampaigns(ctx context.Context, status string, before time.Time) ([]int64, error)
	WithCampaign(ctx context.Context, id int64, fn func(tx *store.CampaignTx) error) (store.Campaign, error)
}

// maxSlotsPerPass bounds how many contacts one pass queues for one
// campaign.
const maxSlotsPerPass = 500

// Slots is the pacing rule: from the campaign's next slot (never one
// further back than one interval, so slots missed while nobody dispatched
// are not caught up in a burst), how many slots fall before now+horizon.
func Slots(c store.Campaign, now time.Time, horizon time.Duration) (next time.Time, n int) {
	next = c.NextSendAt
	if next.IsZero() || next.Before(now.Add(-c.Interval)) {
		next = now
	}
	end := now.Add(horizon)
	if next.After(end) {
		return next, 0
	}
	n = maxSlotsPerPass
	if c.Interval > 0 {
		n = min(n, int(end.Sub(next)/c.Interval)+1)
	}
	return next, n
}

// Items turns contacts into queue items, one per slot from next on, with
// template parameters and flow variables filled from each contact. A
// contact whose phone opted out takes no slot: it comes back in optedOut,
// an item to record as never sent, and not in items.
func Items(c store.Campaign, contacts []store.Contact, next time.Time, maxAttempts int) (items, optedOut []store.NewQueueItem, after time.Time) {
	items = make([]store.NewQueueItem, 0, len(contacts))
	for _, ct := range contacts {
		content := c.Content
		switch content.Kind {
		case store.ContentFlow:
			content.FlowVariables = ct.Vars
		case store.ContentTemplate:
			content = FillContent(content, ct.Name, ct.Vars)
		}
		it := store.NewQueueItem{Phone: ct.Phone, Content: content, Gateway: c.Gateway, Priority: store.PriorityCampaign,
			CampaignID: c.ID, ContactID: ct.ID, MaxAttempts: maxAttempts, NotBefore: next, CreatedBy: fmt.Sprintf("campaign:%d", c.ID)}
		if ct.OptedOut {
			optedOut = append(optedOut, it)
			continue
		}
		items = append(items, it)
		next = next.Add(c.Interval)
	}
	return items, optedOut, next
}

// Dispatch queues the campaign's next contacts whose slots fall before
// now+horizon, under the lock on its row, so the interval holds however
// many processes dispatch and however many workers send. A contact whose
// phone opted out is recorded as opted out instead, taking no slot. A
// running campaign with no contacts left and nothing open completes. It
// returns how many items it queued.
func Dispatch(tx *store.CampaignTx, horizon time.Duration, maxAttempts int) (int, error) {
	c := tx.Campaign()
	if c.Status != store.CampaignRunning || !c.DeletedAt.IsZero() {
		return 0, nil
	}
	now := tx.Now()
	next, n := Slots(c, now, horizon)
	if n == 0 {
		return 0, nil
	}
	// Opted-out contacts free their slots for the contacts after them; the
	// contacts looked at in one pass stay bounded all the same.
	var items []store.NewQueueItem
	seen, exhausted := 0, false
	for len(items) < n && seen < maxSlotsPerPass {
		contacts, err := tx.PendingContacts(min(n-len(items), maxSlotsPerPass-seen))
		if err != nil {
			return 0, err
		}
		if len(contacts) == 0 {
			exhausted = true
			break
		}
		seen += len(contacts)
		more, optedOut, after := Items(c, contacts, next, maxAttempts)
		if err := tx.EndOptedOut(optedOut); err != nil {
			return 0, err
		}
		if err := tx.Enqueue(more); err != nil {
			return 0, err
		}
		items, next = append(items, more...), after
	}
	if len(items) == 0 {
		if !exhausted {
			return 0, nil
		}
		open, err := tx.OpenItems()
		if err != nil || open > 0 {
			return 0, err
		}
		status := store.CampaignCompleted
		return 0, tx.Update(store.CampaignUpdate{Status: &status, CompletedAt: &now})
	}
	return len(items), tx.Update(store.CampaignUpdate{NextSendAt: &next})
}

// DispatcherConfig tunes a Dispatcher. Zero values take the defaults shown.
type DispatcherConfig struct {
	// Tick is how often campaigns are looked at, and how far ahead slots
	// are queued (1s).
	Tick time.Duration
	// MaxAttempts gives campaign items their attempts, read on each pass
	// (5).
	MaxAttempts func(ctx context.Context) int
	// Notify wakes the delivery loop after items were queued.
	Notify func()
	// Now is the clock for scheduled starts (time.Now).
	Now func() time.Time
	// Ready is the readiness check a scheduled campaign passes when its
	// time comes (see Readiness); nil checks only contacts and content.
	Ready Readiness
}

// Dispatcher is the service that starts scheduled campaigns when their
// time comes and turns running campaigns' contacts into queue items.
type Dispatcher struct {
	st  Store
	cfg DispatcherConfig
	log *slog.Logger
}

// NewDispatcher returns a dispatcher; call Run.
func NewDispatcher(st Store, cfg DispatcherConfig, log *slog.Logger) *Dispatcher {
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.MaxAttempts == nil {
		cfg.MaxAttempts = func(context.Context) int { return 5 }
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{st: st, cfg: cfg, log: log.With("component", "queue.campaigns")}
}

// Run dispatches every tick until ctx is cancelled, when it returns nil.
// A failed pass is logged and tried again at the next tick: a database
// outage delays campaigns, it does not stop them.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Tick)
	defer t.Stop()
	for {
		n, err := d.Once(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			d.log.Error("campaign dispatch failed; trying again", "err", err)
		case n > 0:
			d.cfg.Notify()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// notReady pauses a scheduled campaign that was not ready at its time,
// with the reason, and tells the one who scheduled it (a staff notice).
func (d *Dispatcher) notReady(tx *store.CampaignTx, nr *NotReadyError) error {
	c := tx.Campaign()
	now := tx.Now()
	status := store.CampaignPaused
	reason := "it did not start at its scheduled time: " + nr.Reason
	if err := tx.Update(store.CampaignUpdate{Status: &status, PausedAt: &now, PauseReason: &reason}); err != nil {
		return err
	}
	told, err := tx.NotifyScheduler()
	if err != nil {
		return err
	}
	d.log.Warn("scheduled campaign not ready; paused", "campaign", c.ID, "reason", nr.Reason, "scheduler_told", told)
	return nil
}

// Once runs one pass: scheduled campaigns whose time has come start when
// ready (a campaign that is not goes to paused with the reason, and its
// scheduler is told), and every running campaign queues its slots due
// within the next tick. It returns how many items it queued.
func (d *Dispatcher) Once(ctx context.Context) (int, error) {
	now := d.cfg.Now()
	ids, err := d.st.DueCampaigns(ctx, store.CampaignScheduled, now)
	if err != nil {
		return 0, fmt.Errorf("dispatch: %w", err)
	}
	var errs []error
	for _, id := range ids {
		_, err := d.st.WithCampaign(ctx, id, func(tx *store.CampaignTx) error {
			c := tx.Campaign()
			if c.Status != store.CampaignScheduled || c.ScheduledAt.After(now) {
				return nil // another process got there first
			}
			err := Apply(tx, Start, time.Time{}, d.cfg.Ready)
			var nr *NotReadyError
			if errors.As(err, &nr) {
				// Its gateway, content or contacts changed since it was
				// scheduled: it does not start. It waits, paused with the
				// reason, and the one who scheduled it is told.
				return d.notReady(tx, nr)
			}
			if err == nil && c.ScheduledAt.Before(tx.Now()) {
				at := c.ScheduledAt
				err = tx.Update(store.CampaignUpdate{NextSendAt: &at})
			}
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("start campaign %d: %w", id, err))
		}
	}
	ids, err = d.st.DueCampaigns(ctx, store.CampaignRunning, now.Add(d.cfg.Tick))
	if err != nil {
		return 0, errors.Join(append(errs, fmt.Errorf("dispatch: %w", err))...)
	}
	maxAttempts := d.cfg.MaxAttempts(ctx)
	total := 0
	for _, id := range ids {
		var n int
		_, err := d.st.WithCampaign(ctx, id, func(tx *store.CampaignTx) error {
			var err error
			n, err = Dispatch(tx, d.cfg.Tick, maxAttempts)
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("dispatch campaign %d: %w", id, err))
			continue
		}
		total += n
	}
	return total, errors.Join(errs...)
}
