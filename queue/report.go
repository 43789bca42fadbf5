package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// ReportStore is what reporting reads.
type ReportStore interface {
	QueueStatusCounts(ctx context.Context, since time.Time) (map[store.QueueStatus]int64, error)
	OptedOutCount(ctx context.Context, since time.Time) (int64, error)
	QueueSendsByGateway(ctx context.Context, since time.Time) (map[string]int64, error)
	OldestDueQueued(ctx context.Context) (time.Time, bool, error)
	CountFailedSince(ctx context.Context, since time.Time) (int64, error)
	Heartbeats(ctx context.Context, since time.Time) ([]store.Heartbeat, error)
	GatewayStates(ctx context.Context) ([]store.GatewayState, error)
	GatewayInUse(ctx context.Context, gateway string) (bool, error)
}

// Reporter answers what operators ask of the queue.
type Reporter struct {
	store ReportStore
	now   func() time.Time
	// BlockedAfter is how long the oldest due item may wait before the
	// queue counts as blocked (default 10m).
	BlockedAfter time.Duration
	// HeartbeatStale is how old the newest heartbeat may be before "no
	// processor" is raised (default 1m).
	HeartbeatStale time.Duration
	// Active, when set, names the active gateway: a paused gateway is
	// then reported only while it matters (see PausedGateways). Nil
	// reports every paused gateway.
	Active func(ctx context.Context) string
}

// NewReporter returns a reporter; now is the clock (nil: time.Now).
func NewReporter(st ReportStore, now func() time.Time) *Reporter {
	if now == nil {
		now = time.Now
	}
	return &Reporter{store: st, now: now, BlockedAfter: 10 * time.Minute, HeartbeatStale: time.Minute}
}

// Window is a reporting window and the item counts in it by status.
type Window struct {
	Name   string // 1h, 24h, 7d, 30d, all
	Since  time.Time
	Counts map[store.QueueStatus]int64
}

// WindowNames are the five reporting windows, shortest first.
func WindowNames() []string { return []string{"1h", "24h", "7d", "30d", "all"} }

// WindowStart returns when a named window starts (zero for "all").
func WindowStart(name string, now time.Time) (time.Time, error) {
	switch name {
	case "1h":
		return now.Add(-time.Hour), nil
	case "24h":
		return now.Add(-24 * time.Hour), nil
	case "7d":
		return now.Add(-7 * 24 * time.Hour), nil
	case "30d":
		return now.Add(-30 * 24 * time.Hour), nil
	case "all":
		return time.Time{}, nil
	default:
		return time.Time{}, fmt.Errorf("unknown window %q: use 1h, 24h, 7d, 30d or all", name)
	}
}

// Window counts items created in one named window by status. Campaign
// items never sent because their number opted out count under
// store.StatusOptedOut, not cancelled.
func (r *Reporter) Window(ctx context.Context, name string) (Window, error) {
	since, err := WindowStart(name, r.now())
	if err != nil {
		return Window{}, err
	}
	counts, err := r.counts(ctx, since)
	if err != nil {
		return Window{}, fmt.Errorf("window %s: %w", name, err)
	}
	return Window{Name: name, Since: since, Counts: counts}, nil
}

// counts counts items created at or after since (zero: all) by status,
// with the items never sent because their number opted out under
// store.StatusOptedOut rather than cancelled.
func (r *Reporter) counts(ctx context.Context, since time.Time) (map[store.QueueStatus]int64, error) {
	counts, err := r.store.QueueStatusCounts(ctx, since)
	if err != nil {
		return nil, err
	}
	optedOut, err := r.store.OptedOutCount(ctx, since)
	if err != nil {
		return nil, err
	}
	// Two reads: an item ended between them is counted once, as opted out.
	counts[store.StatusCancelled] = max(0, counts[store.StatusCancelled]-optedOut)
	counts[store.StatusOptedOut] = optedOut
	return counts, nil
}

// Windows counts items by status in each of the five windows.
func (r *Reporter) Windows(ctx context.Context) ([]Window, error) {
	out := make([]Window, 0, 5)
	for _, name := range WindowNames() {
		w, err := r.Window(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// Warning is something an operator should act on.
type Warning struct {
	Kind    string // blocked_queue, permanent_failures, no_processor, gateway_blocked
	Message string
	// Gateway and Reason are the paused gateway and the provider's
	// (sanitized) reason of a gateway_blocked warning, for faces that
	// word it themselves.
	Gateway string
	Reason  string
}

// Health is the queue's state at a glance.
type Health struct {
	Now            time.Time
	Counts         map[store.QueueStatus]int64 // all time, opted out apart (see Window)
	OldestDue      time.Time                   // zero when nothing is queued
	OldestDueAge   time.Duration
	FailedLastHour int64
	Processors     []store.Heartbeat
	SendsByGateway map[string]int64 // last 24h
	// BlockedGateways are the paused gateways that matter (see
	// PausedGateways).
	BlockedGateways []store.GatewayState
	Warnings        []Warning
}

// Health gathers counts, processors and warnings.
func (r *Reporter) Health(ctx context.Context) (Health, error) {
	now := r.now()
	h := Health{Now: now}
	var err error
	if h.Counts, err = r.counts(ctx, time.Time{}); err != nil {
		return Health{}, err
	}
	oldest, ok, err := r.store.OldestDueQueued(ctx)
	if err != nil {
		return Health{}, err
	}
	if ok {
		h.OldestDue = oldest
		if age := now.Sub(oldest); age > 0 {
			h.OldestDueAge = age
		}
	}
	if h.FailedLastHour, err = r.store.CountFailedSince(ctx, now.Add(-time.Hour)); err != nil {
		return Health{}, err
	}
	if h.Processors, err = r.store.Heartbeats(ctx, now.Add(-r.HeartbeatStale)); err != nil {
		return Health{}, err
	}
	if h.SendsByGateway, err = r.store.QueueSendsByGateway(ctx, now.Add(-24*time.Hour)); err != nil {
		return Health{}, err
	}
	if h.BlockedGateways, err = r.PausedGateways(ctx); err != nil {
		return Health{}, err
	}
	h.Warnings = warnings(h, r.BlockedAfter)
	return h, nil
}

// PausedGateways returns the paused gateways that still matter: the active
// one, and any other that a queued item or a running or scheduled campaign
// names. A gateway paused and then switched away from, with nothing left
// naming it, is not reported: nothing waits for it. (Its pause stays on
// record and is lifted when it is chosen again.)
func (r *Reporter) PausedGateways(ctx context.Context) ([]store.GatewayState, error) {
	states, err := r.store.GatewayStates(ctx)
	if err != nil {
		return nil, err
	}
	active := ""
	if r.Active != nil {
		active = r.Active(ctx)
	}
	var out []store.GatewayState
	for _, s := range states {
		if !s.Blocked {
			continue
		}
		if r.Active != nil && s.Gateway != active {
			used, err := r.store.GatewayInUse(ctx, s.Gateway)
			if err != nil {
				return nil, err
			}
			if !used {
				continue
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// warnings derives the operator warnings from a health snapshot.
func warnings(h Health, blockedAfter time.Duration) []Warning {
	var ws []Warning
	if h.OldestDueAge > blockedAfter {
		ws = append(ws, Warning{Kind: "blocked_queue", Message: fmt.Sprintf("the oldest due message has waited %s", h.OldestDueAge.Round(time.Second))})
	}
	if h.FailedLastHour > 0 {
		ws = append(ws, Warning{Kind: "permanent_failures", Message: words.Count(int(h.FailedLastHour), "message") + " failed in the last hour"})
	}
	if len(h.Processors) == 0 {
		ws = append(ws, Warning{Kind: "no_processor", Message: "no delivery processor is running"})
	}
	for _, g := range h.BlockedGateways {
		ws = append(ws, Warning{Kind: "gateway_blocked", Message: fmt.Sprintf("gateway %s is paused: %s", g.Gateway, g.BlockedReason),
			Gateway: g.Gateway, Reason: g.BlockedReason})
	}
	return ws
}
