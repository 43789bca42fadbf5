package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// Store is what the delivery loop needs from the database.
type Store interface {
	ClaimQueueItems(ctx context.Context, p store.ClaimParams) ([]store.QueueItem, error)
	CompleteAndClaim(ctx context.Context, outs []store.Outcome, p store.ClaimParams) ([]bool, []store.QueueItem, error)
	CompleteQueueItems(ctx context.Context, outs []store.Outcome) ([]bool, error)
	StaleLocks(ctx context.Context, lockedBefore, aliveSince time.Time, limit int) ([]store.QueueItem, error)
	RenewLocks(ctx context.Context, owner string, ids []int64) (int64, error)
	Ping(ctx context.Context) error
	LockedBy(ctx context.Context, owner string, lockedBefore time.Time, limit int) ([]store.QueueItem, error)
	PutHeartbeat(ctx context.Context, h store.Heartbeat) error
	DeleteHeartbeat(ctx context.Context, processorID string) error
	BlockGateway(ctx context.Context, gateway, reason string) error
	GatewayStates(ctx context.Context) ([]store.GatewayState, error)
}

// Library resolves saved messages and their media for deliveries; nil in
// Config means items that name a saved message fail permanently.
type Library interface {
	SavedMessage(ctx context.Context, id int64) (text string, kind Kind, media *Media, err error)
}

// Sender sends one delivery and returns the provider's message id. Errors
// should be classified with Classify or RateLimitedFor; others count as Retry.
type Sender interface {
	Send(ctx context.Context, d Delivery) (providerMessageID string, err error)
}

// Gateways finds the sender for an item's gateway name; "" means the active
// gateway. It returns the resolved name with the sender.
type Gateways interface {
	Resolve(ctx context.Context, name string) (string, Sender, error)
}

// Config tunes the delivery loop. Zero values take the defaults shown.
type Config struct {
	// Tuning, when set, gives the settings admins change while the loop
	// runs (workers, backoff, recipient spacing, gateway rates, lock
	// timeout). The loop calls it on every claim cycle, so it must be
	// cheap (settings.Reader caches). Nil means a fixed Tuning made of
	// Workers, LockTimeout, RecipientSpacing and GatewayRates below, with
	// backoff 30s..1h.
	Tuning func(ctx context.Context) Tuning
	// Workers is how many sends run at once (8) when Tuning is nil, and
	// the fallback when Tuning gives no positive value.
	Workers int
	// ProcessorID names this process in locks and heartbeats (host-pid-random).
	ProcessorID string
	// Version is reported in the heartbeat.
	Version string
	// Retry, when set, decides when failed attempts are retried and wins
	// over the tuning. Nil means Backoff{Tuning.RetryBase,
	// Tuning.RetryMaxDelay, ±20%}, read when each failure is decided.
	Retry RetryPolicy
	// LockTimeout is how long an item may stay processing before it is
	// recovered as stale (5m), when Tuning is nil. The loop does not
	// recover stale items itself: a Rescuer does (Loop.Rescue runs one
	// pass of it).
	LockTimeout time.Duration
	// PollInterval is the fallback wait between claims when nothing wakes
	// the loop (1s, ±20% jitter).
	PollInterval time.Duration
	// SendTimeout bounds one send (30s).
	SendTimeout time.Duration
	// HeartbeatInterval is how often the heartbeat is written (10s).
	HeartbeatInterval time.Duration
	// RecipientSpacing is the least time between two sends to one phone
	// from this process (0: none), when Tuning is nil.
	RecipientSpacing time.Duration
	// GatewayRates caps sends per second per gateway name (absent or 0:
	// unlimited), when Tuning is nil.
	GatewayRates map[string]float64
	// BlockedRecheck is how long items wait while their gateway is
	// sender-blocked before they are looked at again (1m).
	BlockedRecheck time.Duration
	// GatewayStateRefresh is how often blocks recorded by other processes
	// are read (5s).
	GatewayStateRefresh time.Duration
	// RefreshSettings, when set, makes the next read of the settings (the
	// active gateway among them) go past their cache to the database. The
	// loop calls it before it holds an item for a paused gateway on a view
	// read before the item's claim: a switch of gateway or a lifted pause
	// may have released the item since.
	RefreshSettings func()
	// ClaimGather is how long the fetcher, once a worker is free, waits
	// for more workers to free up before it claims (1ms).
	ClaimGather time.Duration
	// CompleteDelay is how long an outcome waits to ride along with the
	// next claim before it is written on its own (5ms).
	CompleteDelay time.Duration
	// OutcomeRetryMax is the longest wait between two tries to write
	// outcomes while the database is away (5s).
	OutcomeRetryMax time.Duration
	// FinalWriteTimeout is how long a stopping loop keeps trying to write
	// its last outcomes (3s).
	FinalWriteTimeout time.Duration
	// MaxPendingOutcomes bounds the outcomes kept in memory while they
	// cannot be written: at the bound the loop claims nothing more
	// (1000).
	MaxPendingOutcomes int
	// Library resolves saved messages (optional).
	Library Library
	// Observer, when set, is told of each send attempt that called a
	// gateway (optional).
	Observer Observer
	// Secrets, when set, returns the current values of every secret
	// setting; they are redacted from errors before they are stored,
	// logged or become a gateway's blocked reason (admins change them
	// while the loop runs, so it is called for each failure and must be
	// cheap: settings.Reader caches).
	Secrets func(ctx context.Context) []string
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Observer is told of each send attempt that called a gateway: the
// gateway's name, the outcome and how long the gateway took to answer. The
// outcome is one of "sent", "retry", "failed" (permanent, or out of
// attempts), "rate_limited", "unavailable" (settings unreadable, nothing
// reached the provider) and "sender_blocked". It is called on the send's
// goroutine, so it must be quick and safe for concurrent use.
type Observer interface {
	ObserveSend(gateway, outcome string, latency time.Duration)
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = defaultWorkers
	}
	if c.ProcessorID == "" {
		c.ProcessorID = newProcessorID()
	}
	if c.LockTimeout <= 0 {
		c.LockTimeout = defaultLockTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 10 * time.Second
	}
	if c.BlockedRecheck <= 0 {
		c.BlockedRecheck = time.Minute
	}
	if c.GatewayStateRefresh <= 0 {
		c.GatewayStateRefresh = 5 * time.Second
	}
	if c.ClaimGather <= 0 {
		c.ClaimGather = time.Millisecond
	}
	if c.CompleteDelay <= 0 {
		c.CompleteDelay = 5 * time.Millisecond
	}
	if c.OutcomeRetryMax <= 0 {
		c.OutcomeRetryMax = 5 * time.Second
	}
	if c.FinalWriteTimeout <= 0 {
		c.FinalWriteTimeout = 3 * time.Second
	}
	if c.MaxPendingOutcomes <= 0 {
		c.MaxPendingOutcomes = 1000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

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
	pacer     *Pacer
	targetsMu sync.Mutex
	targets   map[string]float64
	rescuer   *Rescuer

	// inFlight counts claimed items not yet finished; freed is signalled
	// each time one finishes.
	inFlightMu sync.Mutex
	inFlight   int
	freed      chan struct{}

	// pending holds outcomes not yet written. The fetcher writes them with
	// its next claim; the completer writes them when the fetcher is idle.
	// held is every item this loop has claimed and whose outcome is not
	// written yet: the items whose locks it renews.
	pendingMu sync.Mutex
	pending   []store.Outcome
	held      map[int64]bool
	outcome   chan struct{}

	mu       sync.Mutex
	blocked  map[string]string // gateway → reason
	lastSend map[string]time.Time
	// recipientHold is when a recipient the provider found over-messaged
	// may get the next send.
	recipientHold map[string]time.Time
	lastRefresh   time.Time

	// claims counts the claims this loop has made; viewSeq (under mu) is
	// the count when the last full read of the pauses and the settings
	// began, so an item of a claim numbered at most viewSeq was claimed
	// before that view was read. viewMu lets one such read run at a time.
	claims  atomic.Uint64
	viewSeq uint64
	viewMu  sync.Mutex
}

// New returns a loop; call Run to start it.
func New(cfg Config, st Store, gws Gateways, log *slog.Logger) *Loop {
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Loop{
		cfg:           cfg,
		store:         st,
		gateways:      gws,
		log:           log.With("component", "queue.loop", "processor", cfg.ProcessorID),
		wake:          make(chan struct{}, 1),
		outcome:       make(chan struct{}, 1),
		freed:         make(chan struct{}, 1),
		blocked:       map[string]string{},
		lastSend:      map[string]time.Time{},
		held:          map[int64]bool{},
		recipientHold: map[string]time.Time{},
		static: Tuning{
			Workers:          cfg.Workers,
			RetryBase:        defaultRetryBase,
			RetryMaxDelay:    defaultRetryMaxDelay,
			LockTimeout:      cfg.LockTimeout,
			RecipientSpacing: max(0, cfg.RecipientSpacing),
			GatewayRates:     cfg.GatewayRates,
		},
	}
	l.rescuer = NewRescuer(st, RescuerConfig{LockTimeout: cfg.LockTimeout, Tuning: cfg.Tuning,
		Actor: cfg.ProcessorID, Now: cfg.Now}, log)
	// A gentler decrease than TCP's halving: a provider's per-second quota
	// refills within a second, so three quarters keeps more of it used
	// (measured with `messagebridge bench pacing`: 0.87× the provider's
	// rate accepted at 0.75, 0.74× at 0.5, both under 5% rate-limit
	// answers).
	l.pacer = NewPacer(PacerConfig{Decrease: 0.75})
	l.targets = map[string]float64{}
	l.applyRates(l.static.GatewayRates)
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

// Run delivers until ctx is cancelled, then finishes the sends in flight,
// writes their outcomes and returns, leaving no item locked by this loop.
func (l *Loop) Run(ctx context.Context) error {
	started := l.cfg.Now()
	// Work that must finish after ctx is cancelled: in-flight sends and
	// their outcomes.
	drainCtx := context.WithoutCancel(ctx)
	t := l.refreshTuning(ctx)

	var sends sync.WaitGroup
	workersDone := make(chan struct{})
	completerDone := make(chan struct{})
	go func() {
		defer close(completerDone)
		l.complete(drainCtx, workersDone)
	}()
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		l.heartbeat(hbCtx, started)
	}()

	l.log.Info("delivery loop started", "workers", t.Workers)
	err := l.fetch(ctx, drainCtx, &sends)

	sends.Wait()
	close(workersDone)
	<-completerDone
	stopHeartbeat()
	<-hbDone
	dctx, cancel := context.WithTimeout(drainCtx, 5*time.Second)
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
func (l *Loop) fetch(ctx, drainCtx context.Context, sends *sync.WaitGroup) error {
	for {
		t := l.refreshTuning(ctx)
		free := t.Workers - l.running()
		if l.pendingCount() >= l.cfg.MaxPendingOutcomes {
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
		outs := l.takePending()
		applied, items, err := l.store.CompleteAndClaim(ctx, outs, store.ClaimParams{Limit: free, Owner: l.cfg.ProcessorID, Token: randomHex(16)})
		if err != nil {
			l.requeuePending(outs) // the completer writes them
			if ctx.Err() == nil {
				l.log.Error("claim failed", "err", err)
			}
		} else {
			l.written(outs, applied)
			l.hold(items)
		}
		claim := l.claims.Add(1)
		// Every claimed item gets its send, even during shutdown: handle
		// releases what it will not send.
		l.addRunning(len(items))
		for _, it := range items {
			sends.Add(1)
			go func() {
				defer sends.Done()
				l.addOutcome(l.handle(ctx, drainCtx, it, claim, true))
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

// handle sends one claimed item and returns its outcome. ctx is the loop's
// context: once it is done, items not yet sent are released. Sends that have
// started run on drainCtx so that they finish. With pace, the send waits for
// its gateway's pace first.
func (l *Loop) handle(ctx, drainCtx context.Context, it store.QueueItem, claim uint64, pace bool) store.Outcome {
	if ctx.Err() != nil {
		return l.release(it)
	}
	name, sender, err := l.resolve(ctx, it, claim)
	if err != nil {
		msg := SanitizeError(err.Error(), l.secrets(drainCtx)...)
		l.log.Warn("no gateway for item", "item", it.ID, "gateway", it.Gateway, "err", msg)
		return l.decide(drainCtx, it, name, "", Classify(Retry, "", errors.New(msg)))
	}
	if reason, ok := l.isBlocked(name); ok {
		return store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, RefundAttempt: true,
			NextAttemptAt: l.cfg.Now().Add(l.cfg.BlockedRecheck), Gateway: name,
			// reason was sanitized when the pause was recorded (block, from
			// decide's out.Error), so it only needs bounding here.
			Error:      Clip(fmt.Sprintf("held: gateway %s is paused: %s", name, reason), MaxErrorLen),
			ErrorClass: SenderBlocked.String()}
	}
	if wait, ok := l.reserveRecipient(it.Phone); !ok {
		return store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, RefundAttempt: true,
			NextAttemptAt: l.cfg.Now().Add(wait)}
	}
	if pace {
		if err := l.pacer.Wait(ctx, name); err != nil {
			return l.release(it)
		}
	}

	sctx, cancel := context.WithTimeout(drainCtx, l.cfg.SendTimeout)
	d, err := l.delivery(sctx, it)
	if err != nil {
		cancel()
		return l.decide(drainCtx, it, name, "", err)
	}
	obs := l.cfg.Observer
	var start time.Time
	if obs != nil {
		start = time.Now()
	}
	id, err := sender.Send(sctx, d)
	var lat time.Duration
	if obs != nil {
		lat = time.Since(start)
	}
	cancel()
	out := l.decide(drainCtx, it, name, id, err)
	if obs != nil {
		obs.ObserveSend(name, sendOutcome(out), lat)
	}
	return out
}

// sendOutcome names the outcome of a send that reached a gateway, for an
// Observer.
func sendOutcome(out store.Outcome) string {
	switch {
	case out.Status == store.StatusSent:
		return "sent"
	case out.ErrorClass == "unavailable":
		return "unavailable"
	case out.ErrorClass == SenderBlocked.String():
		return "sender_blocked"
	case out.Event == "rate_limited":
		return "rate_limited"
	case out.Status == store.StatusFailed:
		return "failed"
	}
	return "retry"
}

// release gives a claimed item back untried, at shutdown.
func (l *Loop) release(it store.QueueItem) store.Outcome {
	return store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, RefundAttempt: true,
		NextAttemptAt: l.cfg.Now(), Event: "released", Actor: l.cfg.ProcessorID}
}

// decide turns a send result into the item's outcome, and pauses the
// gateway when the sender is blocked. The error's text is redacted of the
// current secrets first, before anything cuts it.
func (l *Loop) decide(ctx context.Context, it store.QueueItem, gateway, providerID string, err error) store.Outcome {
	if err != nil {
		err = &redactedError{msg: Redact(err.Error(), l.secrets(ctx)...), err: err}
	}
	t := l.currentTuning()
	if err != nil {
		// A failure gets the backoff and attempt limit in force now: the
		// tuning read at the claim may be older than an admin's change.
		t = l.refreshTuning(ctx)
	}
	it.MaxAttempts = capAttempts(it.MaxAttempts, t.MaxAttempts)
	out := Decide(it, gateway, providerID, err, l.cfg.Now(), l.retryPolicy(t), l.cfg.BlockedRecheck)
	out.Actor = l.cfg.ProcessorID
	c, se := ClassOf(err)
	switch {
	case err == nil:
	case c == SenderBlocked:
		l.block(gateway, out.Error)
	case c == RateLimited && se.Scope == ScopeRecipient:
		// Too many messages to this one person: only they wait.
		l.holdRecipient(it.Phone, out.NextAttemptAt)
	case c == RateLimited && se.Code != "":
		// The provider is overloaded: every send through it slows down.
		// (A rate limit without a provider code is the sender's own
		// pacing, not the provider's answer.)
		// Same test as GatewayRateLimit, on the SendError already in hand.
		if se.Scope == ScopeGateway {
			l.pacer.RateLimited(gateway, se.RetryAfter)
		}
	}
	if err != nil {
		l.log.Warn("send failed", "item", it.ID, "gateway", gateway, "attempt", it.Attempts,
			"class", out.ErrorClass, "next", out.Status, "err", out.Error)
	}
	return out
}

// Decide is the pure decision from a send's result to an item's outcome.
func Decide(it store.QueueItem, gateway, providerID string, err error, now time.Time, policy RetryPolicy, blockedRecheck time.Duration) store.Outcome {
	out := store.Outcome{ID: it.ID, Token: it.LockToken, Gateway: gateway}
	if err == nil {
		out.Status, out.ProviderMessageID = store.StatusSent, providerID
		return out
	}
	if errors.Is(err, ErrUnavailable) {
		out.Status, out.RefundAttempt, out.NextAttemptAt, out.Event = store.StatusQueued, true, now.Add(unavailableWait), "held"
		out.Error, out.ErrorClass = SanitizeError(err.Error()), "unavailable"
		return out
	}
	class, se := ClassOf(err)
	out.Error, out.ErrorClass = SanitizeError(err.Error()), class.String()
	switch class {
	case Permanent:
		out.Status, out.Event = store.StatusFailed, "failed"
	case RateLimited:
		wait := time.Second
		if se != nil && se.RetryAfter > 0 {
			wait = se.RetryAfter
		}
		out.Status, out.RefundAttempt, out.NextAttemptAt, out.Event = store.StatusQueued, true, now.Add(wait), "rate_limited"
	case SenderBlocked:
		out.Status, out.RefundAttempt, out.NextAttemptAt, out.Event = store.StatusQueued, true, now.Add(blockedRecheck), "held"
	default:
		if it.Attempts >= it.MaxAttempts {
			out.Status, out.Event = store.StatusFailed, "failed"
			out.Error = SanitizeError(fmt.Sprintf("gave up after %d attempts: %s", it.Attempts, out.Error))
		} else {
			out.Status, out.NextAttemptAt, out.Event = store.StatusQueued, policy.NextRetry(it.Attempts, now), "retry"
		}
	}
	return out
}

// secrets returns the current secret values to redact, if the loop was
// given them.
func (l *Loop) secrets(ctx context.Context) []string {
	if l.cfg.Secrets == nil {
		return nil
	}
	return l.cfg.Secrets(ctx)
}

// redactedError shows a redacted text in place of err's and keeps err for
// errors.Is and ClassOf.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// resolve finds the item's gateway and its sender. An item whose gateway
// is paused is held; the hold must not rest on a view older than the
// item's claim, since an admin may have switched gateways or lifted the
// pause since, releasing the item just now (and the view of another
// process may be seconds old). So when the view at hand says paused and
// was read before this claim, the pauses and the settings are read again
// and the item resolved afresh.
func (l *Loop) resolve(ctx context.Context, it store.QueueItem, claim uint64) (string, Sender, error) {
	name, sender, err := l.gateways.Resolve(ctx, it.Gateway)
	if err != nil {
		return name, sender, err
	}
	if _, paused := l.isBlocked(name); !paused || !l.refreshView(ctx, claim) {
		return name, sender, nil
	}
	return l.gateways.Resolve(ctx, it.Gateway)
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

// GatewayPace is a gateway's send rate now, as the provider's rate-limit
// answers left it, and the rate configured for it (sends per second; 0:
// unlimited).
type GatewayPace struct {
	Gateway string
	Rate    float64
	Target  float64
}

// Paces lists the pace of every gateway that has a configured rate or was
// slowed down, by name.
func (l *Loop) Paces() []GatewayPace {
	rates := l.pacer.Rates()
	l.targetsMu.Lock()
	for name := range l.targets {
		if _, ok := rates[name]; !ok {
			rates[name] = l.pacer.Rate(name)
		}
	}
	out := make([]GatewayPace, 0, len(rates))
	for name, r := range rates {
		t := l.targets[name]
		if r == 0 && t == 0 {
			continue
		}
		out = append(out, GatewayPace{Gateway: name, Rate: r, Target: t})
	}
	l.targetsMu.Unlock()
	slices.SortFunc(out, func(a, b GatewayPace) int { return strings.Compare(a.Gateway, b.Gateway) })
	return out
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

func (l *Loop) addOutcome(o store.Outcome) {
	l.pendingMu.Lock()
	l.pending = append(l.pending, o)
	l.pendingMu.Unlock()
	select {
	case l.outcome <- struct{}{}:
	default:
	}
}

func (l *Loop) takePending() []store.Outcome {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	outs := l.pending
	l.pending = nil
	return outs
}

func (l *Loop) requeuePending(outs []store.Outcome) {
	if len(outs) == 0 {
		return
	}
	l.pendingMu.Lock()
	l.pending = append(outs, l.pending...)
	l.pendingMu.Unlock()
	select {
	case l.outcome <- struct{}{}:
	default:
	}
}

// complete writes the outcomes the fetcher has not taken with a claim:
// after CompleteDelay, so a busy fetcher can take them first, and finally
// everything left once the workers are done. An outcome that cannot be
// written (the database is away) is kept and tried again with backoff
// until it is written; the item stays locked, and its lock renewed, by
// this live process meanwhile, so nobody sends it again.
func (l *Loop) complete(ctx context.Context, workersDone <-chan struct{}) {
	var backoff time.Duration
	for {
		select {
		case <-workersDone:
			l.finalWrite(ctx)
			return
		case <-l.outcome:
		}
		wait := l.cfg.CompleteDelay
		if backoff > 0 {
			wait = backoff
		}
		select {
		case <-workersDone:
			l.finalWrite(ctx)
			return
		case <-time.After(wait):
		}
		if l.writeOutcomes(ctx, l.takePending()) {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), l.cfg.OutcomeRetryMax)
		// Try again after the backoff, even if no new outcome arrives.
		select {
		case l.outcome <- struct{}{}:
		default:
		}
	}
}

// finalWrite writes what is left at stop, trying with backoff for up to
// Config.FinalWriteTimeout; what still cannot be written is logged with its
// item ids (those items are recovered once their lock times out).
func (l *Loop) finalWrite(ctx context.Context) {
	deadline := time.Now().Add(l.cfg.FinalWriteTimeout)
	backoff := 100 * time.Millisecond
	for {
		outs := l.takePending()
		if len(outs) == 0 || l.writeOutcomes(ctx, outs) {
			return
		}
		if time.Now().Add(backoff).After(deadline) {
			var ids []int64
			for _, o := range l.takePending() {
				ids = append(ids, o.ID)
			}
			l.log.Error("stopping with outcomes not written: these items stay processing until their lock times out, then go back to the queue",
				"items", ids)
			return
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// writeOutcomes stores a batch. When the database does not take it, the
// batch goes back to the pending outcomes and writeOutcomes reports false.
func (l *Loop) writeOutcomes(ctx context.Context, batch []store.Outcome) bool {
	if len(batch) == 0 {
		return true
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	applied, err := l.store.CompleteQueueItems(wctx, batch)
	cancel()
	if err != nil {
		l.requeuePending(batch)
		l.log.Error("outcomes not written yet; kept to try again", "items", len(batch), "err", err)
		return false
	}
	l.written(batch, applied)
	return true
}

// hold records claimed items as this loop's until their outcome is written.
func (l *Loop) hold(items []store.QueueItem) {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	for _, it := range items {
		l.held[it.ID] = true
	}
}

// written lets go of items whose outcome is written, and reports those the
// database ignored.
func (l *Loop) written(outs []store.Outcome, applied []bool) {
	l.pendingMu.Lock()
	for _, o := range outs {
		delete(l.held, o.ID)
	}
	l.pendingMu.Unlock()
	l.reportIgnored(outs, applied)
}

// heldIDs lists the items this loop holds.
func (l *Loop) heldIDs() []int64 {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	ids := make([]int64, 0, len(l.held))
	for id := range l.held {
		ids = append(ids, id)
	}
	return ids
}

// isHeld reports whether this loop holds item id.
func (l *Loop) isHeld(id int64) bool {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	return l.held[id]
}

// releaseOrphans gives back items locked in this loop's name that it does
// not hold: their claim went through in the database but its answer was
// lost (the connection broke), so they were never sent. They go back to
// the queue with the attempt refunded. Only items whose lock is older than
// the lock timeout count, so a claim whose answer is on its way is not
// taken for one.
func (l *Loop) releaseOrphans(ctx context.Context, lockTimeout time.Duration) error {
	items, err := l.store.LockedBy(ctx, l.cfg.ProcessorID, l.cfg.Now().Add(-lockTimeout), rescuePage)
	if err != nil {
		return err
	}
	var outs []store.Outcome
	for _, it := range items {
		if l.isHeld(it.ID) {
			continue
		}
		out := l.release(it)
		out.Error = "the claim's answer was lost on the way from the database; it was not sent"
		outs = append(outs, out)
	}
	if len(outs) == 0 {
		return nil
	}
	applied, err := l.store.CompleteQueueItems(ctx, outs)
	if err != nil {
		return err
	}
	n := 0
	for _, ok := range applied {
		if ok {
			n++
		}
	}
	l.log.Warn("released items whose claim was lost; they were not sent and go back to the queue", "items", n)
	return nil
}

// pendingCount is how many outcomes wait to be written.
func (l *Loop) pendingCount() int {
	l.pendingMu.Lock()
	defer l.pendingMu.Unlock()
	return len(l.pending)
}

func (l *Loop) reportIgnored(outs []store.Outcome, applied []bool) {
	for i, ok := range applied {
		if !ok {
			l.log.Warn("outcome ignored: the item's lock was recovered and it belongs to another claim now",
				"item", outs[i].ID, "status", outs[i].Status)
		}
	}
}

// heartbeat says this processor is alive, and renews the locks of the
// items it holds (sending, or with an outcome waiting to be written), so
// that only a stopped or stalled processor's items are ever recovered. It
// beats every HeartbeatInterval, or a third of the lock timeout when that
// is shorter.
func (l *Loop) heartbeat(ctx context.Context, started time.Time) {
	host, _ := os.Hostname()
	hb := store.Heartbeat{ProcessorID: l.cfg.ProcessorID, Hostname: host, PID: os.Getpid(),
		Version: l.cfg.Version, StartedAt: started}
	for {
		t := l.currentTuning()
		hb.Workers = t.Workers
		err := l.store.PutHeartbeat(ctx, hb)
		if err == nil {
			_, err = l.store.RenewLocks(ctx, l.cfg.ProcessorID, l.heldIDs())
		}
		if err == nil {
			err = l.releaseOrphans(ctx, t.LockTimeout)
		}
		if err != nil && ctx.Err() == nil {
			l.log.Warn("heartbeat and lock renewal failed; trying again", "err", err)
		}
		every := min(l.cfg.HeartbeatInterval, max(t.LockTimeout/3, 100*time.Millisecond))
		if err != nil {
			every = min(every, time.Second)
		}
		timer := time.NewTimer(every)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

func newProcessorID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(3))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
	l.hold(items)
	claim := l.claims.Add(1)
	outs := make([]store.Outcome, len(items))
	for i, it := range items {
		outs[i] = l.handle(ctx, ctx, it, claim, false)
	}
	applied, err := l.store.CompleteQueueItems(ctx, outs)
	if err != nil {
		return 0, err
	}
	l.written(outs, applied)
	return len(items), nil
}
