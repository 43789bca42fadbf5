package session

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

// OperatorChatsSetting is the WhatsApp operator bot's setting (declared by
// bot/whatsapp as SettingOperatorChats, which this package may not import)
// that names the chats where the bot takes staff commands on the same
// linked account: "+91…" numbers or JIDs. Messages in those chats are the
// bot's, not customers' replies.
const OperatorChatsSetting = "whatsapp.operator_chats"

// Bounds of the work done on whatsmeow's event goroutine for one message.
const (
	// inboundTimeout bounds handing a message to the inbound sink.
	inboundTimeout = 10 * time.Second
	// pnLookupTimeout bounds finding a LID's phone number in the device
	// store.
	pnLookupTimeout = 3 * time.Second
)

// InboundOptions configure an Inbound.
type InboundOptions struct {
	// Sink takes the customers' messages; required.
	Sink gateways.InboundSink
	// Account is the linked account's JID; its user part (our number) is
	// each message's Account. nil: none.
	Account func() types.JID
	// ResolvePN finds the phone-number JID of a LID (the device store's
	// mapping), for messages that carry only a LID. nil: none.
	ResolvePN func(ctx context.Context, lid types.JID) (types.JID, error)
	// OperatorChats lists the operator bot's chats ("+91…" numbers or
	// JIDs), read for each message; nil: none.
	OperatorChats func(ctx context.Context) []string
	// Timeout bounds one sink call (inboundTimeout).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Inbound passes the messages customers send to the linked account to an
// inbound sink. Add its HandleEvent to the session's handlers.
type Inbound struct {
	o   InboundOptions
	log *slog.Logger
}

// NewInbound returns an Inbound.
func NewInbound(o InboundOptions) *Inbound {
	if o.Timeout <= 0 {
		o.Timeout = inboundTimeout
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Inbound{o: o, log: log.With("component", "gateways.session")}
}

// operatorChats reads the operator bot's chats from r, live.
func operatorChats(r *settings.Reader) func(ctx context.Context) []string {
	if r == nil {
		return nil
	}
	return func(ctx context.Context) []string { return r.List(ctx, OperatorChatsSetting) }
}

// HandleEvent takes *events.Message and ignores every other event. It runs
// on whatsmeow's event goroutine: the sink call is bounded by the
// Timeout. A message the sink refuses is logged (WhatsApp does not send it
// again). Message text and names are never logged.
func (in *Inbound) HandleEvent(evt any) {
	e, ok := evt.(*events.Message)
	if !ok || e == nil || in.o.Sink == nil {
		return
	}
	m, skip := InboundFor(e, in.resolve)
	if skip == "" && in.operatorChat(e, m.Phone) {
		skip = "an operator chat (the bot's)"
	}
	if skip != "" {
		in.log.Debug("whatsapp: message not taken as a customer's", "chat", e.Info.Chat.String(), "id", e.Info.ID, "why", skip)
		return
	}
	if in.o.Account != nil {
		m.Account = in.o.Account().User
	}
	ctx, cancel := context.WithTimeout(context.Background(), in.o.Timeout)
	defer cancel()
	if err := in.o.Sink.Inbound(ctx, m); err != nil {
		in.log.Error("whatsapp: customer message not stored", "id", m.ProviderMessageID, "kind", m.Kind, "err", err)
		return
	}
	in.log.Debug("whatsapp: customer message taken", "id", m.ProviderMessageID, "kind", m.Kind)
}

// resolve looks a LID's phone number up, bounded; empty when unknown.
func (in *Inbound) resolve(lid types.JID) types.JID {
	if in.o.ResolvePN == nil {
		return types.EmptyJID
	}
	ctx, cancel := context.WithTimeout(context.Background(), pnLookupTimeout)
	defer cancel()
	pn, err := in.o.ResolvePN(ctx, lid)
	if err != nil {
		in.log.Warn("whatsapp: looking up a LID's phone number failed", "lid", lid.String(), "err", err)
		return types.EmptyJID
	}
	return pn
}

// operatorChat reports whether e is in one of the operator bot's chats,
// named by its phone number or its JID.
func (in *Inbound) operatorChat(e *events.Message, phone string) bool {
	if in.o.OperatorChats == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), in.o.Timeout)
	defer cancel()
	chats := in.o.OperatorChats(ctx)
	if len(chats) == 0 {
		return false
	}
	ours := map[types.JID]bool{}
	for _, j := range []types.JID{e.Info.Chat, e.Info.Sender, e.Info.SenderAlt} {
		if !j.IsEmpty() {
			ours[personJID(j)] = true
		}
	}
	if p, ok := strings.CutPrefix(phone, "+"); ok {
		ours[types.NewJID(p, types.DefaultUserServer)] = true
	}
	for _, c := range chats {
		c = strings.TrimSpace(c)
		var j types.JID
		if p, ok := strings.CutPrefix(c, "+"); ok {
			j = types.NewJID(p, types.DefaultUserServer)
		} else if parsed, err := types.ParseJID(c); err == nil {
			j = parsed
		} else {
			continue
		}
		if ours[personJID(j)] {
			return true
		}
	}
	return false
}

// personJID is j without its device, with the legacy c.us server as
// s.whatsapp.net.
func personJID(j types.JID) types.JID {
	j = j.ToNonAD()
	if j.Server == types.LegacyUserServer {
		j.Server = types.DefaultUserServer
	}
	return j
}

// InboundFor maps a whatsmeow message event to the customer's message it
// is, or says why it is none ("" when it is one). A customer's message
// comes from a person's chat (not a group, status, broadcast list,
// channel or bot), not from this number (not even from its phone), and is
// not an edit, a reaction, a poll vote or a protocol message. Its phone
// number is the sender's phone-number JID: the Sender, SenderAlt or Chat
// that is one, or for LID addressing what resolvePN (may be nil) finds;
// without one the message is skipped. Kind and Body come from the
// content: text, or an image's, video's or document's caption; audio has
// no body; stickers, locations, contacts, polls and the like are "other".
func InboundFor(e *events.Message, resolvePN func(lid types.JID) types.JID) (store.InboundMessage, string) {
	if e == nil || e.Message == nil {
		return store.InboundMessage{}, "no message content"
	}
	info := e.Info
	switch {
	case info.IsFromMe:
		return store.InboundMessage{}, "sent by this number"
	case info.IsGroup || info.Chat.Server == types.GroupServer:
		return store.InboundMessage{}, "a group"
	case info.Chat.Server == types.BroadcastServer:
		return store.InboundMessage{}, "status or a broadcast list"
	case info.Chat.Server != types.DefaultUserServer && info.Chat.Server != types.HiddenUserServer &&
		info.Chat.Server != types.LegacyUserServer:
		return store.InboundMessage{}, "not a person's chat"
	case e.IsEdit || info.Edit != types.EditAttributeEmpty:
		return store.InboundMessage{}, "an edit"
	}
	kind, body, ok := contentOf(e.Message)
	if !ok {
		return store.InboundMessage{}, "no customer content (reaction, poll vote, protocol message, …)"
	}
	pn := senderPN(info, resolvePN)
	if pn.IsEmpty() {
		return store.InboundMessage{}, "the sender's phone number is unknown"
	}
	return store.InboundMessage{Gateway: Name, ProviderMessageID: info.ID, Phone: "+" + pn.User,
		ProfileName: info.PushName, Kind: kind, Body: body, ReceivedAt: info.Timestamp}, ""
}

// senderPN is the sender's phone-number JID, or empty if unknown. In a
// person's chat that is not from us, the chat is the sender.
func senderPN(info types.MessageInfo, resolvePN func(types.JID) types.JID) types.JID {
	for _, j := range []types.JID{info.Sender, info.SenderAlt, info.Chat} {
		if j = personJID(j); j.Server == types.DefaultUserServer && phoneUser(j.User) {
			return j
		}
	}
	if resolvePN == nil {
		return types.EmptyJID
	}
	for _, j := range []types.JID{info.Sender, info.Chat} {
		if j.Server != types.HiddenUserServer || j.User == "" {
			continue
		}
		if pn := personJID(resolvePN(j.ToNonAD())); pn.Server == types.DefaultUserServer && phoneUser(pn.User) {
			return pn
		}
	}
	return types.EmptyJID
}

// phoneUser reports whether a JID's user part is a phone number: 7 to 15
// digits.
func phoneUser(u string) bool {
	if len(u) < 7 || len(u) > 15 {
		return false
	}
	for _, r := range u {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// contentOf is a message's kind and text or caption; false for content no
// customer wrote (reactions, poll votes, protocol and key-distribution
// messages, …).
func contentOf(m *waE2E.Message) (kind, body string, ok bool) {
	switch {
	case m.GetConversation() != "":
		return store.InboundText, m.GetConversation(), true
	case m.GetExtendedTextMessage() != nil:
		return store.InboundText, m.GetExtendedTextMessage().GetText(), true
	case m.GetImageMessage() != nil:
		return store.InboundImage, m.GetImageMessage().GetCaption(), true
	case m.GetVideoMessage() != nil:
		return store.InboundVideo, m.GetVideoMessage().GetCaption(), true
	case m.GetPtvMessage() != nil:
		return store.InboundVideo, m.GetPtvMessage().GetCaption(), true
	case m.GetAudioMessage() != nil:
		return store.InboundAudio, "", true
	case m.GetDocumentMessage() != nil:
		return store.InboundDocument, m.GetDocumentMessage().GetCaption(), true
	case m.GetDocumentWithCaptionMessage().GetMessage() != nil:
		return contentOf(m.GetDocumentWithCaptionMessage().GetMessage())
	case m.GetButtonsResponseMessage() != nil:
		return store.InboundText, m.GetButtonsResponseMessage().GetSelectedDisplayText(), true
	case m.GetListResponseMessage() != nil:
		return store.InboundText, m.GetListResponseMessage().GetTitle(), true
	case m.GetTemplateButtonReplyMessage() != nil:
		return store.InboundText, m.GetTemplateButtonReplyMessage().GetSelectedDisplayText(), true
	case m.GetStickerMessage() != nil, m.GetLottieStickerMessage() != nil, m.GetLocationMessage() != nil,
		m.GetLiveLocationMessage() != nil, m.GetContactMessage() != nil, m.GetContactsArrayMessage() != nil,
		m.GetPollCreationMessage() != nil, m.GetPollCreationMessageV2() != nil, m.GetPollCreationMessageV3() != nil,
		m.GetEventMessage() != nil, m.GetGroupInviteMessage() != nil, m.GetOrderMessage() != nil,
		m.GetProductMessage() != nil, m.GetInteractiveResponseMessage() != nil:
		return store.InboundOther, "", true
	}
	return "", "", false
}
