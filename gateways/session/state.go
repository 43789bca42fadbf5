package session

import (
	"fmt"

	"go.mau.fi/whatsmeow/types/events"
)

// State is what the gateway knows about the linked session's ability to
// send.
type State int

// The session states.
const (
	// StateUnknown: nothing heard from WhatsApp yet.
	StateUnknown State = iota
	// StateNotLinked: no account is linked; run `messagebridge whatsapp pair`.
	StateNotLinked
	// StateDisconnected: linked but not connected; whatsmeow reconnects on
	// its own, sends are retried.
	StateDisconnected
	// StateConnected: connected and logged in; sends go out.
	StateConnected
	// StateBlocked: WhatsApp refuses this number (logged out, replaced by
	// another connection, banned); sends fail as sender-blocked until the
	// session connects again, which usually needs an operator.
	StateBlocked
)

func (s State) String() string {
	switch s {
	case StateNotLinked:
		return "not_linked"
	case StateDisconnected:
		return "disconnected"
	case StateConnected:
		return "connected"
	case StateBlocked:
		return "blocked"
	default:
		return "unknown"
	}
}

// StateFor maps a whatsmeow event to the session state it implies, with a
// reason for operators. ok is false for events that say nothing about the
// connection.
func StateFor(evt any) (state State, reason string, ok bool) {
	switch e := evt.(type) {
	case *events.Connected:
		return StateConnected, "", true
	case *events.Disconnected:
		return StateDisconnected, "disconnected from WhatsApp; reconnecting", true
	case *events.PairSuccess:
		return StateDisconnected, "linked; waiting for WhatsApp to connect", true
	case *events.StreamError:
		return StateDisconnected, fmt.Sprintf("WhatsApp closed the stream (code %q); reconnecting", e.Code), true
	case *events.LoggedOut:
		why := "the linked device was removed"
		if e.OnConnect {
			why = fmt.Sprintf("WhatsApp refused the login (%s)", e.Reason)
		}
		return StateBlocked, why + "; link the number again with `messagebridge whatsapp pair`", true
	case *events.StreamReplaced:
		return StateBlocked, "another program connected with this linked session and replaced this connection; " +
			"make sure only one MessageBridge process uses the data directory, then restart it", true
	case *events.TemporaryBan:
		return StateBlocked, fmt.Sprintf("WhatsApp temporarily banned this number (%s)%s; stop sending from it and restart MessageBridge once the ban ends",
			e.Code, banExpiry(e)), true
	case *events.ClientOutdated:
		return StateBlocked, "WhatsApp refuses this client as out of date; upgrade MessageBridge", true
	case *events.ConnectFailure:
		switch {
		case e.Reason == events.ConnectFailureServiceUnavailable || e.Reason == events.ConnectFailureInternalServerError:
			// whatsmeow reconnects after these.
			return StateDisconnected, fmt.Sprintf("WhatsApp refused the connection (%s); retrying", e.Reason), true
		case e.Reason.IsLoggedOut():
			return StateBlocked, fmt.Sprintf("WhatsApp refused the login (%s); link the number again with `messagebridge whatsapp pair`", e.Reason), true
		case e.Reason == events.ConnectFailureClientOutdated || e.Reason == events.ConnectFailureBadUserAgent:
			return StateBlocked, fmt.Sprintf("WhatsApp refused the connection (%s); upgrade MessageBridge", e.Reason), true
		default:
			// whatsmeow does not reconnect after other failures.
			return StateBlocked, fmt.Sprintf("WhatsApp refused the connection (%s); restart MessageBridge, and link the number again if this persists", e.Reason), true
		}
	case events.PermanentDisconnect:
		// Any other event after which whatsmeow stops reconnecting.
		return StateBlocked, "disconnected for good: " + e.PermanentDisconnectDescription(), true
	default:
		// KeepAliveTimeout/Restored (the socket notices a dead link on its
		// own), QR, messages, receipts, presence, history and app state say
		// nothing about whether we can send.
		return StateUnknown, "", false
	}
}

func banExpiry(e *events.TemporaryBan) string {
	if e.Expire <= 0 {
		return ""
	}
	return fmt.Sprintf(", ending in %s", e.Expire)
}
