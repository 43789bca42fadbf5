package queue

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the tuning when neither Config nor Config.Tuning give a value.
const (
	defaultWorkers       = 8
	defaultRetryBase     = 30 * time.Second
	defaultRetryMaxDelay = time.Hour
	defaultLockTimeout   = 5 * time.Minute
	retryJitter          = 0.2
)

// fill completes t with fallback's values where t has none that make sense:
// Workers and the durations must be positive, spacing not negative. Rates
// are t's own (nil: unlimited).
func (t Tuning) fill(fallback Tuning) Tuning {
	if t.Workers <= 0 {
		t.Workers = fallback.Workers
	}
	if t.RetryBase <= 0 {
		t.RetryBase = fallback.RetryBase
	}
	if t.RetryMaxDelay <= 0 {
		t.RetryMaxDelay = fallback.RetryMaxDelay
	}
	if t.LockTimeout <= 0 {
		t.LockTimeout = fallback.LockTimeout
	}
	if t.RecipientSpacing < 0 {
		t.RecipientSpacing = 0
	}
	return t
}

// refreshTuning reads the tuning, makes it the one in force and applies
// what needs applying (gateway rate limiters). The fetcher calls it on
// every claim cycle.
func (l *Loop) refreshTuning(ctx context.Context) Tuning {
	t := l.static
	if l.cfg.Tuning != nil {
		t = l.cfg.Tuning(ctx).fill(l.static)
	}
	if prev := l.tuning.Swap(&t); prev != nil && prev.Workers != t.Workers {
		l.log.Info("workers changed", "from", prev.Workers, "to", t.Workers)
	}
	l.limiters.set(t.GatewayRates)
	return t
}

// currentTuning is the tuning read last.
func (l *Loop) currentTuning() Tuning {
	if t := l.tuning.Load(); t != nil {
		return *t
	}
	return l.static
}

// retryPolicy is Config.Retry when set, else the backoff of the tuning in
// force.
func (l *Loop) retryPolicy() RetryPolicy {
	if l.cfg.Retry != nil {
		return l.cfg.Retry
	}
	t := l.currentTuning()
	return Backoff{Base: t.RetryBase, Cap: t.RetryMaxDelay, Jitter: retryJitter}
}

// limiters holds one rate limiter per gateway with a send rate.
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// burstFor is the burst allowed at perSec sends a second: a tenth of a
// second's worth, at least 1.
func burstFor(perSec float64) int { return max(1, int(perSec/10)) }

// set makes the limiters follow rates: a gateway with a new positive rate
// gets a limiter, one whose rate changed has it updated in place (sends
// waiting on it keep their place), and one whose rate is gone or 0 loses
// its limit.
func (ls *limiters) set(rates map[string]float64) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for name, perSec := range rates {
		if !(perSec > 0) || math.IsInf(perSec, 1) {
			continue
		}
		lim, ok := ls.m[name]
		if !ok {
			if ls.m == nil {
				ls.m = map[string]*rate.Limiter{}
			}
			ls.m[name] = rate.NewLimiter(rate.Limit(perSec), burstFor(perSec))
			continue
		}
		if lim.Limit() != rate.Limit(perSec) {
			lim.SetLimit(rate.Limit(perSec))
		}
		if b := burstFor(perSec); lim.Burst() != b {
			lim.SetBurst(b)
		}
	}
	for name, lim := range ls.m {
		if perSec := rates[name]; !(perSec > 0) || math.IsInf(perSec, 1) {
			lim.SetLimit(rate.Inf) // for sends that already hold it
			delete(ls.m, name)
		}
	}
}

// get returns gateway's limiter, nil when it is unlimited.
func (ls *limiters) get(gateway string) *rate.Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.m[gateway]
}
