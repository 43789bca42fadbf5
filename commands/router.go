// Package commands parses and authorizes operator chat messages and turns
// them into queue, campaign and media operations. Router is the bot's
// Handler: every message is identified, parsed, checked against the
// sender's role, run, answered and written to the audit log.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/importer"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

var _ bot.Handler = (*Router)(nil)

// Store is what the commands read and change.
type Store interface {
	queue.ReportStore
	CampaignStore
	Operator(ctx context.Context, identity string) (store.Operator, error)
	Operators(ctx context.Context) ([]store.Operator, error)
	PutOperator(ctx context.Context, identity, role, displayName, actor string) (store.Operator, error)
	RemoveOperator(ctx context.Context, identity string) error
	CountOperators(ctx context.Context, role string) (int, error)
	Audit(ctx context.Context, e store.AuditEntry) error
	EnqueueQueueItems(ctx context.Context, items []store.NewQueueItem) ([]int64, error)
	RecentItemForPhone(ctx context.Context, phone string, since time.Time) (store.QueueItem, error)
	QueueItem(ctx context.Context, id int64) (store.QueueItem, error)
	RecentQueueItems(ctx context.Context, f store.RecentFilter) ([]store.QueueItem, error)
	ResetQueueItem(ctx context.Context, id int64, actor string) (store.QueueItem, error)
	EditQueueItem(ctx context.Context, id int64, e store.QueueEdit, actor string) (store.QueueItem, error)
	CancelQueueItem(ctx context.Context, id int64, actor string) (store.QueueItem, error)
	SavedMessageByName(ctx context.Context, name string) (store.SavedMessage, error)
	Setting(ctx context.Context, name string) (store.Setting, error)
	PutSetting(ctx context.Context, name, value string, secret bool, actor string) error
	UnblockGateway(ctx context.Context, gateway string) error
}

// Config tunes the router. Zero values take the defaults shown.
type Config struct {
	// Region is the default phone region when the setting intake.region is
	// unset ("IN").
	Region string
	// DedupeWindow is how long a number counts as "already queued" (10m).
	DedupeWindow time.Duration
	// MaxAttempts is given to intake items (5).
	MaxAttempts int
	// IntakeText is sent to intake numbers when the setting intake.text is
	// unset.
	IntakeText string
	// Gateways are the names /gateway use accepts; DefaultGateway is active
	// until an admin picks another ("dryrun").
	Gateways       []string
	DefaultGateway string
	// MaxList bounds /recent and /failed (50).
	MaxList int
	// MinIntervals is each gateway's own pacing: a campaign interval may
	// not be shorter.
	MinIntervals map[string]time.Duration
	// ImportLimits bound contact imports (importer.DefaultLimits()).
	ImportLimits importer.Limits
	// Now is the clock (time.Now).
	Now func() time.Time
	// Notify wakes the delivery loop after enqueueing; may be nil.
	Notify func()
}

// Router is the bot's command handler.
type Router struct {
	store Store
	cfg   Config
	rep   *queue.Reporter
	log   *slog.Logger
}

// New returns a router.
func New(st Store, cfg Config, log *slog.Logger) *Router {
	if cfg.Region == "" {
		cfg.Region = "IN"
	}
	if cfg.DedupeWindow <= 0 {
		cfg.DedupeWindow = 10 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.IntakeText == "" {
		cfg.IntakeText = "Hello! Your order is ready. Thank you for shopping with us."
	}
	if cfg.DefaultGateway == "" {
		cfg.DefaultGateway = "dryrun"
	}
	if len(cfg.Gateways) == 0 {
		cfg.Gateways = []string{cfg.DefaultGateway}
	}
	if cfg.MaxList <= 0 {
		cfg.MaxList = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notify == nil {
		cfg.Notify = func() {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{store: st, cfg: cfg, rep: queue.NewReporter(st, cfg.Now), log: log.With("component", "commands")}
}

// call is one command being run: who asked, with what role.
type call struct {
	msg  bot.Message
	op   store.Operator
	cmd  Command
	role string
}

func (c call) actor() string { return c.msg.From.String() }

// userError is a failure the sender caused and can fix; its text is the
// reply. Any other error is ours: the sender gets a generic apology.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func userErrorf(format string, args ...any) error {
	return &userError{msg: fmt.Sprintf(format, args...)}
}

// Handle implements bot.Handler.
func (r *Router) Handle(ctx context.Context, m bot.Message) []bot.Reply {
	identity := m.From.String()
	op, err := r.store.Operator(ctx, identity)
	if errors.Is(err, store.ErrNotFound) {
		r.audit(ctx, store.AuditEntry{Actor: identity, Transport: m.Transport, Action: "unknown_identity", Detail: firstLine(m.Text), Outcome: "refused"})
		return text(fmt.Sprintf("Sorry, you are not set up to use this bot yet.\nYour id is %s — ask an admin to add you with:\n/operator add %s staff", identity, identity))
	}
	if err != nil {
		r.log.Error("look up operator", "identity", identity, "err", err)
		return text("Sorry, something went wrong on our side. Please try again in a minute.")
	}

	cmd, err := Parse(m.Text)
	if err != nil {
		var unknown *UnknownCommandError
		switch {
		case errors.As(err, &unknown):
			r.audit(ctx, store.AuditEntry{Actor: identity, Role: op.Role, Transport: m.Transport, Action: "/" + unknown.Name, Outcome: "error", Detail: "unknown command"})
			return text(fmt.Sprintf("There is no command /%s. Send /help to see what you can use.", unknown.Name))
		case m.Attachment != nil:
			return text("I got a file but no command. Send it again with a caption such as /import <campaign id>.")
		default:
			return text("I did not understand that. Send a customer's phone number, e.g. " + PhoneExample(r.region(ctx)) + ", or /help.")
		}
	}
	c := call{msg: m, op: op, cmd: cmd, role: op.Role}
	spec, ok := specs()[cmd.Key()]
	if !ok {
		// A command that needs a subcommand, given none or a wrong one.
		var usages []string
		for _, key := range helpOrder() {
			if strings.HasPrefix(key, cmd.Name+" ") && Allowed(op.Role, key) {
				usages = append(usages, specs()[key].usage)
			}
		}
		r.audit(ctx, c.entry("error", "missing subcommand"))
		if len(usages) == 0 {
			return text("Sorry, that command is not available to you. Send /help to see what you can use.")
		}
		return text("Usage:\n" + strings.Join(usages, "\n"))
	}
	if !Allowed(op.Role, cmd.Key()) {
		r.audit(ctx, c.entry("refused", "role "+op.Role))
		return text(fmt.Sprintf("Sorry, /%s needs the %s role; you are %s. Send /help to see what you can use.", cmd.Key(), spec.role, op.Role))
	}
	replies, err := spec.run(r, ctx, c)
	var ue *userError
	switch {
	case err == nil:
		r.audit(ctx, c.entry("ok", ""))
	case errors.As(err, &ue):
		r.audit(ctx, c.entry("error", ue.msg))
		replies = append(replies, bot.Reply{Text: ue.msg})
	default:
		msg := queue.SanitizeError(err.Error())
		r.log.Error("command failed", "command", cmd.Key(), "actor", identity, "err", msg)
		r.audit(ctx, c.entry("error", msg))
		replies = append(replies, bot.Reply{Text: "Sorry, that did not work because of a problem on our side. It has been logged; please try again in a minute."})
	}
	return replies
}

func (c call) entry(outcome, detail string) store.AuditEntry {
	action := "/" + c.cmd.Key()
	if c.cmd.Force {
		action = "/send!"
	}
	args := strings.Join(c.cmd.Args, " ")
	if detail != "" {
		args = strings.TrimSpace(args + " — " + detail)
	}
	return store.AuditEntry{Actor: c.actor(), Role: c.role, Transport: c.msg.Transport, Action: action, Detail: args, Outcome: outcome}
}

func (r *Router) audit(ctx context.Context, e store.AuditEntry) {
	if err := r.store.Audit(ctx, e); err != nil {
		r.log.Error("audit log write failed", "action", e.Action, "err", err)
	}
}

// region is the default phone region: the intake.region setting or Config.
func (r *Router) region(ctx context.Context) string {
	if s, err := r.store.Setting(ctx, store.SettingIntakeRegion); err == nil && s.Value != "" {
		return strings.ToUpper(s.Value)
	}
	return r.cfg.Region
}

func (r *Router) phonePolicy(ctx context.Context) PhonePolicy {
	p := PhonePolicy{Region: r.region(ctx)}
	if s, err := r.store.Setting(ctx, store.SettingIntakeAllowForeign); err == nil {
		p.AllowForeign = s.Value == "true"
	}
	return p
}

// activeGateway is the gateway.active setting or the default.
func (r *Router) activeGateway(ctx context.Context) string {
	if s, err := r.store.Setting(ctx, store.SettingActiveGateway); err == nil && s.Value != "" {
		return s.Value
	}
	return r.cfg.DefaultGateway
}

func text(s string) []bot.Reply { return []bot.Reply{{Text: s}} }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
