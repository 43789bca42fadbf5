package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

func (r *Router) status(ctx context.Context, c call) ([]bot.Reply, error) {
	h, err := r.rep.Health(ctx)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Gateway: %s\n", r.activeGateway(ctx))
	fmt.Fprintf(&b, "Queued %d · Processing %d · Failed %d\n", h.Counts[store.StatusQueued], h.Counts[store.StatusProcessing], h.Counts[store.StatusFailed])
	sent := h.Counts[store.StatusSent] + h.Counts[store.StatusDelivered] + h.Counts[store.StatusRead]
	fmt.Fprintf(&b, "Sent %d (delivered %d · read %d) · Cancelled %d\n", sent, h.Counts[store.StatusDelivered]+h.Counts[store.StatusRead], h.Counts[store.StatusRead], h.Counts[store.StatusCancelled])
	if !h.OldestDue.IsZero() {
		fmt.Fprintf(&b, "Oldest waiting: %s\n", humanDuration(h.OldestDueAge))
	}
	if len(h.Processors) == 0 {
		b.WriteString("Processors: none running\n")
	} else {
		fmt.Fprintf(&b, "Processors: %d running\n", len(h.Processors))
	}
	for _, w := range h.Warnings {
		fmt.Fprintf(&b, "⚠ %s\n", w.Message)
	}
	return text(strings.TrimRight(b.String(), "\n")), nil
}

func (r *Router) queueWindow(ctx context.Context, c call) ([]bot.Reply, error) {
	name := "24h"
	if len(c.cmd.Args) > 0 {
		name = strings.ToLower(c.cmd.Args[0])
	}
	w, err := r.rep.Window(ctx, name)
	if err != nil {
		return nil, userErrorf("Use /queue 1h, 24h, 7d, 30d or all.")
	}
	var parts []string
	var total int64
	for _, s := range store.QueueStatuses() {
		total += w.Counts[s]
		parts = append(parts, fmt.Sprintf("%s %d", s, w.Counts[s]))
	}
	title := "Last " + name
	if name == "all" {
		title = "All time"
	}
	return text(fmt.Sprintf("%s: %d messages\n%s", title, total, strings.Join(parts, " · "))), nil
}

func (r *Router) recent(ctx context.Context, c call) ([]bot.Reply, error) {
	n := 10
	if len(c.cmd.Args) > 0 {
		v, err := strconv.Atoi(c.cmd.Args[0])
		if err != nil || v < 1 {
			return nil, userErrorf("Usage: /recent [n], e.g. /recent 20 (at most %d).", r.cfg.MaxList)
		}
		n = min(v, r.cfg.MaxList)
	}
	items, err := r.store.RecentQueueItems(ctx, store.RecentFilter{Limit: n})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return text("No messages yet."), nil
	}
	lines := make([]string, len(items))
	for i, it := range items {
		lines[i] = itemLine(it, r.cfg.Now())
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) failed(ctx context.Context, c call) ([]bot.Reply, error) {
	items, err := r.store.RecentQueueItems(ctx, store.RecentFilter{Status: store.StatusFailed, Limit: 20})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return text("No failed messages. 👍"), nil
	}
	lines := []string{fmt.Sprintf("Latest %d failed (/retry <id> to send again, /edit <id> <phone> to fix a number):", len(items))}
	for _, it := range items {
		lines = append(lines, fmt.Sprintf("#%d %s · %d attempt(s) · %s", it.ID, it.Phone, it.Attempts, oneLineError(it.LastError)))
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) retry(ctx context.Context, c call) ([]bot.Reply, error) {
	id, err := itemArg(c.cmd.Args, "/retry <id>")
	if err != nil {
		return nil, err
	}
	it, err := r.store.ResetQueueItem(ctx, id, c.actor())
	if err := itemError(err, id, "retried"); err != nil {
		return nil, err
	}
	r.cfg.Notify()
	return text(fmt.Sprintf("#%d to %s is queued again (attempts reset).", it.ID, it.Phone)), nil
}

func (r *Router) edit(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) < 2 {
		return nil, userErrorf("Usage: /edit <id> <phone>, e.g. /edit 12 %s", PhoneExample(r.region(ctx)))
	}
	id, err := itemArg(c.cmd.Args[:1], "/edit <id> <phone>")
	if err != nil {
		return nil, err
	}
	raw := strings.Join(c.cmd.Args[1:], " ")
	phone, err := NormalizePhone(raw, r.phonePolicy(ctx))
	if err != nil {
		var pe *PhoneError
		if errors.As(err, &pe) {
			return nil, userErrorf("%s: %s. Accepted formats: %s", raw, pe.Reason, PhoneExample(r.region(ctx)))
		}
		return nil, err
	}
	it, err := r.store.EditQueueItem(ctx, id, store.QueueEdit{Phone: &phone}, c.actor())
	if err := itemError(err, id, "edited"); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("#%d now goes to %s.", it.ID, it.Phone)
	if it.Status == store.StatusFailed {
		msg += fmt.Sprintf(" It is still failed: /retry %d to send it.", it.ID)
	}
	return text(msg), nil
}

func (r *Router) cancel(ctx context.Context, c call) ([]bot.Reply, error) {
	id, err := itemArg(c.cmd.Args, "/cancel <id>")
	if err != nil {
		return nil, err
	}
	it, err := r.store.CancelQueueItem(ctx, id, c.actor())
	if err := itemError(err, id, "cancelled"); err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("#%d to %s is cancelled.", it.ID, it.Phone)), nil
}

func (r *Router) gateway(ctx context.Context, c call) ([]bot.Reply, error) {
	active := r.activeGateway(ctx)
	lines := []string{"Active gateway: " + active, "Available: " + strings.Join(r.cfg.Gateways, ", ")}
	states, err := r.store.GatewayStates(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		if s.Blocked {
			lines = append(lines, fmt.Sprintf("⚠ %s is paused since %s: %s", s.Gateway, s.BlockedAt.Format("02 Jan 15:04 MST"), s.BlockedReason))
		}
	}
	if Allowed(c.role, "gateway use") {
		lines = append(lines, "Switch with /gateway use <name>.")
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) gatewayUse(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) != 1 {
		return nil, userErrorf("Usage: /gateway use <name> — one of %s.", strings.Join(r.cfg.Gateways, ", "))
	}
	name := strings.ToLower(c.cmd.Args[0])
	if !slices.Contains(r.cfg.Gateways, name) {
		return nil, userErrorf("There is no gateway %q. Choose one of %s.", name, strings.Join(r.cfg.Gateways, ", "))
	}
	if err := r.store.PutSetting(ctx, store.SettingActiveGateway, name, false, c.actor()); err != nil {
		return nil, err
	}
	// Choosing a gateway is an admin's word that it may send again.
	if err := r.store.UnblockGateway(ctx, name); err != nil {
		return nil, err
	}
	r.cfg.Notify()
	return text(fmt.Sprintf("Messages now go out via %s.", name)), nil
}

func (r *Router) whoami(ctx context.Context, c call) ([]bot.Reply, error) {
	return text(fmt.Sprintf("You are %s, role %s.", c.actor(), c.role)), nil
}

func (r *Router) help(ctx context.Context, c call) ([]bot.Reply, error) {
	all := specs()
	lines := []string{"Type a customer's number to send them the notification. Commands:"}
	for _, key := range helpOrder() {
		if Allowed(c.role, key) {
			lines = append(lines, all[key].usage+" — "+all[key].help)
		}
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) operators(ctx context.Context, c call) ([]bot.Reply, error) {
	ops, err := r.store.Operators(ctx)
	if err != nil {
		return nil, err
	}
	lines := []string{fmt.Sprintf("%d people may use the bot:", len(ops))}
	for _, o := range ops {
		line := fmt.Sprintf("%s — %s", o.Identity, o.Role)
		if o.DisplayName != "" {
			line += " (" + o.DisplayName + ")"
		}
		lines = append(lines, line)
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) operatorAdd(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) != 2 {
		return nil, userErrorf("Usage: %s", specs()["operator add"].usage)
	}
	identity, err := r.normalizeIdentity(ctx, c.cmd.Args[0])
	if err != nil {
		return nil, err
	}
	role := strings.ToLower(c.cmd.Args[1])
	if rank(role) < 0 {
		return nil, userErrorf("Unknown role %q: use staff, operator or admin.", role)
	}
	if prev, err := r.store.Operator(ctx, identity); err == nil && prev.Role == store.RoleAdmin && role != store.RoleAdmin {
		if err := r.keepOneAdmin(ctx); err != nil {
			return nil, err
		}
	}
	op, err := r.store.PutOperator(ctx, identity, role, "", c.actor())
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("%s is now %s.", op.Identity, op.Role)), nil
}

func (r *Router) operatorRemove(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) != 1 {
		return nil, userErrorf("Usage: %s", specs()["operator remove"].usage)
	}
	identity, err := r.normalizeIdentity(ctx, c.cmd.Args[0])
	if err != nil {
		return nil, err
	}
	prev, err := r.store.Operator(ctx, identity)
	if errors.Is(err, store.ErrNotFound) {
		return nil, userErrorf("%s is not an operator; /operators lists them.", identity)
	}
	if err != nil {
		return nil, err
	}
	if prev.Role == store.RoleAdmin {
		if err := r.keepOneAdmin(ctx); err != nil {
			return nil, err
		}
	}
	if err := r.store.RemoveOperator(ctx, identity); err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("%s may no longer use the bot.", identity)), nil
}

// keepOneAdmin refuses a change that would leave no admin.
func (r *Router) keepOneAdmin(ctx context.Context) error {
	n, err := r.store.CountOperators(ctx, store.RoleAdmin)
	if err != nil {
		return err
	}
	if n <= 1 {
		return userErrorf("That would leave no admin. Make someone else admin first.")
	}
	return nil
}

// normalizeIdentity checks "telegram:<user id>", "whatsapp:<number>" or
// "console:<name>" and puts WhatsApp numbers in E.164.
func (r *Router) normalizeIdentity(ctx context.Context, raw string) (string, error) {
	transport, id, ok := strings.Cut(strings.TrimSpace(raw), ":")
	transport = strings.ToLower(transport)
	if !ok || id == "" {
		return "", userErrorf("%q is not an identity: use telegram:<user id> or whatsapp:<number>.", raw)
	}
	switch transport {
	case bot.Telegram:
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return "", userErrorf("A Telegram identity is telegram:<numeric user id>, e.g. telegram:123456789 (the user sees it when they message the bot).")
		}
	case bot.WhatsApp:
		e164, err := NormalizePhone(id, PhonePolicy{Region: r.region(ctx), AllowForeign: true})
		if err != nil {
			return "", userErrorf("%q is not a WhatsApp number: %v", id, err)
		}
		id = e164
	case bot.Console:
	default:
		return "", userErrorf("Unknown chat %q: use telegram:<user id> or whatsapp:<number>.", transport)
	}
	return transport + ":" + id, nil
}

func itemArg(args []string, usage string) (int64, error) {
	if len(args) != 1 {
		return 0, userErrorf("Usage: %s", usage)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, userErrorf("%q is not a message id. Usage: %s", args[0], usage)
	}
	return id, nil
}

// itemError turns a store error about item id into a reply.
func itemError(err error, id int64, verb string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return userErrorf("There is no message #%d.", id)
	case errors.Is(err, store.ErrConflict):
		return userErrorf("#%d cannot be %s now: only queued or failed messages can (see /recent).", id, verb)
	default:
		return err
	}
}

func itemLine(it store.QueueItem, now time.Time) string {
	line := fmt.Sprintf("#%d %s · %s", it.ID, it.Phone, it.Status)
	switch it.Status {
	case store.StatusQueued:
		if it.Attempts > 0 {
			line += fmt.Sprintf(" · attempt %d/%d, next in %s", it.Attempts, it.MaxAttempts, humanDuration(it.NextAttemptAt.Sub(now)))
		}
	case store.StatusFailed:
		line += fmt.Sprintf(" · %d attempt(s) · %s", it.Attempts, oneLineError(it.LastError))
	}
	if it.LastError != "" && it.Status == store.StatusQueued {
		line += " · last error: " + oneLineError(it.LastError)
	}
	return line
}

func oneLineError(s string) string {
	s = queue.SanitizeError(s)
	if len(s) > 120 {
		s = s[:117] + "…"
	}
	if s == "" {
		return "no error recorded"
	}
	return s
}

func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
