package queue

import (
	"context"
	"time"
)

// maintain runs the periodic work of the fetcher when it is due: reading
// gateway blocks set by other processes. (Stale locks are the Rescuer's.)
func (l *Loop) maintain(ctx context.Context) {
	now := l.cfg.Now()
	l.mu.Lock()
	refresh := now.Sub(l.lastRefresh) >= l.cfg.GatewayStateRefresh
	if refresh {
		l.lastRefresh = now
	}
	l.mu.Unlock()
	if refresh {
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
	l.mu.Lock()
	l.blocked = blocked
	l.mu.Unlock()
	return true
}

// refreshView reads the pauses and (through Config.RefreshSettings) the
// settings again, unless a read that began after claim did already. It
// reports whether it read them.
func (l *Loop) refreshView(ctx context.Context, claim uint64) bool {
	l.viewMu.Lock()
	defer l.viewMu.Unlock()
	l.mu.Lock()
	fresh := l.viewSeq >= claim
	l.mu.Unlock()
	if fresh {
		return false
	}
	seq := l.claims.Load()
	if l.cfg.RefreshSettings != nil {
		l.cfg.RefreshSettings()
	}
	if !l.refreshGatewayStates(ctx) {
		return false
	}
	l.mu.Lock()
	l.viewSeq = max(l.viewSeq, seq)
	l.mu.Unlock()
	return true
}

func (l *Loop) isBlocked(gateway string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.blocked[gateway]
	return r, ok
}

func (l *Loop) block(gateway, reason string) {
	l.mu.Lock()
	_, already := l.blocked[gateway]
	l.blocked[gateway] = reason
	l.mu.Unlock()
	if already {
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

// holdRecipient makes the next send to phone wait until at least until.
func (l *Loop) holdRecipient(phone string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.recipientHold[phone]) {
		l.recipientHold[phone] = until
	}
}

// reserveRecipient books a send to phone now, or says how long to wait
// because the last send to it was less than RecipientSpacing ago.
func (l *Loop) reserveRecipient(phone string) (time.Duration, bool) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if until, ok := l.recipientHold[phone]; ok {
		if wait := until.Sub(now); wait > 0 {
			return wait, false
		}
		delete(l.recipientHold, phone)
	}
	spacing := l.currentTuning().RecipientSpacing
	if spacing <= 0 {
		return 0, true
	}
	if last, ok := l.lastSend[phone]; ok {
		if wait := last.Add(spacing).Sub(now); wait > 0 {
			return wait, false
		}
	}
	if len(l.lastSend) > 10_000 {
		for p, t := range l.lastSend {
			if now.Sub(t) >= spacing {
				delete(l.lastSend, p)
			}
		}
	}
	l.lastSend[phone] = now
	return 0, true
}
