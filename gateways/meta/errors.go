package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/words"
)

// Default waits for rate-limit errors that carry no usable hint, following
// providers.md §1.5 and §1.7. 130429 (the number's messages-per-second
// cap, 80 mps by default) and an HTTP 429 without a known code carry no
// default: they slow the whole gateway down (queue.ScopeGateway, the
// Pacer's multiplicative decrease) and pause it only for a Retry-After or
// usage-header hint, which Meta rarely sends.
const (
	// PairWait follows 131056: the budget for one recipient is about one
	// message every 6 seconds; only that recipient waits
	// (queue.ScopeRecipient), other recipients and the gateway's rate are
	// not affected.
	PairWait = 6 * time.Second
	// CallLimitWait follows 4 (app call limit) and 80007 (WABA rate limit)
	// when no usage header says how long to wait; the whole gateway
	// pauses.
	CallLimitWait = time.Minute
	// maxWait bounds a hint taken from response headers.
	maxWait = time.Hour
	// maxFieldLen bounds each provider text field before it joins a message.
	maxFieldLen = 200
)

// CodeWindowClosed is Meta's 131047 ("Re-engagement message"): the
// message was free-form and more than 24 hours have passed since the
// customer last wrote. A send answered with it is permanent and
// errors.Is(err, queue.ErrWindowClosed); a failed status carrying it sets
// store.Receipt.WindowClosed.
const CodeWindowClosed = 131047

// graphError is the Graph API error body (providers.md §1.4).
type graphError struct {
	Error *struct {
		Message        string `json:"message"`
		Type           string `json:"type"`
		Code           int    `json:"code"`
		ErrorSubcode   int    `json:"error_subcode"`
		IsTransient    bool   `json:"is_transient"`
		ErrorUserTitle string `json:"error_user_title"`
		ErrorUserMsg   string `json:"error_user_msg"`
	} `json:"error"`
}

// rule is how one Meta error code is handled.
type rule struct {
	class queue.Class
	wait  time.Duration // RateLimited only: the default hint
	scope queue.Scope   // RateLimited only: what is throttled
}

// ruleFor maps a Meta error code (providers.md §1.5) to its class. ok is
// false for codes the table does not list.
func ruleFor(code int) (r rule, ok bool) {
	switch code {
	// The sender cannot send at all until an admin acts: the token is
	// invalid or expired (0, 190), the WABA is restricted for policy
	// violations (368), the business account is locked (131031), or the
	// number tripped the spam limit (131048). Pause the gateway instead of
	// failing every queued item.
	case 0, 190, 368, 131031, 131048:
		return rule{class: queue.SenderBlocked}, true
	// Throttling: wait and try again without spending an attempt. 130429,
	// 4 and 80007 throttle the sending number or app, so the gateway slows
	// down; 131056 throttles one business–consumer pair, so only that
	// recipient waits.
	case 130429:
		return rule{class: queue.RateLimited}, true
	case 131056:
		return rule{class: queue.RateLimited, wait: PairWait, scope: queue.ScopeRecipient}, true
	case 4, 80007:
		return rule{class: queue.RateLimited, wait: CallLimitWait}, true
	// Passing faults on Meta's side: back off and retry. 131049 (Meta chose
	// not to deliver a marketing message) must not be retried at once; the
	// queue's backoff provides the delay.
	case 1, 2, 131000, 131016, 133004, 131057, 131049:
		return rule{class: queue.Retry}, true
	// This message cannot succeed as it is: permissions (3, 10, 200–299),
	// invalid parameters, undeliverable recipients, the 24-hour window,
	// template and media problems, country restrictions, test-number
	// allow-lists.
	case 3, 10, 100, 130497, 131008, 131009, 131026, 131030, 131047,
		131051, 131052, 131053,
		132000, 132001, 132005, 132007, 132012, 132015, 132016:
		return rule{class: queue.Permanent}, true
	}
	if code >= 200 && code <= 299 {
		return rule{class: queue.Permanent}, true
	}
	return rule{}, false
}

// ruleForStatus handles a response whose code the table does not know (or
// that carries no Graph error at all) by its HTTP status and Meta's
// is_transient flag.
func ruleForStatus(status int, transient bool) rule {
	switch {
	case status == http.StatusTooManyRequests:
		return rule{class: queue.RateLimited}
	case transient, status >= 500:
		return rule{class: queue.Retry}
	case status == http.StatusUnauthorized:
		return rule{class: queue.SenderBlocked}
	case status >= 400:
		return rule{class: queue.Permanent}
	default:
		return rule{class: queue.Retry}
	}
}

// apiError turns a non-2xx response into a classified, sanitized error.
// Only the code, subcode, title and message fields are used: the raw body,
// the request URL and the headers never reach the error text.
func apiError(op string, resp *http.Response, body []byte, secrets []string) error {
	var ge graphError
	if err := json.Unmarshal(body, &ge); err != nil || ge.Error == nil {
		r := ruleForStatus(resp.StatusCode, false)
		msg := fmt.Sprintf("meta %s: HTTP %d without a Graph error body", op, resp.StatusCode)
		return classified(r, headerWait(resp.Header), strconv.Itoa(resp.StatusCode), msg, secrets, nil)
	}
	e := ge.Error
	r, ok := ruleFor(e.Code)
	if !ok {
		r = ruleForStatus(resp.StatusCode, e.IsTransient)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "meta %s: ", op)
	// Each field is redacted before it is bounded: a secret cut by the
	// bound would no longer match.
	if t := bound(clean(e.ErrorUserTitle, secrets)); t != "" {
		b.WriteString(t)
		b.WriteString(": ")
	}
	if m := bound(clean(e.Message, secrets)); m != "" {
		b.WriteString(m)
	} else {
		b.WriteString(bound(clean(e.Type, secrets)))
	}
	fmt.Fprintf(&b, " (code %d", e.Code)
	if e.ErrorSubcode != 0 {
		fmt.Fprintf(&b, ", subcode %d", e.ErrorSubcode)
	}
	fmt.Fprintf(&b, ", HTTP %d)", resp.StatusCode)
	var cause error
	if e.Code == CodeWindowClosed {
		// The loop closes the customer's window and sends the item as the
		// intake template, or holds it.
		cause = queue.ErrWindowClosed
	}
	return classified(r, headerWait(resp.Header), strconv.Itoa(e.Code), b.String(), secrets, cause)
}

// classified builds the SendError for a rule; a positive hint from the
// response headers overrides a rate limit's default wait. cause (nil for
// none) is what errors.Is finds behind it.
func classified(r rule, hint time.Duration, code, msg string, secrets []string, cause error) error {
	err := &safeError{msg: redact(msg, secrets), cause: cause}
	if r.class == queue.RateLimited {
		wait := r.wait
		if hint > 0 {
			wait = hint
		}
		if r.scope == queue.ScopeRecipient {
			return queue.RecipientRateLimitedFor(wait, code, err)
		}
		return queue.RateLimitedFor(wait, code, err)
	}
	return queue.Classify(r.class, code, err)
}

// transportError classifies a failure to get a response at all: timeouts,
// refused connections and cancelled contexts are passing faults.
func transportError(ctx context.Context, op string, err error, secrets []string) error {
	cause := err
	// *url.Error names the request URL; keep only what went wrong.
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		cause = ue.Err
	}
	what := "request failed"
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		what = "request timed out"
	case ctx.Err() != nil:
		what = "request cancelled"
	}
	msg := fmt.Sprintf("meta %s: %s: %v", op, what, cause)
	return queue.Classify(queue.Retry, "", &safeError{msg: redact(msg, secrets), cause: err})
}

// headerWait reads a wait hint from Retry-After (seconds or an HTTP date)
// or from the estimated_time_to_regain_access (minutes) in Meta's usage
// headers.
func headerWait(h http.Header) time.Duration {
	wait := gateways.RetryAfter(h.Get("Retry-After"), time.Now())
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var usage map[string][]struct {
			Minutes json.Number `json:"estimated_time_to_regain_access"`
		}
		_ = json.Unmarshal([]byte(v), &usage) // a malformed header gives no hint
		for _, entries := range usage {
			for _, u := range entries {
				if m, err := u.Minutes.Int64(); err == nil && m > 0 && time.Duration(m)*time.Minute > wait {
					wait = time.Duration(m) * time.Minute
				}
			}
		}
	}
	return min(wait, maxWait)
}

// safeError is an error whose text was built from known-safe parts and
// stripped of credentials. cause keeps the chain for errors.Is.
type safeError struct {
	msg   string
	cause error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.cause }

// urlQueryRE matches the query string of a URL in provider text.
var urlQueryRE = regexp.MustCompile(`(?i)(\bhttps?://[^\s?#"']+)\?[^\s"']*`)

// clean removes the given secrets (whole or in pieces), the query strings
// of URLs (where tokens and proofs travel) and the queue's credential
// shapes, without shortening msg: bound only what clean returned.
func clean(msg string, secrets []string) string {
	msg = queue.Redact(msg, secrets...)
	return urlQueryRE.ReplaceAllString(msg, "$1?[redacted]")
}

// redact is clean followed by the queue's length bound.
func redact(msg string, secrets []string) string {
	return queue.SanitizeError(clean(msg, secrets))
}

// bound trims a provider text field and caps its length. Clean the field
// first.
func bound(s string) string {
	return words.Cut(strings.TrimSpace(s), maxFieldLen)
}
