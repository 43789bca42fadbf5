package ops

import (
	"errors"
	"fmt"
)

// Error codes: what kind of failure an operation met. The faces map them to
// their own answers (a chat reply, an HTTP status).
const (
	// EINVALID: the input is wrong; the message says how to fix it.
	EINVALID = "invalid"
	// ENOTFOUND: the thing asked for does not exist.
	ENOTFOUND = "not_found"
	// ECONFLICT: the thing is in a state that does not allow the change.
	ECONFLICT = "conflict"
	// EFORBIDDEN: the actor's role does not allow it.
	EFORBIDDEN = "forbidden"
	// EINTERNAL: our fault (database, disk); the message is generic.
	EINTERNAL = "internal"
)

// Error is a failure a person caused and can act on: a code and a message
// written for them. Any other error an operation returns is internal.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the code of an *Error in its chain,
// EINTERNAL for any other error, "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of an *Error in err's chain, or a
// generic apology for an internal error: internal details are for the log.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "Sorry, that did not work because of a problem on our side. It has been logged; please try again in a minute."
	}
}

// ErrForceable marks a refusal the actor may override by asking again
// with force (/gateway use! in chat, "Switch anyway" on the page):
// errors.Is(err, ErrForceable).
var ErrForceable = errors.New("may be forced")

// forceable is an *Error that ErrForceable matches.
type forceable struct{ e *Error }

func (f *forceable) Error() string        { return f.e.Message }
func (f *forceable) Unwrap() error        { return f.e }
func (f *forceable) Is(target error) bool { return target == ErrForceable }

// Forceable marks e as a refusal that force overrides.
func Forceable(e *Error) error { return &forceable{e: e} }
