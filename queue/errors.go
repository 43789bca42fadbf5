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

// SendError is a classified send failure.
type SendError struct {
	Class Class
	// RetryAfter is the provider's hint for RateLimited errors.
	RetryAfter time.Duration
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

// RateLimitedFor wraps err as RateLimited with the provider's retry hint.
func RateLimitedFor(after time.Duration, code string, err error) error {
	if err == nil {
		return nil
	}
	return &SendError{Class: RateLimited, RetryAfter: after, Code: code, Err: err}
}

// ClassOf returns the class of err: its SendError's, or Retry.
func ClassOf(err error) (Class, *SendError) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Class, se
	}
	return Retry, nil
}
