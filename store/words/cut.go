package words

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis ends text that Cut shortened, so a reader sees it was cut.
const Ellipsis = "…"

// Cut makes s at most n characters (runes): longer text keeps its first
// n-1 characters and ends in "…". It cuts between characters, never inside
// a UTF-8 sequence, and bytes of s that are not UTF-8 become U+FFFD, so the
// result is always valid UTF-8 (MySQL's utf8mb4, Telegram and WhatsApp
// refuse anything else) and fits a VARCHAR(n) column, which counts
// characters. n <= 0 gives "".
func Cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n && utf8.ValidString(s) {
		return s // fewer bytes than n: fewer characters too
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	count := 0
	for i := range s {
		if count == n-1 {
			if utf8.RuneCountInString(s[i:]) == 1 {
				return s // exactly n characters
			}
			return s[:i] + Ellipsis
		}
		count++
	}
	return s
}
