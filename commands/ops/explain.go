package ops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/words"
)

// Fix says who can put a problem right, and how.
type Fix int

// The fixes.
const (
	// FixRetry: a passing fault (the provider was down, a process
	// stopped): sending it again may well work.
	FixRetry Fix = iota
	// FixNumber: the number is wrong or cannot get WhatsApp messages:
	// check it with the customer, correct it and send again.
	FixNumber
	// FixMessage: the message itself was refused (a template, a file, the
	// 24-hour window): an operator must change what is sent.
	FixMessage
	// FixAccount: the sending account cannot send (login expired, banned,
	// not set up): an admin must put it right.
	FixAccount
	// FixWait: nothing to do; it is tried again by itself.
	FixWait
)

// Explanation is a delivery problem in words: what staff read, and what
// operators read besides.
type Explanation struct {
	// Plain says what went wrong as a sentence anyone on the shop floor
	// understands, without the provider's text.
	Plain string
	// Code is the error class and the provider's code, for operators:
	// "sender_blocked, meta code 190". Empty when there is neither.
	Code string
	Fix  Fix
}

// errorCodeRE finds the provider's code in an error text: the queue's
// "(code 190)" and Meta's "(code 131026, subcode …)".
var errorCodeRE = regexp.MustCompile(`\(code ([0-9A-Za-z_.-]+)[,)]`)

// heldRE and gaveUpRE are the prefixes the delivery loop puts before the
// provider's error when it holds an item for a paused gateway, or fails
// one out of attempts.
var (
	heldRE   = regexp.MustCompile(`^held: gateway (\S+) is paused: `)
	gaveUpRE = regexp.MustCompile(`^gave up after (\d+) attempts: `)
)

// ExplainItem explains an item's last error (for a held item, why it
// waits; for a failed one, why it failed).
func ExplainItem(it QueueItem) Explanation {
	gw := it.SentGateway
	if gw == "" {
		gw = it.Gateway
	}
	return ExplainError(gw, it.LastErrorClass, it.LastError)
}

// ExplainError explains an error as the delivery loop records it: its
// class ("sender_blocked", "permanent", "retry", "rate_limited",
// "unavailable", "stale_lock", "async" for a provider's failed receipt)
// and text ("sender_blocked (code 190): meta send: …"), on gateway (may be
// empty; the text often names it). It is the one mapping from error
// classes and provider codes to plain words: /status, /mine and the
// failure notices all use it.
func ExplainError(gateway, class, text string) Explanation {
	text = strings.TrimSpace(text)
	if m := heldRE.FindStringSubmatch(text); m != nil {
		if gateway == "" {
			gateway = m[1]
		}
		text = text[len(m[0]):]
		class = queue.SenderBlocked.String()
	}
	attempts := 0
	if m := gaveUpRE.FindStringSubmatch(text); m != nil {
		attempts, _ = strconv.Atoi(m[1])
		text = text[len(m[0]):]
	}
	// The queue writes "<class> (code X): …" or "<class>: …" first.
	for _, c := range []queue.Class{queue.Retry, queue.Permanent, queue.RateLimited, queue.SenderBlocked} {
		if strings.HasPrefix(text, c.String()+" (") || strings.HasPrefix(text, c.String()+":") {
			if class == "" || class == queue.Retry.String() {
				class = c.String()
			}
			break
		}
	}
	code := ""
	if m := errorCodeRE.FindStringSubmatch(text); m != nil {
		code = m[1]
	}
	if gateway == "" {
		for _, g := range []string{"meta", "whapi", "shiprocket"} {
			if strings.HasPrefix(text, g+" ") || strings.HasPrefix(text, g+":") {
				gateway = g
			}
		}
	}
	if i := strings.Index(text, notSetUp); i >= 0 && class == queue.SenderBlocked.String() {
		// A gateway paused because it is not set up says so in its own
		// words: its readiness reason (gateways.NotReady).
		return Explanation{Plain: notSetUpText(gateway, text[i:]), Code: codeText(class, gateway, ""), Fix: FixAccount}
	}
	e := explain(gateway, class, code, strings.ToLower(text), attempts)
	e.Code = codeText(class, gateway, code)
	return e
}

// notSetUp starts a gateway's readiness reason: "not set up: the access
// token is empty".
const notSetUp = "not set up: "

// notSetUpText is a readiness reason as a sentence: "The meta gateway is
// not set up: the access token is empty."
func notSetUpText(gateway, reason string) string {
	who := "The sending method"
	if gateway != "" {
		who = "The " + gateway + " gateway"
	}
	return who + " is " + strings.TrimSuffix(strings.TrimSpace(reason), ".") + "."
}

// codeText is what operators see: "permanent, meta code 131026".
func codeText(class, gateway, code string) string {
	var parts []string
	if class != "" {
		parts = append(parts, class)
	}
	if code != "" {
		c := "code " + code
		if gateway != "" {
			c = gateway + " " + c
		}
		parts = append(parts, c)
	}
	return strings.Join(parts, ", ")
}

func explain(gateway, class, code, lower string, attempts int) Explanation {
	switch class {
	case queue.SenderBlocked.String():
		return senderBlocked(gateway, code, lower)
	case queue.Permanent.String(), "async":
		if e, ok := providerCode(gateway, code, lower); ok {
			return e
		}
		if strings.Contains(lower, "not on whatsapp") {
			return Explanation{Plain: "This number cannot receive WhatsApp messages (it may not be on WhatsApp).", Fix: FixNumber}
		}
		if class == "async" {
			return Explanation{Plain: "WhatsApp took the message but could not deliver it to the customer.", Fix: FixNumber}
		}
		if strings.Contains(lower, "cannot send") || strings.Contains(lower, "unsupported") {
			return Explanation{Plain: "The sending method in use cannot send this kind of message.", Fix: FixMessage}
		}
		if strings.Contains(lower, "saved message") || strings.Contains(lower, "has no media") || strings.Contains(lower, "media ") {
			return Explanation{Plain: "The saved message or its file could not be used.", Fix: FixMessage}
		}
		return Explanation{Plain: "WhatsApp refused this message as it is.", Fix: FixNumber}
	case queue.RateLimited.String():
		return Explanation{Plain: "WhatsApp asked us to slow down; it is tried again shortly.", Fix: FixWait}
	case "unavailable":
		return Explanation{Plain: "The server could not read its settings for a moment; it is tried again shortly.", Fix: FixWait}
	case "stale_lock":
		if attempts > 0 {
			return Explanation{Plain: fmt.Sprintf("The server sending it stopped while sending it, %s.", timesText(attempts)), Fix: FixRetry}
		}
		return Explanation{Plain: "The server sending it stopped while sending it; it is tried again.", Fix: FixWait}
	case "":
		if lower == "" {
			return Explanation{Plain: "No reason was recorded.", Fix: FixRetry}
		}
	}
	// Retry: a passing fault, failed only when out of attempts.
	if attempts > 0 {
		return Explanation{Plain: fmt.Sprintf("WhatsApp could not be reached or did not answer, %s.", timesText(attempts)), Fix: FixRetry}
	}
	return Explanation{Plain: "WhatsApp could not be reached or did not answer.", Fix: FixRetry}
}

func timesText(n int) string {
	if n == 1 {
		return "once"
	}
	return words.Count(n, "time") + " in a row"
}

// senderBlocked explains why a sending account cannot send at all.
func senderBlocked(gateway, code, lower string) Explanation {
	if e, ok := providerCode(gateway, code, lower); ok && e.Fix == FixAccount {
		return e
	}
	switch {
	case strings.Contains(lower, "not configured") || strings.Contains(lower, "no credentials") ||
		strings.Contains(lower, "not set up") || strings.Contains(lower, "no channel token") || strings.Contains(lower, "no flow-trigger"):
		return Explanation{Plain: "The sending account is not set up yet; an admin must enter its details.", Fix: FixAccount}
	case strings.Contains(lower, "no whatsapp account is linked"):
		return Explanation{Plain: "No WhatsApp account is linked; an admin must pair one on the admin page.", Fix: FixAccount}
	case strings.Contains(lower, "logged out") || strings.Contains(lower, "not logged in"):
		return Explanation{Plain: "The linked WhatsApp account is logged out; an admin must link it again.", Fix: FixAccount}
	case strings.Contains(lower, "time-lock") || code == "463":
		return Explanation{Plain: "WhatsApp bars the linked number from writing to new contacts for a while; an admin may switch to another sending method.", Fix: FixAccount}
	case strings.Contains(lower, "restrict") || strings.Contains(lower, "banned"):
		return Explanation{Plain: "WhatsApp has restricted the sending number; an admin must sort it out.", Fix: FixAccount}
	case code == "401" || code == "403" || strings.Contains(lower, "token"):
		return Explanation{Plain: fmt.Sprintf("The %s login has expired or was refused; an admin must renew it.", accountName(gateway)), Fix: FixAccount}
	}
	return Explanation{Plain: fmt.Sprintf("The %s refused to send anything; an admin must fix it.", accountName(gateway)), Fix: FixAccount}
}

// accountName names the sending account of a gateway for staff.
func accountName(gateway string) string {
	switch gateway {
	case "meta":
		return "WhatsApp account's"
	case "whapi":
		return "WHAPI account's"
	case "shiprocket":
		return "Shiprocket account's"
	case "session":
		return "linked WhatsApp account's"
	}
	return "sending account's"
}

// providerCode explains the provider codes that say more than their class
// (Meta's Cloud API codes; the linked session's server codes).
func providerCode(gateway, code, lower string) (Explanation, bool) {
	if code == "" || (gateway != "" && gateway != "meta" && gateway != "session") {
		return Explanation{}, false
	}
	n, err := strconv.Atoi(code)
	if err != nil {
		return Explanation{}, false
	}
	switch {
	case n == 0 || n == 190:
		return Explanation{Plain: "The WhatsApp account's login has expired; an admin must renew it.", Fix: FixAccount}, true
	case n == 368:
		return Explanation{Plain: "Meta has restricted the WhatsApp business account for breaking its rules; an admin must sort it out with Meta.", Fix: FixAccount}, true
	case n == 131031:
		return Explanation{Plain: "The WhatsApp business account is locked; an admin must sort it out with Meta.", Fix: FixAccount}, true
	case n == 131048:
		return Explanation{Plain: "WhatsApp has limited the sending number after spam reports; an admin must sort it out with Meta.", Fix: FixAccount}, true
	case n == 463 && gateway != "meta":
		return Explanation{Plain: "WhatsApp bars the linked number from writing to new contacts for a while; an admin may switch to another sending method.", Fix: FixAccount}, true
	case n == 131026:
		return Explanation{Plain: "This number cannot receive WhatsApp messages (it may not be on WhatsApp).", Fix: FixNumber}, true
	case n == 131047:
		return Explanation{Plain: "The customer has not written in the last 24 hours, so WhatsApp allows only an approved template message.", Fix: FixMessage}, true
	case n == 131051:
		return Explanation{Plain: "WhatsApp does not take this kind of message.", Fix: FixMessage}, true
	case n == 131052 || n == 131053:
		return Explanation{Plain: "The image or video could not be sent (it could not be fetched or uploaded).", Fix: FixMessage}, true
	case n == 131008 || n == 131009 || n == 100:
		return Explanation{Plain: "WhatsApp found part of the message missing or not valid.", Fix: FixMessage}, true
	case n >= 132000 && n <= 132016:
		return Explanation{Plain: "The message template is missing, not approved or does not fit the message.", Fix: FixMessage}, true
	case n == 130497:
		return Explanation{Plain: "The WhatsApp business account may not send to this number's country.", Fix: FixAccount}, true
	case n == 131030:
		return Explanation{Plain: "The WhatsApp account is a test account and this number is not on its list of allowed recipients.", Fix: FixAccount}, true
	case n == 3 || n == 10 || (n >= 200 && n <= 299):
		return Explanation{Plain: "The WhatsApp account lacks a permission it needs to send; an admin must grant it.", Fix: FixAccount}, true
	}
	return Explanation{}, false
}
