package queue

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxErrorLen bounds an error text stored on an item or shown to operators.
const MaxErrorLen = 500

// secretPatterns match credentials that may hide in provider errors, URLs
// and headers.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(authorization\s*[:=]\s*)(bearer\s+|basic\s+)?[^\s,;"']+`),
	regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*`),
	regexp.MustCompile(`(?i)((?:access_?token|api_?key|apikey|token|secret|password|passwd|pwd|key|signature|sig)["']?\s*[:=]\s*["']?)[^\s&,;"'}]+`),
	regexp.MustCompile(`\bEAA[A-Za-z0-9]{20,}\b`),                                        // Meta access tokens
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b`), // JWTs
	regexp.MustCompile(`\bbot\d+:[A-Za-z0-9_-]{20,}\b`),                                  // Telegram bot tokens in URLs
	regexp.MustCompile(`://[^/\s:@]+:[^/\s@]+@`),                                         // user:pass@ in URLs
}

// SanitizeError makes an error text safe to store, log and show: credentials
// are replaced by [redacted], whitespace is folded and the length bounded.
func SanitizeError(msg string) string {
	for _, re := range secretPatterns {
		msg = re.ReplaceAllStringFunc(msg, func(m string) string {
			sub := re.FindStringSubmatchIndex(m)
			if len(sub) >= 4 && sub[2] >= 0 {
				return m[:sub[3]] + "[redacted]"
			}
			if strings.HasPrefix(m, "://") {
				return "://[redacted]@"
			}
			return "[redacted]"
		})
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > MaxErrorLen {
		cut := MaxErrorLen
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}
