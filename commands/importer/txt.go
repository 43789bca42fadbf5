package importer

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/store/words"
)

// importTXT reads a .txt file: one number per line, numbers inside free text
// (a pasted chat message, a note), or a tab-separated table as Excel's "Text
// (Tab delimited)" and "Unicode Text" save it.
//
// Each line is cut into phone candidates (Options.FindPhones, or the built-in
// findPhones). A line without candidates, without letters and with at least
// 5 digits ("12345", "98765 4321") is one candidate as a whole, so that a
// mistyped number in a one-number-per-line list is reported instead of lost.
// Result.Rows counts candidates; Contact.Row and Reject.Row are line numbers.
// data is the file's text as UTF-8, as detect returns it.
func importTXT(ctx context.Context, data []byte, opts Options) (Result, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{}, limitErr("the file is empty")
	}
	if looksTabSeparated(data) {
		return readDelimited(ctx, data, '\t', opts)
	}
	find := opts.FindPhones
	if find == nil {
		find = findPhones
	}
	lim := opts.Limits
	var res Result
	seen := make(map[string]struct{})
	lineNum := 0
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		lineNum++
		if lineNum%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
		}
		s := cleanCell(string(line))
		if s == "" {
			continue
		}
		s = plainSeparators(s)
		cands := find(s)
		if len(cands) == 0 && countDigits(s) >= 5 && !strings.ContainsFunc(s, unicode.IsLetter) {
			cands = []string{s}
		}
		for _, c := range cands {
			res.Rows++
			if res.Rows > lim.MaxRows {
				return Result{}, limitErr("the file has more than %s; the limit is %s. Split it into smaller files and send them one by one", words.Count(lim.MaxRows, "phone number"), words.Number(lim.MaxRows))
			}
			if tooLong(c, lim.MaxCellLen) {
				res.Rejects = append(res.Rejects, Reject{Row: lineNum, Value: words.Cut(c, 40), Reason: ReasonCellTooLong})
				continue
			}
			e164, reason := normalize(opts.Normalize, c)
			if reason != "" {
				res.Rejects = append(res.Rejects, Reject{Row: lineNum, Value: c, Reason: reason})
				continue
			}
			if _, dup := seen[e164]; dup {
				res.Duplicates++
				continue
			}
			seen[e164] = struct{}{}
			res.Contacts = append(res.Contacts, Contact{Row: lineNum, Phone: e164})
		}
	}
	if opts.OnContacts != nil && len(res.Contacts) > 0 {
		batch := res.Contacts
		res.Contacts = nil
		if err := opts.OnContacts(batch); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// looksTabSeparated reports whether most of the first 20 non-empty lines
// (at least two) contain a tab.
func looksTabSeparated(data []byte) bool {
	lines, tabbed := 0, 0
	for len(data) > 0 && lines < 20 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines++
		if bytes.IndexByte(bytes.TrimSpace(line), '\t') >= 0 {
			tabbed++
		}
	}
	return lines >= 2 && tabbed*10 >= lines*8
}

// plainSeparators maps Unicode spaces to ' ' and Unicode dashes to '-' and
// drops invisible format characters (bidi marks, zero-width spaces), as chat
// apps put them into numbers.
func plainSeparators(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Map(func(r rune) rune {
				switch {
				case r < utf8.RuneSelf:
					return r
				case unicode.Is(unicode.Cf, r):
					return -1
				case unicode.IsSpace(r):
					return ' '
				case unicode.Is(unicode.Pd, r), r == '\u2212':
					return '-'
				case r == '\uFF0B':
					return '+'
				}
				return r
			}, s)
		}
	}
	return s
}

// sciNotation is Excel's display of a long number: "9.87654321E+09".
var sciNotation = regexp.MustCompile(`^[0-9]\.[0-9]+[eE]\+?[0-9]{1,2}`)

// findPhones is the built-in phone-candidate finder for free text.
//
//  1. Excel scientific notation ("9.87654321E9", "9.87654321E+09") standing
//     alone is one candidate.
//  2. Otherwise the text is cut into runs of digits, spaces, tabs and
//     + - ( ); anything else (letters, commas, dots, slashes, colons) ends a
//     run. Each run is split on whitespace into groups.
//  3. Groups are joined greedily: a candidate takes the next group while it
//     has fewer than 10 digits after its prefix ("+91", "91", "0", "0091")
//     and stays within 15 digits. A group starting with '+' starts a new
//     candidate, and so does a group of 10 or more digits unless the
//     candidate so far is only a prefix ("91 9876543210").
//  4. Candidates with 10–15 digits are returned, unvalidated.
func findPhones(s string) []string {
	var out []string
	start := -1
	endRun := func(i int) {
		if start >= 0 {
			out = splitRun(out, s[start:i])
			start = -1
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if isDigitByte(c) && i+1 < len(s) && s[i+1] == '.' && (i == 0 || !isWordByte(s[i-1])) {
			if m := sciNotation.FindString(s[i:]); m != "" && (i+len(m) == len(s) || !isWordByte(s[i+len(m)])) {
				endRun(i)
				out = append(out, m)
				i += len(m)
				continue
			}
		}
		if isRunByte(c) {
			if start < 0 {
				start = i
			}
		} else {
			endRun(i)
		}
		i++
	}
	endRun(len(s))
	return out
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return isDigitByte(c) || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isRunByte(c byte) bool {
	switch c {
	case ' ', '\t', '-', '+', '(', ')':
		return true
	}
	return isDigitByte(c)
}

// candidate is a phone candidate being assembled by splitRun.
type candidate struct {
	groups []string
	digits int
	prefix int // digits of a leading prefix group
}

func splitRun(out []string, run string) []string {
	var cur candidate
	flush := func() {
		if cur.digits >= 10 && cur.digits <= 15 {
			out = append(out, strings.Join(cur.groups, " "))
		}
		cur = candidate{}
	}
	for _, g := range strings.Fields(run) {
		g = strings.Trim(g, "-()")
		g = strings.TrimRight(g, "+")
		d := countDigits(g)
		if d == 0 {
			continue
		}
		plus := strings.HasPrefix(g, "+")
		if len(cur.groups) > 0 {
			onlyPrefix := len(cur.groups) == 1 && cur.prefix > 0 && cur.prefix == cur.digits
			if plus || cur.digits-cur.prefix >= 10 || cur.digits+d > 15 || d >= 10 && !onlyPrefix {
				flush()
			}
		}
		if len(cur.groups) == 0 && isPrefixGroup(g, d, plus) {
			cur.prefix = d
		}
		cur.groups = append(cur.groups, g)
		cur.digits += d
	}
	flush()
	return out
}

// isPrefixGroup: "+91", "+1", "0", "91", "091", "0091", "00971".
func isPrefixGroup(g string, d int, plus bool) bool {
	if plus {
		return d <= 3
	}
	if d != len(g) {
		return false
	}
	switch g {
	case "0", "91", "091":
		return true
	}
	return strings.HasPrefix(g, "00") && d <= 5
}
