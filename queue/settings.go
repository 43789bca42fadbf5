package queue

import (
	"context"
	"time"

	"github.com/messagebridge/messagebridge/store/settings"
)

// Keys of the queue's settings.
const (
	SettingWorkers          = "queue.workers"
	SettingMaxAttempts      = "queue.max_attempts"
	SettingRetryBase        = "queue.retry_base"
	SettingRetryMaxDelay    = "queue.retry_max_delay"
	SettingLockTimeout      = "queue.lock_timeout"
	SettingRecipientSpacing = "queue.recipient_spacing"
	// SettingActiveGateway names the gateway that sends items with no
	// gateway of their own. The operations layer declares it, with the
	// rule for switching.
	SettingActiveGateway = "gateway.active"
)

// SettingDefs declares the queue's settings. Each takes effect while the
// loop runs.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingWorkers, Type: settings.Int, Default: "8", Min: 1, Max: 1024, Env: "MB_WORKERS",
			Help: "sends the delivery loop runs at once"},
		{Key: SettingMaxAttempts, Type: settings.Int, Default: "5", Min: 1, Max: 100, Env: "MB_MAX_ATTEMPTS",
			Help: "attempts before a message fails; lowering it applies at once to messages already waiting, raising it to messages queued afterwards"},
		{Key: SettingRetryBase, Type: settings.Duration, Default: "30s", Min: float64(time.Second), Max: float64(24 * time.Hour), Env: "MB_RETRY_BASE",
			Help: "wait after the first failed attempt; doubles with each further one (±20% jitter)"},
		{Key: SettingRetryMaxDelay, Type: settings.Duration, Default: "1h", Min: float64(time.Second), Max: float64(7 * 24 * time.Hour), Env: "MB_RETRY_MAX_DELAY",
			Help: "longest wait between two attempts"},
		{Key: SettingLockTimeout, Type: settings.Duration, Default: "5m", Min: float64(10 * time.Second), Max: float64(24 * time.Hour), Env: "MB_LOCK_TIMEOUT",
			Help: "how long a message may stay processing before it is recovered from a stopped processor"},
		{Key: SettingRecipientSpacing, Type: settings.Duration, Default: "2s", Min: 0, Max: float64(time.Hour), Env: "MB_RECIPIENT_SPACING",
			Help: "least time between two sends to the same phone from one process"},
	}
}

// Tuning is the part of the loop's configuration that admins change while
// it runs. The loop reads it through Config.Tuning on every claim (the
// reader behind it caches), so a change reaches the running loop without a
// restart.
type Tuning struct {
	// Workers is how many sends run at once.
	Workers int
	// RetryBase and RetryMaxDelay shape the backoff between attempts.
	RetryBase, RetryMaxDelay time.Duration
	// LockTimeout is how long an item may stay processing before the
	// rescuer recovers it.
	LockTimeout time.Duration
	// RecipientSpacing is the least time between two sends to one phone.
	RecipientSpacing time.Duration
	// MaxAttempts, when positive, caps the attempts of every message,
	// including those queued before it was lowered: each message keeps
	// its own limit when that is lower (0: no cap).
	MaxAttempts int
	// GatewayRates caps sends per second per gateway (absent or 0:
	// unlimited).
	GatewayRates map[string]float64
}

// TuningFromSettings reads the queue's settings. rates gives each
// gateway's configured send rate.
func TuningFromSettings(r *settings.Reader, rates func(ctx context.Context) map[string]float64) func(ctx context.Context) Tuning {
	return func(ctx context.Context) Tuning {
		t := Tuning{
			Workers:          r.Int(ctx, SettingWorkers),
			RetryBase:        r.Duration(ctx, SettingRetryBase),
			RetryMaxDelay:    r.Duration(ctx, SettingRetryMaxDelay),
			LockTimeout:      r.Duration(ctx, SettingLockTimeout),
			RecipientSpacing: r.Duration(ctx, SettingRecipientSpacing),
			MaxAttempts:      r.Int(ctx, SettingMaxAttempts),
		}
		if rates != nil {
			t.GatewayRates = rates(ctx)
		}
		return t
	}
}

// capAttempts is a message's attempt limit under the limit in force: the
// lower of the two, where a limit of 0 or less is none.
func capAttempts(own, limit int) int {
	if limit > 0 && limit < own {
		return limit
	}
	return own
}
