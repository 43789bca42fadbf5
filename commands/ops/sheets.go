package ops

import (
	"strings"
	"unicode/utf8"
)

// SheetCell is a value made safe for a cell of a CSV file MessageBridge
// writes (the rejects of an import, and any CSV after it): every cell of
// every CSV goes through it. A spreadsheet opening the file runs a cell
// that starts with =, +, -, @, a tab or a carriage return as a formula
// ("=HYPERLINK(…)", "-2+3+cmd|' /C calc'!A0", "@SUM(…)"), so such a cell
// gets a single quote in front and is shown as the text it was (OWASP's
// advice for CSV injection). The same goes for a line feed, the full-width
// forms of those signs (some spreadsheets take "＝" for "="), and a sign
// after leading spaces, which some imports trim.
//
// A phone number in E.164 form (+ and 7 to 15 digits, e.g. +919876543210)
// is left as it is: it is the one value of ours that starts with a sign,
// people paste it back into MessageBridge, and all a spreadsheet can make
// of it is the number itself, since it holds nothing else a formula could
// run.
//
// An .xlsx needs no quote: its cells are written as text cells, which a
// spreadsheet never runs, so their values stay exactly as they were.
func SheetCell(v string) string {
	if !formulaLike(v) || e164Shape(v) {
		return v
	}
	return "'" + v
}

// formulaLike reports whether a spreadsheet may take v for a formula.
func formulaLike(v string) bool {
	if v == "" {
		return false
	}
	switch v[0] {
	case '\t', '\r', '\n':
		return true
	}
	r, _ := utf8.DecodeRuneInString(strings.TrimLeft(v, " \u00a0\u3000"))
	switch r {
	case '=', '+', '-', '@', '＝', '＋', '－', '＠', '﹦', '﹢', '﹣', '﹫':
		return true
	}
	return false
}

// e164Shape reports whether v is a phone number in E.164 form: + and 7 to
// 15 digits, the first not 0.
func e164Shape(v string) bool {
	if len(v) < 8 || len(v) > 16 || v[0] != '+' || v[1] == '0' {
		return false
	}
	for i := 1; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}
