package ops

// Customers' replies: stored once, forwarded to staff, listed by /inbox
// and the admin page, answered by /reply inside the provider's window;
// a stop keyword opts the number out of campaigns ("Stop means stop").

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/words"
)

// InboundMessage is one message a customer sent to the business.
type InboundMessage = store.InboundMessage

// OptOut is a number's entry on the opt-out list.
type OptOut = store.OptOut

// OptOutSourceReply is the source of an opt-out a customer asked for by
// replying a stop keyword.
const OptOutSourceReply = store.OptOutSourceReply

// OptOutOf returns phone's (E.164) entry on the opt-out list; false when
// it has none.
func (s *Service) OptOutOf(ctx context.Context, a Actor, phone string) (OptOut, bool, error) {
	if err := s.require(a, RoleOperator, "reading the opt-out list"); err != nil {
		return OptOut{}, false, err
	}
	o, err := s.st.OptOutOf(ctx, phone)
	if errors.Is(err, store.ErrNotFound) {
		return OptOut{}, false, nil
	}
	if err != nil {
		return OptOut{}, false, err
	}
	return o, true, nil
}

// Inbound message kinds.
const (
	InboundText  = store.InboundText
	InboundImage = store.InboundImage
	InboundVideo = store.InboundVideo
)

// Keys of the settings about customers' replies.
const (
	SettingOptOutKeywords     = "optout.keywords"
	SettingOptOutConfirmation = "optout.confirmation"
	SettingOptInConfirmation  = "optout.start_confirmation"
	SettingForwardDays        = "inbound.forward_days"
	SettingForwardTo          = "inbound.forward_to"
)

// StartKeyword is the reply that undoes a customer's opt-out.
const StartKeyword = "START"

// inboundActor is who records what a customer's reply did (opt-outs,
// confirmations) in the opt-out list, the queue and the audit log.
func inboundActor(gateway string) string { return "customer reply:" + gateway }

// Inbox bounds.
const (
	InboxDefault = 10
	InboxMax     = 50
)

// inboundSettingDefs declares the settings of customers' replies (part of
// SettingDefs).
func inboundSettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingOptOutKeywords, Default: "STOP, UNSUBSCRIBE, STOP PROMOTIONS, बंद करो, रोको", Role: settings.RoleOperator, Check: checkKeywords,
			Help: "comma-separated replies that opt a number out of campaigns (the whole message, any case and spacing); START undoes it"},
		{Key: SettingOptOutConfirmation, Default: "You will get no more promotional messages from us. Reply START to get them again.", Role: settings.RoleOperator,
			Help: "what a customer who replied a stop keyword is sent back"},
		{Key: SettingOptInConfirmation, Default: "You will get our messages again. Reply STOP to stop them.", Role: settings.RoleOperator,
			Help: "what an opted-out customer who replied START is sent back"},
		{Key: SettingForwardDays, Type: settings.Int, Default: "7", Unit: "days", Min: 0, Max: 365, Role: settings.RoleOperator,
			Help: "a customer's reply goes to the chat of whoever last sent them a message within this many days (0: never), otherwise to inbound.forward_to"},
		{Key: SettingForwardTo, Check: checkForwardTo,
			Help: "comma-separated chats (telegram:<id>, whatsapp:<+number>) that get customers' replies nobody sent them a message for"},
	}
}

func checkKeywords(v string) error {
	list := splitList(v)
	if len(list) == 0 {
		return errors.New("give at least one keyword, e.g. STOP, UNSUBSCRIBE")
	}
	for _, k := range list {
		switch n := normalizeReply(k); {
		case n == "":
			return fmt.Errorf("%q has no letters", k)
		case n == normalizeReply(StartKeyword):
			return errors.New("START undoes an opt-out; it cannot be a stop keyword")
		case len([]rune(n)) > 64:
			return fmt.Errorf("%q is longer than 64 characters", words.Cut(k, 20))
		}
	}
	return nil
}

func checkForwardTo(v string) error {
	for _, id := range splitList(v) {
		if _, err := forwardIdentity(id); err != nil {
			return err
		}
	}
	return nil
}

// forwardIdentity checks one chat of inbound.forward_to and puts it in
// the form notices are addressed to.
func forwardIdentity(raw string) (string, error) {
	transport, id, ok := strings.Cut(strings.TrimSpace(raw), ":")
	transport, id = strings.ToLower(strings.TrimSpace(transport)), strings.TrimSpace(id)
	if !ok || id == "" {
		return "", fmt.Errorf("%q is not a chat: use telegram:<id> or whatsapp:<+number>", words.Cut(raw, 40))
	}
	switch transport {
	case "telegram":
		// Group chats have negative ids.
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return "", fmt.Errorf("%q: a Telegram chat is telegram:<numeric id>, e.g. telegram:123456789", words.Cut(raw, 40))
		}
	case "whatsapp":
		if !strings.HasPrefix(id, "+") {
			return "", fmt.Errorf("%q: write the WhatsApp number with its +country code, e.g. whatsapp:+919876543210", words.Cut(raw, 40))
		}
		e164, err := phone.Normalize(id, phone.Policy{AllowForeign: true})
		if err != nil {
			return "", fmt.Errorf("%q is not a WhatsApp number", words.Cut(raw, 40))
		}
		id = e164
	case "console":
		if strings.ContainsAny(id, " \t\n") {
			return "", errors.New("a console chat is console:<name> without spaces")
		}
	default:
		return "", fmt.Errorf("%q: use telegram:<id> or whatsapp:<+number>", words.Cut(raw, 40))
	}
	return transport + ":" + id, nil
}

// splitList cuts a comma-separated setting into its trimmed, non-empty
// items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// normalizeReply is how replies and keywords compare: Unicode-normalized
// (NFKC: full-width letters and composed Devanagari compare equal),
// invisible format characters (zero-width spaces and joiners, bidi marks)
// dropped, any run of spaces (non-breaking too) one space, punctuation at
// either end dropped ("Stop!", "रोको।"), and lower case.
func normalizeReply(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
	return strings.ToLower(s)
}

// InboundSummary is what a customer sent, for people: the text, or "[image]"
// / "[video]" and its caption, cut to max characters.
func InboundSummary(m InboundMessage, max int) string {
	body := strings.TrimSpace(m.Body)
	if m.Kind != store.InboundText {
		tag := "[" + m.Kind + "]"
		if m.Kind == "" || m.Kind == store.InboundOther {
			tag = "[message]"
		}
		if body == "" {
			return tag
		}
		body = tag + " " + body
	}
	return words.Cut(body, max)
}

// ReplyIntent is what a customer's message asks about campaigns.
type ReplyIntent int

// The intents.
const (
	// IntentNone: an ordinary message.
	IntentNone ReplyIntent = iota
	// IntentStop: the whole message is a stop keyword.
	IntentStop
	// IntentStart: the whole message is START.
	IntentStart
)

// MatchReply says whether body, as a whole, is one of keywords (a stop
// request) or START.
func MatchReply(body string, keywords []string) ReplyIntent {
	b := normalizeReply(body)
	if b == "" {
		return IntentNone
	}
	if b == normalizeReply(StartKeyword) {
		return IntentStart
	}
	for _, k := range keywords {
		if normalizeReply(k) == b {
			return IntentStop
		}
	}
	return IntentNone
}

// replyIntent is MatchReply with the keywords in force; only text
// messages can ask.
func (s *Service) replyIntent(ctx context.Context, m InboundMessage) ReplyIntent {
	if m.Kind != store.InboundText {
		return IntentNone
	}
	return MatchReply(m.Body, splitList(s.settings.String(ctx, SettingOptOutKeywords)))
}

// inboundPhone puts a provider's number in E.164: providers write
// international numbers, often without the plus ("919876543210").
func inboundPhone(raw, region string) (string, bool) {
	raw = strings.TrimSpace(raw)
	digits := strings.TrimLeft(raw, "+")
	if digits == "" || len(digits) > 17 || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return "", false
	}
	in := raw
	if !strings.HasPrefix(raw, "+") && len(digits) > 10 {
		in = "+" + digits
	}
	e164, err := phone.Normalize(in, phone.Policy{Region: region, AllowForeign: true})
	return e164, err == nil
}

// Inbound takes one message a customer sent (gateways.InboundSink): it is
// stored once per provider message id (a redelivery changes nothing
// else), which opens the customer's window; items held for that window
// are released; a stop keyword opts the number out of campaigns and START
// undoes it, each confirmed to the customer; and the message is forwarded
// to staff. An error means it was not stored (the provider should deliver
// it again). Neither the text nor the profile name is ever logged.
func (s *Service) Inbound(ctx context.Context, m store.InboundMessage) error {
	e164, ok := inboundPhone(m.Phone, s.Region(ctx))
	if !ok {
		s.log.Warn("inbound message from something that is not a phone number; dropped", "gateway", m.Gateway, "provider_message_id", m.ProviderMessageID)
		return nil
	}
	m.Phone = e164
	stored, first, err := s.st.RecordInbound(ctx, m)
	if err != nil {
		return fmt.Errorf("inbound message: %w", err)
	}
	if !first {
		s.log.Debug("inbound message delivered again; already stored", "gateway", m.Gateway, "inbound", stored.ID)
		return nil
	}
	s.log.Info("inbound message", "gateway", stored.Gateway, "inbound", stored.ID, "kind", stored.Kind)
	if n, err := s.st.ReleaseHeld(ctx, stored.Gateway, stored.Phone); err != nil {
		s.log.Error("inbound message: release the messages held for the window", "inbound", stored.ID, "err", err)
	} else if n > 0 {
		s.log.Info("inbound message opened the window: held messages released", "inbound", stored.ID, "released", n)
		s.cfg.Notify()
	}
	switch s.replyIntent(ctx, stored) {
	case IntentStop:
		s.optOutByReply(ctx, stored)
	case IntentStart:
		s.optInByReply(ctx, stored)
	}
	s.forward(ctx, stored)
	return nil
}

// optOutByReply opts the customer out of campaigns, source "customer
// reply", and confirms it to them.
func (s *Service) optOutByReply(ctx context.Context, m InboundMessage) {
	added, err := s.st.AddOptOutFrom(ctx, store.OptOut{Phone: m.Phone, Reason: "replied " + words.Cut(normalizeReply(m.Body), 64),
		Source: store.OptOutSourceReply, CreatedAt: m.ReceivedAt, CreatedBy: inboundActor(m.Gateway)})
	if err != nil {
		s.log.Error("inbound message: opt the number out", "inbound", m.ID, "err", err)
		return
	}
	if added {
		s.audit(ctx, Actor{Identity: inboundActor(m.Gateway), Transport: m.Gateway}, "optout", m.Phone+" (customer reply)", "ok")
	}
	s.confirm(ctx, m, s.settings.String(ctx, SettingOptOutConfirmation))
}

// optInByReply takes the customer off the opt-out list, if they are on
// it, and confirms it to them.
func (s *Service) optInByReply(ctx context.Context, m InboundMessage) {
	removed, err := s.st.RemoveOptOut(ctx, m.Phone)
	if err != nil {
		s.log.Error("inbound message: remove the opt-out", "inbound", m.ID, "err", err)
		return
	}
	if !removed {
		return
	}
	s.audit(ctx, Actor{Identity: inboundActor(m.Gateway), Transport: m.Gateway}, "optin", m.Phone+" (customer reply START)", "ok")
	s.confirm(ctx, m, s.settings.String(ctx, SettingOptInConfirmation))
}

// confirm queues text to the customer, ahead of campaign messages,
// through the gateway their message came in on (their window is open:
// they just wrote).
func (s *Service) confirm(ctx context.Context, m InboundMessage, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	if g, ok := s.gateway(m.Gateway); !ok || !g.Caps.Text {
		s.log.Warn("inbound message: the gateway cannot send a confirmation in plain text; none sent", "gateway", m.Gateway, "inbound", m.ID)
		return
	}
	item := store.NewQueueItem{Phone: m.Phone, Content: store.QueueContent{Kind: store.ContentText, Body: text},
		Gateway: m.Gateway, Priority: store.PriorityIntake, MaxAttempts: s.settings.Int(ctx, queue.SettingMaxAttempts),
		CreatedBy: inboundActor(m.Gateway)}
	if _, err := s.st.EnqueueQueueItems(ctx, []store.NewQueueItem{item}); err != nil {
		s.log.Error("inbound message: queue the confirmation", "inbound", m.ID, "err", err)
		return
	}
	s.cfg.Notify()
}

// forward adds the notices that forward m: to the person who last queued
// a message to the number within inbound.forward_days, else to each chat
// of inbound.forward_to.
func (s *Service) forward(ctx context.Context, m InboundMessage) {
	to, err := s.ForwardRecipients(ctx, m.Phone)
	if err != nil {
		s.log.Error("inbound message: who to forward it to", "inbound", m.ID, "err", err)
	}
	if len(to) == 0 {
		s.log.Info("inbound message: nobody to forward it to (setting "+SettingForwardTo+")", "inbound", m.ID)
		return
	}
	if err := s.st.AddInboundNotices(ctx, m.ID, m.ReceivedAt, to); err != nil {
		s.log.Error("inbound message: forward it", "inbound", m.ID, "err", err)
	}
}

// ForwardRecipients are the chats a reply from phone (E.164) goes to: the
// person who last queued a message to it within inbound.forward_days,
// otherwise the chats of inbound.forward_to.
func (s *Service) ForwardRecipients(ctx context.Context, phone string) ([]string, error) {
	var firstErr error
	if days := s.settings.Int(ctx, SettingForwardDays); days > 0 {
		who, err := s.st.LastQueuedBy(ctx, phone, s.cfg.Now().Add(-time.Duration(days)*24*time.Hour))
		switch {
		case err == nil:
			return []string{who}, nil
		case !errors.Is(err, store.ErrNotFound):
			firstErr = err
		}
	}
	var to []string
	for _, raw := range splitList(s.settings.String(ctx, SettingForwardTo)) {
		id, err := forwardIdentity(raw)
		if err != nil {
			continue // checked when set; a variable's value was checked at start
		}
		to = append(to, id)
	}
	return to, firstErr
}

// Inbox returns the latest customers' messages, newest first: n of them
// (default 10, at most 50).
func (s *Service) Inbox(ctx context.Context, a Actor, n int) ([]InboundMessage, error) {
	if err := s.require(a, RoleStaff, "reading customers' replies"); err != nil {
		return nil, err
	}
	if n <= 0 {
		n = InboxDefault
	}
	if n > InboxMax {
		return nil, Errorf(EINVALID, "At most %d replies at a time: /inbox %d.", InboxMax, InboxMax)
	}
	list, err := s.st.InboundMessages(ctx, "", n)
	if err != nil {
		return nil, err
	}
	return list, nil
}

// ReplyIntentOf says what m asked about campaigns (a stop keyword, START),
// with the keywords in force now.
func (s *Service) ReplyIntentOf(ctx context.Context, m InboundMessage) ReplyIntent {
	return s.replyIntent(ctx, m)
}

// ReplyResult is a queued answer to a customer.
type ReplyResult struct {
	ID      int64
	Phone   string
	Gateway string
}

// Reply queues text to a customer as a staff message (ahead of campaign
// messages) through the active gateway. On a gateway with a
// customer-service window (the Cloud API's 24 hours) it is refused,
// plainly, unless the customer wrote within it.
func (s *Service) Reply(ctx context.Context, a Actor, raw, text string) (ReplyResult, error) {
	if err := s.require(a, RoleStaff, "replying to a customer"); err != nil {
		return ReplyResult{}, err
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return ReplyResult{}, Errorf(EINVALID, "Reply with what? Usage: /reply <phone> <text>, e.g. /reply %s Your order is ready.", s.PhoneExample(ctx))
	}
	if n := len([]rune(text)); n > store.MaxInboundBody {
		return ReplyResult{}, Errorf(EINVALID, "The reply has %s; WhatsApp takes at most %s. Nothing was queued.",
			words.Count(n, "character"), words.Count(store.MaxInboundBody, "character"))
	}
	e164, err := normalizePhone(raw, s.PhonePolicy(ctx), func(reason string) error {
		return Errorf(EINVALID, "%s: %s.", Echo(raw), reason)
	})
	if err != nil {
		return ReplyResult{}, err
	}
	gw := s.ActiveGateway(ctx)
	g, _ := s.gateway(gw)
	if g.Name != "" && !g.Caps.Text {
		return ReplyResult{}, Errorf(ECONFLICT, "Nothing was queued: %s cannot send free text.", gw)
	}
	if g.Window > 0 {
		w, err := s.st.CustomerWindow(ctx, gw, e164)
		if err != nil {
			return ReplyResult{}, err
		}
		if now := s.cfg.Now(); !w.OpenAt(now, g.Window) {
			return ReplyResult{}, Errorf(ECONFLICT, "%s; WhatsApp only allows free text within %s of their last message — send a template with /send %s <template>. Nothing was queued.",
				windowClosedText(e164, w, now), windowLengthText(g.Window), e164)
		}
	}
	item := store.NewQueueItem{Phone: e164, Content: store.QueueContent{Kind: store.ContentText, Body: text},
		Priority: store.PriorityIntake, MaxAttempts: s.settings.Int(ctx, queue.SettingMaxAttempts), CreatedBy: a.Identity}
	ids, err := s.st.EnqueueQueueItems(ctx, []store.NewQueueItem{item})
	if err != nil {
		return ReplyResult{}, fmt.Errorf("reply: %w", err)
	}
	s.cfg.Notify()
	return ReplyResult{ID: ids[0], Phone: e164, Gateway: gw}, nil
}

// windowClosedText says why a customer's window is not open.
func windowClosedText(phone string, w store.Window, now time.Time) string {
	switch {
	case w.LastInbound.IsZero():
		return phone + " has not written to us"
	case !w.ClosedAt.IsZero() && !w.ClosedAt.Before(w.LastInbound):
		return phone + " last wrote " + AgoText(now.Sub(w.LastInbound)) + ", and WhatsApp has refused free text to them since"
	}
	return phone + " last wrote " + AgoText(now.Sub(w.LastInbound))
}

// windowLengthText writes a window's length as people say it: "24 hours".
func windowLengthText(d time.Duration) string {
	if d%time.Hour == 0 {
		return words.Count(int(d/time.Hour), "hour")
	}
	return DurationText(d)
}

// AgoText says how long ago something was, roughly: "5 minutes ago",
// "3 hours ago", "2 days ago".
func AgoText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return words.Count(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return words.Count(int(d/time.Hour), "hour") + " ago"
	}
	return words.Count(int(d/(24*time.Hour)), "day") + " ago"
}
