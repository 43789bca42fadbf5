package queue

import (
	"errors"
	"fmt"
	"time"
)

// Class says what a failed send means for the item.
type Class int

// The error classes a sender reports. An error without a class is Retry.
const (
	// Retry: a passing fault (5xx, timeout); back off and try again.
	Retry Class = iota
	// Permanent: this item cannot succeed as it is (invalid number, missing
	// template); fail it now and keep it editable.
	Permanent
	// RateLimited: the provider asked us to slow down; try again after its
	// hint without spending an attempt.
	RateLimited
	// SenderBlocked: the sending account cannot send at all (expired token,
	// banned or logged-out number); pause the gateway and keep items queued.
	SenderBlocked
)

func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case RateLimited:
		return "rate_limited"
	case SenderBlocked:
		return "sender_blocked"
	default:
		return "retry"
	}
}

// Scope says what a RateLimited error throttles.
type Scope int

const (
	// ScopeGateway: the provider throttles the sending account (Meta
	// 130429, an HTTP 429): every send through the gateway should slow
	// down, so the error feeds the gateway's Pacer. RetryAfter, when set,
	// is a pause for the whole gateway.
	ScopeGateway Scope = iota
	// ScopeRecipient: only sends to this recipient are throttled (Meta
	// 131056, the business–consumer pair limit); the item waits
	// RetryAfter, other recipients and the gateway's rate are unaffected.
	ScopeRecipient
)

func (s Scope) String() string {
	if s == ScopeRecipient {
		return "recipient"
	}
	return "gateway"
}

// SendError is a classified send failure.
type SendError struct {
	Class Class
	// RetryAfter is the provider's hint for RateLimited errors.
	RetryAfter time.Duration
	// Scope says what a RateLimited error throttles: the gateway (the
	// zero value) or one recipient.
	Scope Scope
	// Code is the provider's error code, if any ("131026", "429").
	Code string
	Err  error
}

func (e *SendError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s (code %s): %v", e.Class, e.Code, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Class, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// Classify wraps err with a class. A nil err stays nil.
func Classify(class Class, code string, err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Class: class, Code: code, Err: err}
}

// RateLimitedFor wraps err as RateLimited with the provider's retry hint,
// for the whole gateway (ScopeGateway).
func RateLimitedFor(after time.Duration, code string, err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Class: RateLimited, RetryAfter: after, Code: code, Err: err}
}

// RecipientRateLimitedFor wraps err as RateLimited for this recipient only
// (ScopeRecipient): the item waits after, without spending an attempt,
// and the gateway keeps its pace for everyone else.
func RecipientRateLimitedFor(after time.Duration, code string, err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Class: RateLimited, RetryAfter: after, Scope: ScopeRecipient, Code: code, Err: err}
}

// GatewayRateLimit reports whether err asks the whole gateway to slow down
// (RateLimited with ScopeGateway), with the provider's pause (0: none
// given). The delivery loop passes both to Pacer.RateLimited.
func GatewayRateLimit(err error) (retryAfter time.Duration, ok bool) {
	class, se := ClassOf(err)
	if err == nil || class != RateLimited {
		return 0, false
	}
	if se.Scope != ScopeGateway {
		return 0, false
	}
	return se.RetryAfter, true
}

// ClassOf returns the class of err: its SendError's, or Retry.
func ClassOf(err error) (Class, *SendError) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Class, se
	}
	return Retry, nil
}
