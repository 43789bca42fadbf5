package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

// Notifier sends a chat message to one person on its transport, not as a
// reply: how staff hear that a message they queued failed. The Telegram
// and WhatsApp transports provide one.
type Notifier interface {
	// Ready reports whether this process can send through the transport
	// now (it is configured, and for WhatsApp connected here).
	Ready() bool
	// Notify sends text to the person with id on the transport (a
	// Telegram user id, a WhatsApp number in E.164).
	Notify(ctx context.Context, id, text string) error
}

// NoticeConfig tunes Notices. Zero values take the defaults shown.
type NoticeConfig struct {
	// Poll is how often failures to tell are looked for (5s).
	Poll time.Duration
	// Batch is the most notices claimed at once (20).
	Batch int
}

// Notices tells the people who queued messages from a chat when one of
// them fails for good: a chat message with the number, the reason in
// plain words and the fix. It also forwards customers' replies to the
// chats ops.Service.Inbound chose (ReplyNoticeText). Each notice is told
// once, by whichever process claims it (see ops.ClaimFailureNotices).
type Notices struct {
	ops       *ops.Service
	notifiers map[string]Notifier
	cfg       NoticeConfig
	log       *slog.Logger
}

// NewNotices returns the notices service over notifiers by transport name
// (bot.Telegram, bot.WhatsApp).
func NewNotices(svc *ops.Service, notifiers map[string]Notifier, cfg NoticeConfig, log *slog.Logger) *Notices {
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 20
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notices{ops: svc, notifiers: notifiers, cfg: cfg, log: log.With("component", "notices")}
}

// Run tells failures until ctx is cancelled.
func (n *Notices) Run(ctx context.Context) error {
	t := time.NewTicker(n.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := n.RunOnce(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("failure notices", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce claims the failures due to be told through the transports
// ready now and tells them, returning how many it tried.
func (n *Notices) RunOnce(ctx context.Context) (int, error) {
	var ready []string
	for name, nf := range n.notifiers {
		if nf != nil && nf.Ready() {
			ready = append(ready, name)
		}
	}
	if len(ready) == 0 {
		return 0, nil
	}
	claimed, err := n.ops.ClaimFailureNotices(ctx, ready, n.cfg.Batch, randomToken())
	if err != nil {
		return 0, err
	}
	for _, nt := range claimed {
		sctx, cancel := context.WithTimeout(ctx, ops.NoticeSendTimeout)
		var msg string
		switch {
		case nt.Reply != nil:
			msg = ReplyNoticeText(*nt.Reply)
		case nt.Campaign != nil:
			msg = CampaignNoticeText(*nt.Campaign)
		default:
			msg = FailureText(nt.Item, nt.Role)
		}
		err := n.notifiers[nt.Transport()].Notify(sctx, nt.ChatID(), msg)
		cancel()
		n.ops.FinishFailureNotice(context.WithoutCancel(ctx), nt, err)
	}
	return len(claimed), nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FailureText is the chat message that tells the person who queued it
// (with role) that it failed: the number, the reason in plain words and
// the fix; operators and admins also get the error's code.
func FailureText(it ops.QueueItem, role string) string {
	e := ops.ExplainItem(it)
	var b strings.Builder
	fmt.Fprintf(&b, "⚠ Your message #%d to %s could not be sent", it.ID, it.Phone)
	if it.Attempts > 1 {
		fmt.Fprintf(&b, " (%s)", words.Count(it.Attempts, "attempt"))
	}
	b.WriteString(".\n")
	b.WriteString(explanationText(e, role))
	if fix := fixText(e.Fix, it.ID, role); fix != "" {
		b.WriteString("\n" + fix)
	}
	return b.String()
}

// CampaignNoticeText tells the one who scheduled campaign c that it did
// not start at its time: it is paused, why, and how to go on once fixed.
func CampaignNoticeText(c ops.Campaign) string {
	return fmt.Sprintf("⚠ Your campaign #%d %q is paused: %s\nOnce that is fixed, send it with /campaign resume %d, or pick a new time with /campaign schedule %d <YYYY-MM-DD HH:MM>.",
		c.ID, c.Name, c.PauseReason, c.ID, c.ID)
}

// explanationText is the plain reason, with the code for operators and
// admins.
func explanationText(e ops.Explanation, role string) string {
	if e.Code != "" && ops.AtLeast(role, ops.RoleOperator) {
		return strings.TrimSuffix(e.Plain, ".") + " (" + e.Code + ")."
	}
	return e.Plain
}

// fixText says what to do about a failed message #id, to someone with
// role: the commands themselves to those who may run them, "ask an
// operator" to staff.
func fixText(f ops.Fix, id int64, role string) string {
	may := Allowed(role, "edit") && Allowed(role, "retry")
	switch f {
	case ops.FixNumber:
		if may {
			return fmt.Sprintf("Fix: check the number with the customer, correct it with /edit %d <phone>, then send it again with /retry %d.", id, id)
		}
		return fmt.Sprintf("Fix: check the number with the customer, then ask an operator to correct it (/edit %d <phone>) and send it again (/retry %d).", id, id)
	case ops.FixMessage:
		if may {
			return fmt.Sprintf("Fix: change what staff messages send (/settings intake), then /retry %d.", id)
		}
		return fmt.Sprintf("Fix: ask an operator to fix the message and send it again (/retry %d).", id)
	case ops.FixAccount:
		if may {
			return fmt.Sprintf("Fix: once an admin has fixed the sending account or switched gateways (/gateway), send it again with /retry %d.", id)
		}
		return fmt.Sprintf("Fix: ask an operator to send it again (/retry %d) once the sending account is fixed.", id)
	case ops.FixRetry:
		if may {
			return fmt.Sprintf("Fix: send it again with /retry %d.", id)
		}
		return fmt.Sprintf("Fix: ask an operator to send it again (/retry %d).", id)
	}
	return ""
}

// statusText says where a message is, in plain words.
func statusText(it ops.QueueItem) string {
	switch it.Status {
	case ops.StatusQueued:
		if it.Attempts > 0 || it.LastError != "" {
			return "waiting to be sent again"
		}
		return "waiting to be sent"
	case ops.StatusProcessing:
		return "being sent now"
	case ops.StatusSent:
		return "sent"
	case ops.StatusDelivered:
		return "delivered"
	case ops.StatusRead:
		return "delivered and read"
	case ops.StatusFailed:
		return "not sent"
	case ops.StatusCancelled:
		return "cancelled"
	}
	return string(it.Status)
}

// mine lists the newest messages the sender queued themselves, with where
// each is in plain words, and the fix for failed ones.
func (r *Router) mine(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) > 0 {
		return nil, userErrorf("Usage: /mine (it takes no words after it).")
	}
	items, err := r.ops.Mine(ctx, c.who, 10)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return text("You have not queued any messages yet. Type a customer's number to send one."), nil
	}
	now := r.cfg.Now()
	lines := []string{fmt.Sprintf("Your last %s:", words.Count(len(items), "message"))}
	for _, it := range items {
		lines = append(lines, mineLine(it, c.who.Role, now))
	}
	return text(strings.Join(lines, "\n")), nil
}

// mineLine is one of /mine's lines.
func mineLine(it ops.QueueItem, role string, now time.Time) string {
	line := fmt.Sprintf("#%d %s · %s", it.ID, it.Phone, statusText(it))
	if age := now.Sub(it.CreatedAt); age >= time.Minute {
		line += " · queued " + humanDuration(age) + " ago"
	}
	switch it.Status {
	case ops.StatusQueued:
		if it.Attempts > 0 {
			line += fmt.Sprintf(" · attempt %d of %d", it.Attempts, it.MaxAttempts)
		}
		if wait := it.NextAttemptAt.Sub(now); wait > 0 {
			line += " · next try in " + humanDuration(wait)
		}
		if it.LastError != "" {
			line += " · " + explanationText(ops.ExplainItem(it), role)
		}
	case ops.StatusFailed:
		e := ops.ExplainItem(it)
		line += fmt.Sprintf(" · %s · %s", words.Count(it.Attempts, "attempt"), explanationText(e, role))
		if fix := fixText(e.Fix, it.ID, role); fix != "" {
			line += " " + fix
		}
	}
	return line
}

// warningText words a /status warning; a paused gateway is explained in
// plain words, with the code for operators and admins.
func warningText(w ops.Warning, role string) string {
	if w.Kind != "gateway_blocked" {
		return w.Message
	}
	e := ops.ExplainError(w.Gateway, "sender_blocked", w.Reason)
	return fmt.Sprintf("Sending via %s is paused: %s", w.Gateway, explanationText(e, role))
}
