// Package commands is the chat face of MessageBridge: it parses operator
// chat messages, checks the sender's role, calls the operations layer
// (package commands/ops) and words the replies. Router is the bot's
// Handler: every message is identified, parsed, authorized, run, answered
// and written to the audit log. Each command is one entry of the command
// table (table.go), which help, parsing and authorization all read. The
// rules themselves live in ops, shared with the admin web page.
package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

var _ bot.Handler = (*Router)(nil)

// Config tunes the router. Zero values take the defaults shown.
type Config struct {
	// MaxList bounds /recent and /failed (50).
	MaxList int
	// Now is the clock (time.Now).
	Now func() time.Time
	// UnknownQuiet is how long an identity that is not an operator goes
	// unanswered after it was told so (1h): it is refused once, then the
	// bot stays quiet until the period has passed. Every message is still
	// audited as refused.
	UnknownQuiet time.Duration
}

// maxToldUnknown bounds the identities remembered as told they are not set
// up, so a flood of strangers cannot grow memory without end.
const maxToldUnknown = 10000

// Router is the bot's command handler.
type Router struct {
	ops *ops.Service
	cfg Config
	log *slog.Logger

	// toldMu guards told: when each unknown identity was last told it is
	// not set up. It is in memory: one instance polls a chat transport at
	// a time, and a restart at worst repeats one refusal.
	toldMu sync.Mutex
	told   map[string]time.Time
}

// New returns a router over the operations.
func New(svc *ops.Service, cfg Config, log *slog.Logger) *Router {
	if cfg.MaxList <= 0 {
		cfg.MaxList = 50
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UnknownQuiet <= 0 {
		cfg.UnknownQuiet = time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{ops: svc, cfg: cfg, log: log.With("component", "commands"), told: map[string]time.Time{}}
}

// tellUnknown reports whether an identity that is not an operator should
// be told so now: the first time, and again once UnknownQuiet has passed
// since it was last told.
func (r *Router) tellUnknown(identity string) bool {
	now := r.cfg.Now()
	r.toldMu.Lock()
	defer r.toldMu.Unlock()
	if at, ok := r.told[identity]; ok && now.Sub(at) < r.cfg.UnknownQuiet {
		return false
	}
	if len(r.told) >= maxToldUnknown {
		for id, at := range r.told {
			if now.Sub(at) >= r.cfg.UnknownQuiet {
				delete(r.told, id)
			}
		}
		for id := range r.told { // still full: forget any half
			if len(r.told) <= maxToldUnknown/2 {
				break
			}
			delete(r.told, id)
		}
	}
	r.told[identity] = now
	return true
}

// forgetUnknown forgets that an identity, now an operator, was told it is
// not set up, so that it is told again at once if it is removed.
func (r *Router) forgetUnknown(identity string) {
	r.toldMu.Lock()
	defer r.toldMu.Unlock()
	delete(r.told, identity)
}

// call is one command being run: who asked, with what role.
type call struct {
	msg bot.Message
	cmd Command
	who ops.Actor
}

func (c call) actor() string { return c.msg.From.String() }

// userErrorf is a failure the sender caused and can fix; its text is the
// reply.
func userErrorf(format string, args ...any) error {
	return ops.Errorf(ops.EINVALID, format, args...)
}

// Handle implements bot.Handler.
func (r *Router) Handle(ctx context.Context, m bot.Message) []bot.Reply {
	identity := m.From.String()
	op, err := r.ops.Operator(ctx, identity)
	if ops.ErrorCode(err) == ops.ENOTFOUND {
		e := ops.AuditEntry{Actor: identity, Transport: m.Transport, Action: "unknown_identity", Detail: firstLine(m.Text), Outcome: "refused"}
		if !r.tellUnknown(identity) {
			e.Detail = strings.TrimSpace(e.Detail + " (no reply: already told lately)")
			r.ops.Audit(ctx, e)
			return nil
		}
		r.ops.Audit(ctx, e)
		return text(fmt.Sprintf("Sorry, you are not set up to use this bot yet.\nYour id is %s — ask an admin to add you with:\n/operator add %s staff", identity, identity))
	}
	if err != nil {
		r.log.Error("look up operator", "identity", identity, "err", err)
		return text("Sorry, something went wrong on our side. Please try again in a minute.")
	}
	r.forgetUnknown(identity)
	who := ops.Actor{Identity: identity, Role: op.Role, Transport: m.Transport}

	cmd, err := Parse(m.Text)
	if err != nil {
		var unknown *UnknownCommandError
		switch {
		case errors.As(err, &unknown):
			r.ops.Audit(ctx, ops.AuditEntry{Actor: identity, Role: op.Role, Transport: m.Transport, Action: "/" + words.Cut(unknown.Name, 60), Outcome: "error", Detail: "unknown command"})
			reply := fmt.Sprintf("There is no command /%s.", words.Cut(unknown.Name, 60))
			if near := commandTable().nearest(unknown.Name, op.Role); near != "" {
				reply += fmt.Sprintf(" Did you mean /%s?", near)
			}
			return text(reply + " Send /help to see what you can use.")
		case m.Attachment != nil:
			return text("I got a file but no command. Send it again with a caption: a customer's number to send it to them, /save <name> to keep an image or video as a saved message, or /import <campaign id> for a contact list.")
		default:
			return text("I did not understand that. Send a customer's phone number, e.g. " + r.ops.PhoneExample(ctx) + ", or /help.")
		}
	}
	c := call{msg: m, cmd: cmd, who: who}
	t := commandTable()
	spec, ok := t.find(cmd.Key())
	if !ok {
		// A command that needs a subcommand, given none or a wrong one.
		var usages []string
		for _, s := range t.subcommands(cmd.Name, op.Role) {
			usages = append(usages, s.usage())
		}
		r.ops.Audit(ctx, c.entry("error", "missing subcommand"))
		if len(usages) == 0 {
			return text("Sorry, that command is not available to you. Send /help to see what you can use.")
		}
		return text("Usage:\n" + strings.Join(usages, "\n"))
	}
	if !allowed(op.Role, spec) {
		r.ops.Audit(ctx, c.entry("refused", "role "+op.Role))
		return text(fmt.Sprintf("Sorry, /%s needs the %s role; you are %s. Send /help to see what you can use.", cmd.Key(), spec.role, op.Role))
	}
	replies, err := spec.run(r, ctx, c)
	switch code := ops.ErrorCode(err); code {
	case "":
		r.ops.Audit(ctx, c.entry("ok", ""))
	case ops.EINTERNAL:
		r.log.Error("command failed", "command", cmd.Key(), "actor", identity, "err", err)
		r.ops.Audit(ctx, c.entry("error", "internal error"))
		replies = append(replies, bot.Reply{Text: ops.ErrorMessage(err)})
	default:
		outcome := "error"
		if code == ops.EFORBIDDEN {
			outcome = "refused"
		}
		msg := ops.ErrorMessage(err)
		r.ops.Audit(ctx, c.entry(outcome, msg))
		replies = append(replies, bot.Reply{Text: msg})
	}
	return replies
}

// entry is the audit line of a call. A command whose arguments may hold a
// secret (/set) has only its first one recorded.
func (c call) entry(outcome, detail string) ops.AuditEntry {
	action := "/" + c.cmd.Key()
	if c.cmd.Force {
		action += "!" // /send!, /gateway use!
	}
	args := strings.Join(c.cmd.Args, " ")
	if s, _ := commandTable().find(c.cmd.Key()); s.secretArgs && len(c.cmd.Args) > 1 {
		args = c.cmd.Args[0] + " (value not recorded)"
	}
	if detail != "" {
		args = strings.TrimSpace(args + " — " + detail)
	}
	return ops.AuditEntry{Actor: c.actor(), Role: c.who.Role, Transport: c.msg.Transport, Action: action, Detail: args, Outcome: outcome}
}

func text(s string) []bot.Reply { return []bot.Reply{{Text: s}} }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return words.Cut(s, 200)
}
