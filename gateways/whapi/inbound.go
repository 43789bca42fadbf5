package whapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/store"
)

// webhookMessage is the part of WHAPI's Message schema an inbound message
// is read from.
type webhookMessage struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	ChatID    string          `json:"chat_id"`
	From      string          `json:"from"`
	FromMe    bool            `json:"from_me"`
	FromName  string          `json:"from_name"`
	Timestamp json.RawMessage `json:"timestamp"`

	Text        *webhookText    `json:"text"`
	LinkPreview *webhookText    `json:"link_preview"`
	Image       *webhookCaption `json:"image"`
	Video       *webhookCaption `json:"video"`
	Gif         *webhookCaption `json:"gif"`
	Short       *webhookCaption `json:"short"`
	Audio       *struct{}       `json:"audio"`
	Voice       *struct{}       `json:"voice"`
	Document    *webhookCaption `json:"document"`
}

// webhookText is WHAPI's MessageContentText (and link preview): the text
// is body.
type webhookText struct {
	Body string `json:"body"`
}

// webhookCaption is the caption of an image, video or document.
type webhookCaption struct {
	Caption string `json:"caption"`
}

// Person chat servers: a chat id on another server is a group (g.us), a
// channel (newsletter), status or a broadcast list (broadcast), or a
// hidden-number chat (lid) that names no phone number.
var personServers = map[string]bool{"s.whatsapp.net": true, "c.us": true}

// Message types that are no message a customer wrote: reactions, edits
// and deletions (action), group and security notices (system), calls,
// status updates (story) and what WHAPI could not read (unknown).
var notCustomerTypes = map[string]bool{"action": true, "system": true, "call": true, "story": true, "unknown": true}

// inboundFor maps one message of a WHAPI messages webhook to the customer
// message it is, or says why it is none ("" when it is one): a message the
// business sent (from_me, also from the phone), a chat that is not a
// person's (group, channel, status, hidden number), or a type that no one
// wrote (reactions, edits, system notices, calls). Text and link previews
// are text; images, videos (also GIFs and shorts), audio (also voice
// notes) and documents keep their caption; anything else (stickers,
// locations, contacts, polls, …) is "other" without a body. account is
// WHAPI's channel id.
func inboundFor(account string, m webhookMessage) (store.InboundMessage, string) {
	switch {
	case m.FromMe:
		return store.InboundMessage{}, "sent by the business"
	case m.ID == "":
		return store.InboundMessage{}, "no message id"
	case notCustomerTypes[strings.ToLower(m.Type)]:
		return store.InboundMessage{}, "not a customer's message (" + m.Type + ")"
	}
	user, server, ok := strings.Cut(m.ChatID, "@")
	if !ok || !personServers[strings.ToLower(server)] {
		return store.InboundMessage{}, "not a person's chat"
	}
	// The sender's number: from (a ContactID, digits; tolerated as a
	// "+" number or a chat id), else the person chat's own number.
	phone, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(m.From), "+"), "@")
	if !phoneDigits(phone) {
		phone = user
	}
	if !phoneDigits(phone) {
		return store.InboundMessage{}, "no phone number"
	}
	in := store.InboundMessage{Gateway: Name, Account: account, ProviderMessageID: m.ID, Phone: "+" + phone,
		ProfileName: m.FromName, ReceivedAt: unixTime(m.Timestamp)}
	in.Kind, in.Body = m.content()
	return in, ""
}

// content is the message's kind and its text or caption.
func (m webhookMessage) content() (kind, body string) {
	caption := func(c *webhookCaption) string {
		if c == nil {
			return ""
		}
		return c.Caption
	}
	switch strings.ToLower(m.Type) {
	case "text":
		if m.Text != nil {
			return store.InboundText, m.Text.Body
		}
		return store.InboundText, ""
	case "link_preview":
		if m.LinkPreview != nil {
			return store.InboundText, m.LinkPreview.Body
		}
		return store.InboundText, ""
	case "image":
		return store.InboundImage, caption(m.Image)
	case "video":
		return store.InboundVideo, caption(m.Video)
	case "gif":
		return store.InboundVideo, caption(m.Gif)
	case "short":
		return store.InboundVideo, caption(m.Short)
	case "audio", "voice":
		return store.InboundAudio, ""
	case "document":
		return store.InboundDocument, caption(m.Document)
	}
	return store.InboundOther, ""
}

// phoneDigits reports whether s is a phone number in digits without "+",
// as WHAPI's ContactID: 7 to 15 digits.
func phoneDigits(s string) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// takeMessages passes the customers' messages of a messages.post event to
// the inbound sink, in order, and returns the first error (the webhook
// answers 500 and WHAPI delivers the event again; the sink stores each
// message id once). Other methods (put, patch, delete: updates, edits and
// removals of messages) are not new messages and are ignored. Message
// text and names are never logged.
func (c *Client) takeMessages(ctx context.Context, p webhookPayload) error {
	if len(p.Messages) == 0 {
		return nil
	}
	if t, m := strings.ToLower(p.Event.Type), strings.ToLower(p.Event.Method); (t != "" && t != "messages") || (m != "" && m != "post") {
		c.log.Debug("webhook: messages event ignored", "event", p.Event.Type+"."+p.Event.Method, "count", len(p.Messages))
		return nil
	}
	for _, m := range p.Messages {
		in, skip := inboundFor(p.ChannelID, m)
		if skip != "" {
			c.log.Debug("webhook: message ignored", "provider_id", m.ID, "why", skip)
			continue
		}
		if c.inbound == nil {
			c.log.Debug("webhook: no inbound sink; customer message dropped", "provider_id", m.ID)
			continue
		}
		if err := c.inbound.Inbound(ctx, in); err != nil {
			return fmt.Errorf("inbound message %s: %w", m.ID, err)
		}
		c.log.Debug("webhook: customer message taken", "provider_id", m.ID, "kind", in.Kind)
	}
	return nil
}
