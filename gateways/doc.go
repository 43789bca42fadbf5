// Package gateways holds one subpackage per sending provider (Meta Cloud
// API, WHAPI, Shiprocket, the linked WhatsApp session, dry-run), each
// speaking its provider's wire protocol behind the queue's sender interface
// and describing itself in a Definition, and the few helpers they share.
package gateways

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads a Retry-After header value, seconds or an HTTP date,
// as a wait from now; 0 when absent, malformed or past.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// MaskPhone keeps a phone number's country code and last three digits, for
// logs: +919876543210 → +91•••••••210.
func MaskPhone(p string) string {
	if len(p) < 7 {
		return "•••"
	}
	head := 3
	if p[0] != '+' {
		head = 2
	}
	return p[:head] + strings.Repeat("•", len(p)-head-3) + p[len(p)-3:]
}
