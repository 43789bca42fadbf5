package queue

import (
	"context"
	"sync"
	"time"
)

// gatewayState is the loop's view of the gateway pauses recorded by every
// process, and how fresh that view is.
type gatewayState struct {
	mu          sync.Mutex
	blocked     map[string]string // gateway → reason
	lastRefresh time.Time
	// viewSeq is the claim count when the last full read of the pauses and
	// the settings began, so an item of a claim numbered at most viewSeq
	// was claimed before that view was read.
	viewSeq uint64
	// viewMu lets one such read run at a time.
	viewMu sync.Mutex
}

func newGatewayState() *gatewayState {
	return &gatewayState{blocked: map[string]string{}}
}

// refreshDue reports whether every has passed since the last periodic read
// of the pauses, and if so counts one as begun at now.
func (g *gatewayState) refreshDue(now time.Time, every time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.lastRefresh) < every {
		return false
	}
	g.lastRefresh = now
	return true
}

// setBlocked replaces the pauses with those just read.
func (g *gatewayState) setBlocked(blocked map[string]string) {
	g.mu.Lock()
	g.blocked = blocked
	g.mu.Unlock()
}

// isBlocked returns the reason gateway is paused, if it is.
func (g *gatewayState) isBlocked(gateway string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.blocked[gateway]
	return r, ok
}

// block pauses gateway for reason and reports whether it was paused already.
func (g *gatewayState) block(gateway, reason string) (already bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, already = g.blocked[gateway]
	g.blocked[gateway] = reason
	return already
}

// viewFresh reports whether a full read began after claim.
func (g *gatewayState) viewFresh(claim uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.viewSeq >= claim
}

// viewRead records a full read that began at claim count seq.
func (g *gatewayState) viewRead(seq uint64) {
	g.mu.Lock()
	g.viewSeq = max(g.viewSeq, seq)
	g.mu.Unlock()
}

// maintain runs the periodic work of the fetcher when it is due: reading
// gateway blocks set by other processes. (Stale locks are the Rescuer's.)
func (l *Loop) maintain(ctx context.Context) {
	if l.gw.refreshDue(l.cfg.Now(), l.cfg.GatewayStateRefresh) {
		l.refreshGatewayStates(ctx)
	}
}

// refreshGatewayStates reads the pauses recorded by every process, and
// reports whether it could.
func (l *Loop) refreshGatewayStates(ctx context.Context) bool {
	states, err := l.store.GatewayStates(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("read gateway states", "err", err)
		}
		return false
	}
	blocked := map[string]string{}
	for _, s := range states {
		if s.Blocked {
			blocked[s.Gateway] = s.BlockedReason
		}
	}
	l.gw.setBlocked(blocked)
	return true
}

// refreshView reads the pauses and (through Config.RefreshSettings) the
// settings again, unless a read that began after claim did already. It
// reports whether it read them.
func (l *Loop) refreshView(ctx context.Context, claim uint64) bool {
	l.gw.viewMu.Lock()
	defer l.gw.viewMu.Unlock()
	if l.gw.viewFresh(claim) {
		return false
	}
	seq := l.claims.Load()
	if l.cfg.RefreshSettings != nil {
		l.cfg.RefreshSettings()
	}
	if !l.refreshGatewayStates(ctx) {
		return false
	}
	l.gw.viewRead(seq)
	return true
}

// block pauses gateway in this process and records the pause for the
// others, the first time.
func (l *Loop) block(gateway, reason string) {
	if l.gw.block(gateway, reason) {
		return
	}
	l.log.Warn("gateway paused: the provider refuses this sender; items stay queued until an admin fixes it",
		"gateway", gateway, "reason", reason)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.store.BlockGateway(ctx, gateway, reason); err != nil {
		l.log.Error("record gateway block", "gateway", gateway, "err", err)
	}
}
