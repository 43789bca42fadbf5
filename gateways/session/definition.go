package session

import (
	"context"
	"errors"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
)

// NotLinkedReason is the session gateway's readiness reason while no
// WhatsApp account is linked.
const NotLinkedReason = "not set up: no WhatsApp account is linked; pair one on the admin page or with `messagebridge whatsapp pair`"

// Rate is the most the delivery loop offers the session, per second: the
// sender paces itself (DefaultMinGap to DefaultMaxGap apart).
const Rate = 0.2

// unblockTimeout bounds lifting the gateway's pause after a reconnect.
const unblockTimeout = 5 * time.Second

// Definition describes the linked session to the wiring: it sends text,
// images and videos through account (opened by the caller, which also
// runs the WhatsApp operator chat on it), paces itself, is ready once an
// account is linked, lifts its pause when it connects again, and passes
// customers' messages to the number to env.Inbound (not those in the
// operator bot's chats, OperatorChatsSetting). It has no window.
func Definition(account *Session) gateways.Definition {
	return gateways.Definition{
		Name:        Name,
		Caps:        queue.Capabilities{Text: true, Media: true},
		MinInterval: DefaultMinGap,
		Rate:        func(context.Context, *settings.Reader) float64 { return Rate },
		Ready: func(context.Context, *settings.Reader) string {
			if account == nil || account.LinkedJID().IsEmpty() {
				return NotLinkedReason
			}
			return ""
		},
		Open: func(_ context.Context, env gateways.Env) (gateways.Gateway, error) {
			if account == nil {
				return gateways.Gateway{}, errors.New("session: no WhatsApp account store is open")
			}
			log := env.Logger
			snd := NewSender(account, SenderOptions{
				Receipts: env.DB,
				Logger:   log,
				OnStateChange: func(state State, _ string) {
					if state != StateConnected {
						return
					}
					// The number can send again: lift a pause the loop
					// recorded.
					ctx, cancel := context.WithTimeout(context.Background(), unblockTimeout)
					defer cancel()
					if err := env.DB.UnblockGateway(ctx, Name); err != nil && log != nil {
						log.Warn("unblock session gateway", "err", err)
					}
				},
			})
			remove := account.AddHandler(snd.HandleEvent)
			if env.Inbound != nil {
				// Customers' messages to the number; the operator bot's
				// chats on the same account are left to the bot.
				in := NewInbound(InboundOptions{Sink: env.Inbound, Account: account.LinkedJID, ResolvePN: account.PNForLID,
					OperatorChats: operatorChats(env.Settings), Logger: log})
				removeSender, removeInbound := remove, account.AddHandler(in.HandleEvent)
				remove = func() { removeInbound(); removeSender() }
			}
			return gateways.Gateway{Sender: snd, Close: remove}, nil
		},
	}
}
