package store

import (
	"strings"
	"unicode/utf8"
)

// fitText makes free text fit a column of at most n characters: bytes that
// are not UTF-8 become U+FFFD (MySQL's utf8mb4 refuses them), and text
// longer than n characters is cut between characters, never inside one,
// ending in "…" so a reader sees it was cut. VARCHAR(n) counts characters
// on MySQL and MariaDB with utf8mb4, so the result always fits.
func fitText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, count := 0, 0
	for i := range s {
		if count == n-1 {
			cut = i
			break
		}
		count++
	}
	return s[:cut] + "…"
}
