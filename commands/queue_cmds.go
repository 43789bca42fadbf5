package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/words"
)

func (r *Router) status(ctx context.Context, c call) ([]bot.Reply, error) {
	h, err := r.ops.Health(ctx)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Gateway: %s\n", r.ops.ActiveGateway(ctx))
	fmt.Fprintf(&b, "%s\n", tallyText(ops.TallyOf(h.Counts)))
	if !h.OldestDue.IsZero() {
		fmt.Fprintf(&b, "Oldest waiting: %s\n", humanDuration(h.OldestDueAge))
	}
	if len(h.Processors) == 0 {
		b.WriteString("Processors: none running\n")
	} else {
		fmt.Fprintf(&b, "Processors: %d running\n", len(h.Processors))
	}
	active := r.ops.ActiveGateway(ctx)
	for _, p := range r.ops.Paces() {
		slowed := p.Target == 0 || p.Rate < p.Target*0.95
		if p.Gateway != active && !slowed {
			continue
		}
		switch {
		case p.Target > 0 && p.Rate < p.Target*0.95:
			fmt.Fprintf(&b, "Sending via %s at %s/s of %s/s: slowed down by the provider's rate limits\n", p.Gateway, rateText(p.Rate), rateText(p.Target))
		case p.Target > 0:
			fmt.Fprintf(&b, "Sending via %s at up to %s/s\n", p.Gateway, rateText(p.Target))
		default:
			fmt.Fprintf(&b, "Sending via %s at %s/s: slowed down by the provider's rate limits\n", p.Gateway, rateText(p.Rate))
		}
	}
	for _, w := range h.Warnings {
		fmt.Fprintf(&b, "⚠ %s\n", warningText(w, c.who.Role))
	}
	return text(strings.TrimRight(b.String(), "\n")), nil
}

func (r *Router) queueWindow(ctx context.Context, c call) ([]bot.Reply, error) {
	name := "24h"
	if len(c.cmd.Args) > 0 {
		name = strings.ToLower(c.cmd.Args[0])
	}
	w, err := r.ops.Window(ctx, name)
	if ops.ErrorCode(err) == ops.EINVALID {
		return nil, userErrorf("Use /queue 1h, 24h, 7d, 30d or all.")
	}
	if err != nil {
		return nil, err
	}
	t := ops.TallyOf(w.Counts)
	title := "Last " + name
	if name == "all" {
		title = "All time"
	}
	return text(fmt.Sprintf("%s: %s\n%s", title, words.Count(int(t.Total), "message"), tallyText(t))), nil
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
	items, err := r.ops.Recent(ctx, ops.RecentFilter{Limit: n})
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
	items, err := r.ops.Recent(ctx, ops.RecentFilter{Status: ops.StatusFailed, Limit: 20})
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return text("No failed messages. 👍"), nil
	}
	lines := []string{fmt.Sprintf("Latest %d failed (/retry <id> to send again, /edit <id> <phone> to fix a number):", len(items))}
	for _, it := range items {
		lines = append(lines, fmt.Sprintf("#%d %s · %s · %s", it.ID, it.Phone, words.Count(it.Attempts, "attempt"), oneLineError(it.LastError)))
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) retry(ctx context.Context, c call) ([]bot.Reply, error) {
	id, err := itemArg(c.cmd.Args, "/retry <id>")
	if err != nil {
		return nil, err
	}
	it, err := r.ops.Retry(ctx, c.who, id)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("#%d to %s is queued again (attempts reset).", it.ID, it.Phone)), nil
}

func (r *Router) edit(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) < 2 {
		return nil, userErrorf("Usage: /edit <id> <phone>, e.g. /edit 12 %s", r.ops.PhoneExample(ctx))
	}
	id, err := itemArg(c.cmd.Args[:1], "/edit <id> <phone>")
	if err != nil {
		return nil, err
	}
	it, err := r.ops.EditPhone(ctx, c.who, id, strings.Join(c.cmd.Args[1:], " "))
	if err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("#%d now goes to %s.", it.ID, it.Phone)
	if it.Status == ops.StatusFailed {
		msg += fmt.Sprintf(" It is still failed: /retry %d to send it.", it.ID)
	}
	return text(msg), nil
}

func (r *Router) cancel(ctx context.Context, c call) ([]bot.Reply, error) {
	id, err := itemArg(c.cmd.Args, "/cancel <id>")
	if err != nil {
		return nil, err
	}
	it, err := r.ops.Cancel(ctx, c.who, id)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("#%d to %s is cancelled.", it.ID, it.Phone)), nil
}

func (r *Router) gateway(ctx context.Context, c call) ([]bot.Reply, error) {
	st, err := r.ops.Gateways(ctx)
	if err != nil {
		return nil, err
	}
	lines := []string{"Active gateway: " + st.Active, "Available: " + strings.Join(st.Available, ", ")}
	for _, s := range st.Paused {
		lines = append(lines, fmt.Sprintf("⚠ %s is paused since %s: %s", s.Gateway, r.ops.TimeText(ctx, s.BlockedAt), s.BlockedReason))
	}
	if Allowed(c.who.Role, "gateway use") {
		lines = append(lines, "Switch with /gateway use <name>.")
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) gatewayUse(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) != 1 {
		use := "/gateway use"
		if c.cmd.Force {
			use += "!"
		}
		return nil, userErrorf("Usage: %s <name> — one of %s.", use, strings.Join(r.ops.GatewayNames(), ", "))
	}
	sw, err := r.ops.SwitchGateway(ctx, c.who, c.cmd.Args[0], c.cmd.Force)
	if err != nil {
		return nil, err
	}
	lines := []string{fmt.Sprintf("Messages now go out via %s.", sw.Active)}
	if sw.Warning != "" {
		lines = append(lines, "⚠ "+sw.Warning)
	}
	for _, p := range sw.Paused {
		lines = append(lines, fmt.Sprintf("Paused campaign #%d %q: %s. Once fixed, /campaign resume %d sends the rest.",
			p.Campaign.ID, words.Cut(p.Campaign.Name, 60), words.Cut(strings.TrimSuffix(p.Reason, "."), 300), p.Campaign.ID))
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) operators(ctx context.Context, c call) ([]bot.Reply, error) {
	list, err := r.ops.Operators(ctx)
	if err != nil {
		return nil, err
	}
	lines := []string{fmt.Sprintf("%s may use the bot:", words.Count(len(list), "person"))}
	for _, o := range list {
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
		return nil, userErrorf("Usage: %s", usageOf("operator add"))
	}
	op, err := r.ops.PutOperator(ctx, c.who, c.cmd.Args[0], c.cmd.Args[1])
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("%s is now %s.", op.Identity, op.Role)), nil
}

func (r *Router) operatorRemove(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) != 1 {
		return nil, userErrorf("Usage: %s", usageOf("operator remove"))
	}
	id, err := r.ops.NormalizeIdentity(ctx, c.cmd.Args[0])
	if err != nil {
		return nil, err
	}
	if err := r.ops.RemoveOperator(ctx, c.who, id); err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("%s may no longer use the bot.", id)), nil
}

func (r *Router) whoami(ctx context.Context, c call) ([]bot.Reply, error) {
	return text(fmt.Sprintf("You are %s, role %s.", c.actor(), c.who.Role)), nil
}

func (r *Router) help(ctx context.Context, c call) ([]bot.Reply, error) {
	lines := []string{"Type a customer's number to send them the notification. Commands:"}
	for _, s := range commandTable() {
		if !allowed(c.who.Role, s) {
			continue
		}
		line := s.usage() + " — " + s.help
		if s.helpNow != nil {
			line += s.helpNow(r, ctx)
		}
		lines = append(lines, line)
	}
	return text(strings.Join(lines, "\n")), nil
}

func itemArg(args []string, usage string) (int64, error) {
	if len(args) != 1 {
		return 0, userErrorf("Usage: %s", usage)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, userErrorf("%q is not a message id. Usage: %s", words.Cut(args[0], 40), usage)
	}
	return id, nil
}

func itemLine(it ops.QueueItem, now time.Time) string {
	line := fmt.Sprintf("#%d %s · %s", it.ID, it.Phone, it.Status)
	switch it.Status {
	case ops.StatusQueued:
		if it.Attempts > 0 {
			line += fmt.Sprintf(" · attempt %d/%d, next in %s", it.Attempts, it.MaxAttempts, humanDuration(it.NextAttemptAt.Sub(now)))
		}
	case ops.StatusFailed:
		line += fmt.Sprintf(" · %s · %s", words.Count(it.Attempts, "attempt"), oneLineError(it.LastError))
	}
	if it.LastError != "" && it.Status == ops.StatusQueued {
		line += " · last error: " + oneLineError(it.LastError)
	}
	return line
}

func oneLineError(s string) string {
	s = words.Cut(queue.SanitizeError(s), 120)
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

// rateText writes a send rate with one decimal below 10/s.
func rateText(r float64) string {
	if r < 10 {
		return strconv.FormatFloat(r, 'f', 1, 64)
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}
