package queue

import (
	"context"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// Loop claims due items and delivers them through their gateways.
type Loop struct {
	cfg      Config
	store    Store
	gateways Gateways
	log      *slog.Logger
	wake     chan struct{}

	// static is the tuning made of the Config fields: what Tuning falls
	// back to. tuning is the one read last.
	static Tuning
	tuning atomic.Pointer[Tuning]
	// pacer paces each gateway: at its configured rate, slowed down by
	// the provider's rate-limit answers and back up while they stop.
	pacer *Pacer
	paces *paceView

	// inFlight counts claimed items not yet finished; freed is signalled
	// each time one finishes.
	inFlightMu sync.Mutex
	inFlight   int
	freed      chan struct{}

	// outbox holds the outcomes not yet written and the items they are for.
	outbox *outbox
	// gw is the view of the gateway pauses; recipients spaces the sends to
	// each phone.
	gw         *gatewayState
	recipients *recipients

	// claims counts the claims this loop has made (see gatewayState.viewSeq).
	claims atomic.Uint64
}

// New returns a loop; call Run to start it.
func New(cfg Config, st Store, gws Gateways, log *slog.Logger) *Loop {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Loop{
		cfg:        cfg,
		store:      st,
		gateways:   gws,
		log:        log.With("component", "queue.loop", "processor", cfg.ProcessorID),
		wake:       make(chan struct{}, 1),
		freed:      make(chan struct{}, 1),
		outbox:     newOutbox(),
		gw:         newGatewayState(),
		recipients: newRecipients(),
		static: Tuning{
			Workers:          cfg.Workers,
			RetryBase:        defaultRetryBase,
			RetryMaxDelay:    defaultRetryMaxDelay,
			LockTimeout:      cfg.LockTimeout,
			RecipientSpacing: max(0, cfg.RecipientSpacing),
			GatewayRates:     cfg.GatewayRates,
		},
	}
	// A gentler decrease than TCP's halving: a provider's per-second quota
	// refills within a second, so three quarters keeps more of it used
	// (measured with `messagebridge bench pacing`: 0.87× the provider's
	// rate accepted at 0.75, 0.74× at 0.5, both under 5% rate-limit
	// answers).
	l.pacer = NewPacer(PacerConfig{Decrease: 0.75})
	l.paces = newPaceView(l.pacer)
	l.paces.apply(l.static.GatewayRates)
	return l
}

// ProcessorID names this loop in locks and heartbeats.
func (l *Loop) ProcessorID() string { return l.cfg.ProcessorID }

// Notify wakes the loop to claim at once; call it after enqueueing.
func (l *Loop) Notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled. Then it claims nothing more,
// releases the claimed items not yet sent (their attempt refunded), lets
// the sends in flight finish for at most Config.DrainTimeout before it
// cuts them, writes every outcome decided (for at most
// Config.FinalWriteTimeout) and returns, leaving no item locked by this
// loop unless the database would not take the outcomes.
func (l *Loop) Run(ctx context.Context) error {
	started := l.cfg.Now()
	// Work that goes on after ctx is cancelled, for a bounded time: sends
	// in flight, and the writing of outcomes.
	s, over := l.stagesOf(ctx)
	defer over()
	t := l.refreshTuning(ctx)

	var sends sync.WaitGroup
	workersDone := make(chan struct{})
	completerDone := make(chan struct{})
	go func() {
		defer close(completerDone)
		l.complete(s.finish, workersDone)
	}()
	// The heartbeat renews the locks of the sends in flight until every
	// outcome is written, stop or not: a lock left to lapse while a send
	// drains would let another process's rescuer send the item again.
	hbCtx, stopHeartbeat := context.WithCancel(s.finish)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		l.heartbeat(hbCtx, started)
	}()

	l.log.Info("delivery loop started", "workers", t.Workers)
	err := l.fetch(s, &sends)

	sends.Wait()
	close(workersDone)
	<-completerDone
	stopHeartbeat()
	<-hbDone
	dctx, cancel := context.WithTimeout(s.finish, 5*time.Second)
	defer cancel()
	if derr := l.store.DeleteHeartbeat(dctx, l.cfg.ProcessorID); derr != nil {
		l.log.Warn("remove heartbeat", "err", derr)
	}
	l.log.Info("delivery loop stopped")
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil // stopped as asked
	}
	return err
}

// fetch claims as many due items as there are free workers and starts a
// send for each, until ctx is cancelled. It reads the tuning on every
// cycle, so a change of Workers takes effect with the next claim: raised,
// more items are claimed; lowered, sends in flight finish and fewer are
// claimed until the count is under the new number.
func (l *Loop) fetch(s stages, sends *sync.WaitGroup) error {
	ctx := s.claim
	for {
		t := l.refreshTuning(ctx)
		free := t.Workers - l.running()
		if l.outbox.count() >= l.cfg.MaxPendingOutcomes {
			// Outcomes are not being written (the database is away):
			// claim nothing more until they are.
			free = 0
		}
		if free <= 0 {
			// Every worker is busy: wait for one to finish, looking at
			// the tuning again now and then in case Workers was raised.
			if err := l.waitFreed(ctx, l.cfg.PollInterval); err != nil {
				return err
			}
			continue
		}
		if free < t.Workers {
			// Workers that are finishing free up within moments: gather
			// them briefly, so one claim fills them all.
			gather := time.NewTimer(l.cfg.ClaimGather)
		take:
			for free < t.Workers {
				select {
				case <-l.freed:
					free = t.Workers - l.running()
				case <-gather.C:
					break take
				}
			}
			gather.Stop()
		}

		l.maintain(ctx)
		outs := l.outbox.take()
		applied, items, err := l.store.CompleteAndClaim(ctx, outs, store.ClaimParams{Limit: free, Owner: l.cfg.ProcessorID, Token: randomHex(16)})
		if err != nil {
			l.outbox.putBack(outs) // the completer writes them
			if ctx.Err() == nil {
				l.log.Error("claim failed", "err", err)
			}
		} else {
			l.written(outs, applied)
			l.outbox.hold(items)
		}
		claim := l.claims.Add(1)
		// Every claimed item gets its send, even during shutdown: handle
		// releases what it will not send.
		l.addRunning(len(items))
		for _, it := range items {
			sends.Add(1)
			go func() {
				defer sends.Done()
				l.outbox.add(l.handle(s, it, claim, true))
				l.finished()
			}()
		}
		if err == nil && len(items) == free {
			continue // more may be due: claim again at once
		}
		if err := l.sleep(ctx, err != nil); err != nil {
			return err
		}
	}
}

// running is how many claimed items have not finished.
func (l *Loop) running() int {
	l.inFlightMu.Lock()
	defer l.inFlightMu.Unlock()
	return l.inFlight
}

func (l *Loop) addRunning(n int) {
	l.inFlightMu.Lock()
	l.inFlight += n
	l.inFlightMu.Unlock()
}

// finished counts one claimed item as done and wakes a fetcher waiting for
// a free worker.
func (l *Loop) finished() {
	l.addRunning(-1)
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// waitFreed waits until a send finishes or d passes.
func (l *Loop) waitFreed(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-l.freed:
	case <-t.C:
	}
	return nil
}

// sleep waits for a wake-up or the jittered poll interval.
func (l *Loop) sleep(ctx context.Context, failed bool) error {
	d := l.cfg.PollInterval
	d += time.Duration((mrand.Float64()*0.4 - 0.2) * float64(d))
	if failed {
		d *= 2
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-l.wake:
	case <-t.C:
	}
	return nil
}

// RunOnce claims up to Workers due items, sends them one after another and
// writes their outcomes, returning how many it handled. It lets tests and
// tools step the loop deterministically: it does not wait for the
// gateways' pace (a provider's rate limit still slows the running loop).
func (l *Loop) RunOnce(ctx context.Context) (int, error) {
	t := l.refreshTuning(ctx)
	items, err := l.store.ClaimQueueItems(ctx, store.ClaimParams{Limit: t.Workers, Owner: l.cfg.ProcessorID, Token: randomHex(16)})
	if err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, nil
	}
	l.outbox.hold(items)
	claim := l.claims.Add(1)
	outs := make([]store.Outcome, len(items))
	for i, it := range items {
		outs[i] = l.handle(oneStage(ctx), it, claim, false)
	}
	applied, err := l.store.CompleteQueueItems(ctx, outs)
	if err != nil {
		return 0, err
	}
	l.written(outs, applied)
	return len(items), nil
}
