package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/store/words"
)

// Lengths of a customer's text in chat: a forward shows most of it, an
// /inbox line a glimpse.
const (
	forwardTextMax = 1000
	inboxTextMax   = 160
)

// fromText names a customer: "+91 98765 43210 (Asha)".
func fromText(m ops.InboundMessage) string {
	s := phone.Display(m.Phone)
	if name := strings.TrimSpace(m.ProfileName); name != "" {
		s += " (" + words.Cut(name, 60) + ")"
	}
	return s
}

// ReplyNoticeText is the chat message that forwards a customer's message:
// who wrote, what, whether it was a stop request or START, and how to
// answer.
func ReplyNoticeText(f ops.ForwardedReply) string {
	m := f.Message
	var b strings.Builder
	fmt.Fprintf(&b, "Reply from %s: %s", fromText(m), ops.InboundSummary(m, forwardTextMax))
	switch f.Intent {
	case ops.IntentStop:
		b.WriteString("\n(A stop request: the number is opted out of campaigns, and the customer was told so.)")
	case ops.IntentStart:
		b.WriteString("\n(START: the number gets campaigns again if it had opted out.)")
	}
	fmt.Fprintf(&b, "\nAnswer with /reply %s <text>", m.Phone)
	return b.String()
}

// inbox lists the latest customers' messages, newest first.
func (r *Router) inbox(ctx context.Context, c call) ([]bot.Reply, error) {
	n := 0
	switch len(c.cmd.Args) {
	case 0:
	case 1:
		v, err := strconv.Atoi(c.cmd.Args[0])
		if err != nil || v <= 0 {
			return nil, userErrorf("Usage: /inbox [n], e.g. /inbox 20 (at most %d).", ops.InboxMax)
		}
		n = v
	default:
		return nil, userErrorf("Usage: /inbox [n], e.g. /inbox 20 (at most %d).", ops.InboxMax)
	}
	list, err := r.ops.Inbox(ctx, c.who, n)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return text("No customer has written to us yet."), nil
	}
	lines := []string{fmt.Sprintf("Latest %s, newest first:", words.Count(len(list), "reply"))}
	for _, m := range list {
		lines = append(lines, fmt.Sprintf("%s · %s: %s", r.ops.TimeText(ctx, m.ReceivedAt), fromText(m), ops.InboundSummary(m, inboxTextMax)))
	}
	lines = append(lines, "Answer with /reply <phone> <text>.")
	return text(strings.Join(lines, "\n")), nil
}

// reply answers a customer with free text.
func (r *Router) reply(ctx context.Context, c call) ([]bot.Reply, error) {
	raw, body, ok := splitPhoneText(c.cmd.Text)
	if !ok {
		// The example is one number ("98765 43210 or +91 …" would read as
		// part of the text).
		ex, _, _ := strings.Cut(r.ops.PhoneExample(ctx), " or ")
		return nil, userErrorf("Usage: /reply <phone> <text>, e.g. /reply %s Your order is ready.", ex)
	}
	res, err := r.ops.Reply(ctx, c.who, raw, body)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Queued #%d for %s via %s.", res.ID, res.Phone, res.Gateway)), nil
}

// splitPhoneText cuts "98765 43210 Your order is ready" into the number
// as typed and the text after it, line breaks kept. The number must come
// first.
func splitPhoneText(s string) (raw, rest string, ok bool) {
	s = strings.TrimSpace(s)
	cands := phone.Find(s)
	if len(cands) == 0 {
		return "", "", false
	}
	need := 0
	for _, r := range cands[0] {
		if unicode.IsDigit(r) {
			need++
		}
	}
	i, seen := 0, 0
	for i < len(s) && seen < need {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) {
			return "", "", false // words before the number
		}
		if unicode.IsDigit(r) {
			seen++
		}
		i += size
	}
	return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i:]), seen == need
}
