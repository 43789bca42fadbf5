package queue

// Outcome names what became of one try at an item. The same words label
// the sends an Observer is told of (the metrics' outcome label) and name
// the events of an item's history (store.Outcome.Event): they are stored
// and scraped, so their values never change.
type Outcome string

// The outcomes.
const (
	// OutcomeSent: the provider took the message.
	OutcomeSent Outcome = "sent"
	// OutcomeRetry: a passing fault; the item is tried again after a
	// backoff, the attempt spent.
	OutcomeRetry Outcome = "retry"
	// OutcomeFailed: a permanent fault, or no attempts left.
	OutcomeFailed Outcome = "failed"
	// OutcomeRateLimited: the provider asked us to slow down; the item
	// waits without spending an attempt.
	OutcomeRateLimited Outcome = "rate_limited"
	// OutcomeUnavailable: nothing reached the provider because the settings
	// could not be read (ErrUnavailable). Also the item's error class.
	OutcomeUnavailable Outcome = "unavailable"
	// OutcomeSenderBlocked: the provider refuses the sending account; the
	// gateway is paused.
	OutcomeSenderBlocked Outcome = "sender_blocked"
	// OutcomeHeld: the item waits, its attempt refunded, for its gateway's
	// pause to be lifted or the settings to be readable again.
	OutcomeHeld Outcome = "held"
	// OutcomeReleased: the item goes back to the queue untried, its
	// attempt refunded (at shutdown, or its claim's answer was lost).
	OutcomeReleased Outcome = "released"
	// OutcomeWindowClosed: the provider refused a free-form message as
	// outside the customer's service window (Meta 131047). The item is
	// not failed: it goes once more as the intake template in the same
	// attempt, or waits for the customer to write.
	OutcomeWindowClosed Outcome = "window_closed"
	// OutcomeRescued: the item's lock outlived the lock timeout and it went
	// back to the queue (see Rescuer).
	OutcomeRescued Outcome = "rescued"
)

// SendOutcomes lists the outcomes an Observer may be told of.
func SendOutcomes() []Outcome {
	return []Outcome{OutcomeSent, OutcomeRetry, OutcomeFailed, OutcomeRateLimited, OutcomeUnavailable, OutcomeSenderBlocked, OutcomeWindowClosed}
}

// String returns the outcome's stored and scraped word.
func (o Outcome) String() string { return string(o) }
