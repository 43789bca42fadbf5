package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

// send queues a message to each phone number in the command: staff intake.
// With an image or video attached, that file is sent, and the words after
// the numbers are its caption.
func (r *Router) send(ctx context.Context, c call) ([]bot.Reply, error) {
	req := ops.IntakeRequest{Force: c.cmd.Force}
	for _, a := range c.cmd.Args {
		if name, ok := strings.CutPrefix(a, "message="); ok {
			req.SavedMessage = name
			if n, tail, ok := CutName(req.SavedMessage); ok && tail == "" && n != "" {
				req.SavedMessage = n // "Diwali offer" in quotes
			}
			if t, ok := cutPrefixFold(req.SavedMessage, "template:"); ok {
				// template:<name>[:<lang>] is the template even when a
				// saved message has that name.
				name, lang, _ := strings.Cut(strings.TrimSpace(t), ":")
				req.Template, req.SavedMessage = &ops.Template{Name: name, Language: lang}, ""
			}
			continue
		}
		if strings.Contains(a, "=") && (req.SavedMessage != "" || req.Template != nil) {
			req.Values = append(req.Values, a) // a template value after its name
			continue
		}
		req.Phones = append(req.Phones, a)
	}
	with := ""
	if a := c.msg.Attachment; a != nil {
		up, closer, err := upload(ctx, a)
		if err != nil {
			return nil, err
		}
		defer closer.Close()
		// The words after the numbers are the caption, key=value ones too.
		caption := strings.Join(append([]string{req.SavedMessage}, req.Values...), " ")
		req.Attachment, req.Caption, req.SavedMessage, req.Values = up, strings.TrimSpace(caption), "", nil
		with = ", with the attached file"
	}
	res, err := r.ops.Intake(ctx, c.who, req)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, u := range res.Unreachable {
		lines = append(lines, fmt.Sprintf("✗ %s %s", u.Raw, u.Reason))
	}
	for _, d := range res.Duplicates {
		lines = append(lines, fmt.Sprintf("• %s already queued as #%d (%s) — /send! %s to send again", d.Phone, d.ID, d.Status, d.Phone))
	}
	for _, inv := range res.Invalid {
		lines = append(lines, fmt.Sprintf("✗ %s: %s", words.Cut(inv.Raw, 40), inv.Reason))
	}
	if len(res.Queued) == 0 {
		if len(res.Invalid) > 0 {
			lines = append(lines, "Nothing queued. Accepted formats: "+r.ops.PhoneExample(ctx))
		}
		if res.Paused != nil {
			waiting := 0
			for _, d := range res.Duplicates {
				if d.Status == ops.StatusQueued {
					waiting++
				}
			}
			lines = append(lines, r.pauseNote(ctx, res.Paused, waiting, true))
		}
		return text(strings.Join(lines, "\n")), nil
	}
	if len(res.Queued) == 1 && len(lines) == 0 && res.Queued[0].Template != "" {
		q := res.Queued[0]
		return text(fmt.Sprintf("Queued #%d for %s via %s as the template %s (the customer has not written in the last 24 hours).", q.ID, q.Phone, res.Gateway, q.Template)), nil
	}
	if len(res.Queued) == 1 && len(lines) == 0 {
		if res.Paused != nil {
			return text(fmt.Sprintf("Queued #%d for %s%s.\n%s", res.Queued[0].ID, res.Queued[0].Phone, with,
				r.pauseNote(ctx, res.Paused, 1, false))), nil
		}
		return text(fmt.Sprintf("Queued #%d for %s via %s%s.", res.Queued[0].ID, res.Queued[0].Phone, res.Gateway, with)), nil
	}
	queued := make([]string, len(res.Queued))
	for i, q := range res.Queued {
		queued[i] = fmt.Sprintf("✓ #%d → %s", q.ID, q.Phone)
		if q.Template != "" {
			queued[i] += " (as the template " + q.Template + ": no message from the customer in the last 24 hours)"
		}
	}
	if res.Paused != nil {
		lines = append(lines, r.pauseNote(ctx, res.Paused, len(res.Queued), false))
		return text(fmt.Sprintf("Queued %d%s:\n%s", len(res.Queued), with, strings.Join(append(queued, lines...), "\n"))), nil
	}
	return text(fmt.Sprintf("Queued %d via %s%s:\n%s", len(res.Queued), res.Gateway, with, strings.Join(append(queued, lines...), "\n"))), nil
}

// pauseNote tells staff that n messages (queued now, or already before)
// cannot go out yet because the gateway is paused, why, and what ends the
// wait: "⚠ Not sent yet: sending via meta is paused since …. The
// WhatsApp Business account's access token has expired; … It waits in the
// queue; it goes out once an admin fixes meta or switches to another
// gateway." The reason is in plain words (ops.ExplainError), for staff.
func (r *Router) pauseNote(ctx context.Context, p *ops.GatewayState, n int, already bool) string {
	wait, goes := "It waits", "it goes"
	switch {
	case already && n == 1:
		wait = "The message already queued waits"
	case already:
		wait, goes = "The messages already queued wait", "they go"
	case n > 1:
		wait, goes = "They wait", "they go"
	}
	return fmt.Sprintf("⚠ Not sent yet: sending via %s is paused since %s. %s %s in the queue; %s out once an admin fixes %s or switches to another gateway.",
		p.Gateway, r.ops.TimeText(ctx, p.BlockedAt), ops.PauseReason(*p), wait, goes, p.Gateway)
}

// cutPrefixFold is strings.CutPrefix without regard to case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
