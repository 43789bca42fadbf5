package session

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/messagebridge/messagebridge/queue"
)

// Errors of this package, for errors.Is.
var (
	// ErrNotLinked: no WhatsApp account is linked to this data directory.
	ErrNotLinked = errors.New("no WhatsApp account is linked; run `messagebridge whatsapp pair`")
	// ErrAlreadyLinked: StartPairing was called while an account is linked.
	ErrAlreadyLinked = errors.New("a WhatsApp account is already linked; run `messagebridge whatsapp logout` first")
	// ErrPairingInProgress: StartPairing was called while a pairing of the
	// same session runs.
	ErrPairingInProgress = errors.New("a WhatsApp pairing is already in progress; finish or cancel it first")
	// ErrClosed: the session was closed.
	ErrClosed = errors.New("the WhatsApp session is closed")
	// ErrNotConnected: the session is linked but not connected right now.
	ErrNotConnected = errors.New("not connected to WhatsApp")
	// ErrPairTimeout: nobody linked the phone before the codes ran out.
	ErrPairTimeout = errors.New("pairing timed out: the code was not used in time; try again")
	// ErrUnlinkUnconfirmed: Logout deleted the local keys but WhatsApp did
	// not confirm the unlink.
	ErrUnlinkUnconfirmed = errors.New("the linked device was deleted here, but WhatsApp did not confirm the unlink; " +
		"remove it on the phone under Settings → Linked devices")
	// ErrNotOnWhatsApp: the recipient's number has no WhatsApp account.
	ErrNotOnWhatsApp = errors.New("the number is not on WhatsApp")
	// ErrUnsupported: a linked session cannot send this kind of message.
	ErrUnsupported = errors.New("a linked WhatsApp session cannot send templates/flows")
)

// serverErrorCode finds the code in whatsmeow's "server returned error 463".
var serverErrorCode = regexp.MustCompile(`server returned error (\d+)`)

// enforcementWords mark WhatsApp's account-level restrictions in error
// texts (reach-out time-lock, BULK_MESSAGING enforcement and the like).
var enforcementWords = []string{"bulk_messaging", "enforcement", "timelock", "time-lock", "reachout", "banned"}

// Server error codes from WhatsApp's message acks.
const (
	// codeReachoutTimelock: the account is barred for a while from writing
	// to people it has no chat with ("reach-out time-lock").
	codeReachoutTimelock = "463"
)

// classify turns an error from whatsmeow into a classified queue error:
// an account WhatsApp refuses → SenderBlocked; a connection that is down
// or slow → Retry; a recipient that cannot exist → Permanent; WhatsApp's
// rate limit → RateLimited. It returns the class too, for the state
// machine. Unknown errors are Retry.
func classify(err error) (error, queue.Class) {
	if err == nil {
		return nil, queue.Retry
	}
	if c, _ := queue.ClassOf(err); c != queue.Retry {
		return err, c // already classified
	}
	var code string
	if m := serverErrorCode.FindStringSubmatch(err.Error()); m != nil {
		code = m[1]
	}
	var iq *whatsmeow.IQError
	var disc *whatsmeow.DisconnectedError
	lower := strings.ToLower(err.Error())
	switch {
	case errors.Is(err, whatsmeow.ErrNotLoggedIn):
		return queue.Classify(queue.SenderBlocked, "", fmt.Errorf("%w: %w", ErrNotLinked, err)), queue.SenderBlocked
	case code == codeReachoutTimelock:
		return queue.Classify(queue.SenderBlocked, code, fmt.Errorf(
			"WhatsApp bars this number from writing to new contacts for a while (reach-out time-lock): %w", err)), queue.SenderBlocked
	case containsAny(lower, enforcementWords):
		return queue.Classify(queue.SenderBlocked, code, fmt.Errorf("WhatsApp restricts this number: %w", err)), queue.SenderBlocked
	case errors.Is(err, ErrNotOnWhatsApp),
		errors.Is(err, whatsmeow.ErrUnknownServer),
		errors.Is(err, whatsmeow.ErrRecipientADJID),
		errors.Is(err, whatsmeow.ErrBroadcastListUnsupported):
		return queue.Classify(queue.Permanent, code, err), queue.Permanent
	case errors.As(err, &iq):
		iqCode := fmt.Sprint(iq.Code)
		switch iq.Code {
		case 429:
			return queue.RateLimitedFor(time.Minute, iqCode, err), queue.RateLimited
		case 401, 423:
			return queue.Classify(queue.SenderBlocked, iqCode, fmt.Errorf("WhatsApp refuses this account: %w", err)), queue.SenderBlocked
		case 400, 404:
			return queue.Classify(queue.Permanent, iqCode, err), queue.Permanent
		}
		return queue.Classify(queue.Retry, iqCode, err), queue.Retry
	case errors.Is(err, ErrNotConnected),
		errors.Is(err, whatsmeow.ErrNotConnected),
		errors.Is(err, whatsmeow.ErrMessageTimedOut),
		errors.Is(err, whatsmeow.ErrIQTimedOut),
		errors.As(err, &disc),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return queue.Classify(queue.Retry, code, err), queue.Retry
	}
	return queue.Classify(queue.Retry, code, err), queue.Retry
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
