package queue

import (
	"context"
	"time"
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
	l.paces.apply(t.GatewayRates)
	return t
}

// currentTuning is the tuning read last.
func (l *Loop) currentTuning() Tuning {
	if t := l.tuning.Load(); t != nil {
		return *t
	}
	return l.static
}

// retryPolicy is Config.Retry when set, else the backoff of the tuning t
// (the one in force when a failure is decided).
func (l *Loop) retryPolicy(t Tuning) RetryPolicy {
	if l.cfg.Retry != nil {
		return l.cfg.Retry
	}
	return Backoff{Base: t.RetryBase, Cap: t.RetryMaxDelay, Jitter: retryJitter}
}
