package queue_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/queue"
)

// testSecret is a deterministic secret of n characters drawn from
// alphabet; it never starts with Meta's "EAA".
func testSecret(seed uint64, n int, alphabet string) string {
	r := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	b[0] = 'q'
	return string(b)
}

const (
	alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	lower = "abcdefghijklmnopqrstuvwxyz"
)

// leakedPiece returns the first piece of 8 or more characters of secret
// found in text, or "".
func leakedPiece(text, secret string) string {
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+8]) {
			return secret[i : i+8]
		}
	}
	return ""
}

// A configured secret goes whatever its shape, whole or in pieces, even
// when the text around it is cut; the words around it stay.
func TestRedactConfiguredSecrets(t *testing.T) {
	t.Parallel()
	for name, secret := range map[string]string{
		"random":    testSecret(1, 240, alnum),
		"shapeless": testSecret(2, 240, lower), // only its value can find it
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			other := testSecret(3, 40, lower)
			words := "meta send: Error validating access token: Session has expired on Tuesday. "
			for _, tc := range []struct {
				name, msg string
				keep      []string
			}{
				{"whole", words + "token " + secret + " was refused", []string{"access token: Session has expired", "was refused"}},
				{"across the cut", strings.Repeat("x ", (queue.MaxErrorLen-120)/2) + secret + " tail", nil},
				{"a piece", "the provider saw …" + secret[37:120] + "… only", []string{"the provider saw", "only"}},
				{"a cut piece", words + secret[:9] + "…", []string{"access token: Session has expired"}},
				{"two secrets", other + ":" + secret + " (code 190)", []string{"(code 190)"}},
				{"glued", "key" + secret + "end", nil},
			} {
				got := queue.SanitizeError(tc.msg, "", "abc", other, secret)
				if p := leakedPiece(got, secret); p != "" {
					t.Errorf("%s: %q keeps the piece %q of the secret", tc.name, got, p)
				}
				if p := leakedPiece(got, other); p != "" {
					t.Errorf("%s: %q keeps the piece %q of the other secret", tc.name, got, p)
				}
				if !strings.Contains(got, "[redacted]") {
					t.Errorf("%s: %q has no [redacted] mark", tc.name, got)
				}
				for _, k := range tc.keep {
					if !strings.Contains(got, k) {
						t.Errorf("%s: %q lost %q", tc.name, got, k)
					}
				}
				if n := utf8.RuneCountInString(got); n > queue.MaxErrorLen {
					t.Errorf("%s: %d characters, over the bound", tc.name, n)
				}
			}
		})
	}
}

// A piece of a secret that ends inside a multi-byte character takes the
// whole character: what is left is valid UTF-8.
func TestRedactKeepsValidUTF8(t *testing.T) {
	t.Parallel()
	secret := "pässwörd-ünd-schlüssel-42"
	// "ú" shares its first byte with the secret's "ü", not its second.
	got := queue.Redact("login: pässwörd-ünd-schlúss refused", secret)
	if !utf8.ValidString(got) {
		t.Errorf("Redact = %q: not valid UTF-8", got)
	}
	if !strings.HasPrefix(got, "login: [redacted]") || !strings.HasSuffix(got, "ss refused") || strings.Contains(got, "wörd") {
		t.Errorf("Redact = %q", got)
	}
}

// Prose that only names a credential keeps its words; values that are
// credentials go.
func TestRedactKeepsWordsAroundCredentials(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{
		"Error validating access token: Session has expired on Tuesday, 01-Jul-25 10:00:00 PDT.",
		"access token: Session has expired",
		"missing bearer token",
		"Authorization: missing",
		"signature: mismatch; key: unknown",
		"whatsapp_business_management permission missing",
		"Session-has-expired-2026-01-01T10:00:00",
		"OAuthException (#100) Invalid parameter",
		"https://graph.facebook.com/v23.0/1234567890/messages: HTTP 401",
		"request 550e8400-e29b-41d4-a716-446655440000 failed",
	} {
		if got := queue.SanitizeError(msg); got != msg {
			t.Errorf("SanitizeError(%q) = %q, want it unchanged", msg, got)
		}
	}
	// A configured password made of a word does not take that word from
	// the provider's text.
	if got := queue.SanitizeError("Invalid email and password combination", "not-the-password"); got != "Invalid email and password combination" {
		t.Errorf("word of a secret redacted: %q", got)
	}
	random := testSecret(4, 240, alnum)
	for msg, keep := range map[string]string{
		"access token: " + random[:173] + " expired":        "access token: [redacted] expired",
		"Bearer " + random[:30]:                             "Bearer [redacted]",
		"Authorization: Bearer abc":                         "Authorization: Bearer [redacted]",
		"token: abc123def456 rejected":                      "token: [redacted] rejected",
		"password=hunter2&user=x":                           "password=[redacted]&user=x",
		`{"api_key": 12345}`:                                `{"api_key": [redacted]}`,
		"sha 5f4dcc3b5aa765d61d8327deb882cf99aa mismatched": "sha [redacted] mismatched",
	} {
		if got := queue.SanitizeError(msg); got != keep {
			t.Errorf("SanitizeError(%q) = %q, want %q", msg, got, keep)
		}
	}
}
