package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/messagebridge/messagebridge/store/words"
)

// MessageSender is what a Notifier needs from the linked session;
// *session.Session (package gateways/session) satisfies it.
type MessageSender interface {
	SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
}

// Notifier sends messages from the linked number to people by their
// number, outside any conversation: how a staff member on WhatsApp hears
// that a message they queued failed.
type Notifier struct {
	sess  MessageSender
	ready func() bool
}

// NewNotifier returns a notifier over the session; ready reports whether
// this process may send through it now (it holds the session and is
// connected).
func NewNotifier(sess MessageSender, ready func() bool) *Notifier {
	return &Notifier{sess: sess, ready: ready}
}

// Ready reports whether the session can send from this process now.
func (n *Notifier) Ready() bool { return n.sess != nil && n.ready != nil && n.ready() }

// Notify sends text to the WhatsApp number id (E.164, "+919876543210") as
// one message (cut to the length of one).
func (n *Notifier) Notify(ctx context.Context, id, text string) error {
	digits := strings.TrimPrefix(id, "+")
	if !allDigits(digits) || len(digits) < 7 || len(digits) > 15 {
		return fmt.Errorf("whatsapp: %q is not a number like +919876543210", id)
	}
	if strings.TrimSpace(text) == "" {
		return errors.New("whatsapp: nothing to send")
	}
	text = words.Cut(text, maxTextLen)
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := n.sess.SendMessage(sctx, types.NewJID(digits, types.DefaultUserServer), &waE2E.Message{Conversation: proto.String(text)}); err != nil {
		return fmt.Errorf("whatsapp: send to %s: %w", id, err)
	}
	return nil
}
