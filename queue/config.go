package queue

import (
	"context"
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
	OptedOut(ctx context.Context, phone string) (bool, error)
	CustomerWindow(ctx context.Context, gateway, phone string) (store.Window, error)
	CloseWindow(ctx context.Context, gateway, phone string, at time.Time) error
	ReplaceClaimedContent(ctx context.Context, id int64, token string, c store.QueueContent, actor, detail string) (bool, error)
}

// Library resolves saved messages and their media for deliveries; nil in
// Config means items that name a saved message fail permanently.
type Library interface {
	SavedMessage(ctx context.Context, id int64) (text string, kind Kind, media *Media, err error)
}

// MediaLibrary is a Library that also reads a media object by id: the
// image or video of a template header taken from the media library.
type MediaLibrary interface {
	Library
	Media(ctx context.Context, id int64) (*Media, error)
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
	// recover stale items itself: a Rescuer, run next to it, does.
	LockTimeout time.Duration
	// PollInterval is the fallback wait between claims when nothing wakes
	// the loop (1s, ±20% jitter).
	PollInterval time.Duration
	// SendTimeout bounds one send (30s).
	SendTimeout time.Duration
	// DrainTimeout is how long the sends in flight when Run's context is
	// cancelled may go on; then they are cut (SendTimeout). A cut send
	// counts as an attempt and is retried (see cutMidSend); claimed items
	// not yet sent are released at once with their attempt refunded.
	DrainTimeout time.Duration
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
	// its last outcomes once its sends are done or cut (3s). Run returns
	// within DrainTimeout + FinalWriteTimeout of its context's end, so a
	// caller that closes the database after Run closes it under nothing.
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
	// WindowOf, when set, gives the length of a gateway's customer-service
	// window by gateway name (gateways.Definition.Window: 24h for the
	// Cloud API; 0 for none). Free-form items (text, saved messages,
	// flows) go through a gateway with a window only to a customer whose
	// window is open (store.CustomerWindow); others go as the intake
	// template (Reengage) or wait. Nil: no gateway has a window.
	WindowOf func(gateway string) time.Duration
	// Reengage, when set, gives the intake template a staff item goes as
	// when its customer's window is closed. Nil, or no template: such
	// items wait for the customer to write (store.ReleaseHeld).
	Reengage Reengager
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Observer is told of each send attempt that called a gateway: the
// gateway's name, the outcome and how long the gateway took to answer. The
// outcome is one of SendOutcomes: OutcomeSent, OutcomeRetry, OutcomeFailed
// (permanent, or out of attempts), OutcomeRateLimited, OutcomeUnavailable
// (settings unreadable, nothing reached the provider), OutcomeSenderBlocked
// and OutcomeWindowClosed (a free-form message refused as outside the
// customer's window; the item is not failed). An item held for a closed
// window without calling the gateway is not told of. It is called on the send's goroutine, so it must be
// quick and safe for concurrent use.
type Observer interface {
	ObserveSend(gateway string, outcome Outcome, latency time.Duration)
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
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = c.SendTimeout
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
