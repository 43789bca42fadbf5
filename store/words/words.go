// Package words is the text kit every layer shares: it counts things for
// people ("1 message", "3 messages", "2 people", "1,200 rows"), joins
// lists, writes byte sizes ("5 MB", "1.3 MB", "120 KB") and cuts text to a
// length without splitting a character. Chat replies, the operations
// layer's messages, the admin page, the delivery loop, the gateways' error
// texts and the store's column fitting all go through it, so a reply never
// says "1 messages" and no cut text ends in half a character.
//
// It lives under store, the bottom layer that every other package may
// import, and imports nothing of this module (only the standard library):
// bot, queue, gateways, commands, webadmin and store itself use it and no
// import arrow runs back up. It is a kit of words, not persistence: it
// holds no SQL and no state.
package words

import (
	"strconv"
	"strings"
)

// irregular plurals of the nouns MessageBridge counts.
func irregular(noun string) (string, bool) {
	switch noun {
	case "person":
		return "people", true
	case "entry":
		return "entries", true
	case "reply":
		return "replies", true
	case "was":
		return "were", true
	case "is":
		return "are", true
	case "has":
		return "have", true
	}
	return "", false
}

// Plural is the plural of an English noun as MessageBridge uses them:
// "message" → "messages", "person" → "people", "address" → "addresses",
// "entry" → "entries".
func Plural(noun string) string {
	if p, ok := irregular(noun); ok {
		return p
	}
	switch {
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
		return noun + "es"
	case strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsAny(noun[len(noun)-2:len(noun)-1], "aeiou"):
		return noun[:len(noun)-1] + "ies"
	}
	return noun + "s"
}

// Count words n things: Count(1, "message") is "1 message", Count(3,
// "message") "3 messages", Count(1200, "row") "1,200 rows".
func Count(n int, noun string) string {
	return Number(n) + " " + Noun(n, noun)
}

// Noun is noun for a count of n: singular for 1, plural otherwise.
func Noun(n int, noun string) string {
	if n == 1 || n == -1 {
		return noun
	}
	return Plural(noun)
}

// Number writes n with thousands separators: 1234567 → "1,234,567".
func Number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// List joins items for a sentence: "a", "a and b", "a, b and c".
func List(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
