package bot

import (
	"context"
	"log/slog"
	"time"
)

// Leaser grants named leases; *store.DB satisfies it.
type Leaser interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// RunWithLease runs fn only while this process holds the named lease, so
// that of several instances sharing a database exactly one polls Telegram
// or holds the WhatsApp session. It renews the lease every ttl/3; when a
// renewal fails it cancels fn's context and waits for fn, then tries to
// take the lease again. When another holder dies its lease expires after
// ttl and this process takes over. It returns when ctx is cancelled.
func RunWithLease(ctx context.Context, l Leaser, name, holder string, ttl time.Duration, log *slog.Logger, fn func(ctx context.Context) error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("lease", name, "holder", holder)
	tick := ttl / 3
	for ctx.Err() == nil {
		got, err := l.AcquireLease(ctx, name, holder, ttl)
		if err != nil && ctx.Err() == nil {
			log.Warn("lease: acquire failed", "err", err)
		}
		if !got {
			sleep(ctx, tick)
			continue
		}
		log.Info("lease acquired; starting")
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- fn(runCtx) }()
		held := true
		for held {
			select {
			case err := <-done:
				if err != nil && ctx.Err() == nil {
					log.Error("stopped with an error; restarting", "err", err)
				}
				held = false
				done = nil
			case <-ctx.Done():
				held = false
			case <-time.After(tick):
				ok, err := l.AcquireLease(ctx, name, holder, ttl)
				if !ok && ctx.Err() == nil {
					log.Warn("lease lost; stopping", "err", err)
					held = false
				}
			}
		}
		cancel()
		if done != nil {
			<-done
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := l.ReleaseLease(rctx, name, holder); err != nil {
			log.Warn("lease: release failed", "err", err)
		}
		rcancel()
		if ctx.Err() == nil {
			sleep(ctx, tick) // do not spin when fn keeps failing at once
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
