// Package phone normalizes the phone numbers shop staff type, paste and
// forward into E.164, finds candidate numbers in free text, and explains in a
// few words why a number is refused.
package phone

// Phone-number normalization for staff intake and contact imports.
//
// Shop staff type, paste and forward phone numbers in every imaginable shape:
// "98765 43210", "+91-98765-43210", "098765 43210", "0091 98765 43210", numbers
// copied out of WhatsApp contact cards (which carry invisible bidi marks and
// non-breaking spaces) and numbers that went through Excel ("9.87654321E+09",
// "9876543210.0", "'9876543210"). Normalize turns one such string into
// E.164 or explains, in a few words, why it cannot; Find cuts a free-text
// message into the candidate strings that Normalize should look at.

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/messagebridge/messagebridge/store/words"
)

// Policy says which numbers intake accepts.
type Policy struct {
	Region       string // default region for numbers without +country code, e.g. "IN"
	AllowForeign bool   // accept numbers of other countries when given with +code / 00code
}

// Error explains why an input is not an accepted number; Reason is short human text.
type Error struct{ Input, Reason string }

func (e *Error) Error() string {
	in := words.Cut(e.Input, 40) // a message never repeats long input in full
	return "phone number " + strconv.Quote(in) + ": " + e.Reason
}

// Reasons reported in Error.Reason. They are distinct so that a reply to
// staff can say exactly what is wrong with what they typed. The "foreign"
// reason is built per region by phoneForeignReason.
const (
	phoneReasonNoDigits = "no digits"
	phoneReasonShort    = "too short"
	phoneReasonLong     = "too long"
	phoneReasonInvalid  = "not a valid number"
	phoneReasonMobile   = "not a mobile number"
	// A number that Excel displayed in scientific notation with only a few
	// significant digits ("9.19877E+11") has lost its tail; expanding it
	// would silently produce somebody else's number.
	phoneReasonRounded = "digits lost to spreadsheet rounding; type the full number"
)

// phoneMaxDigits bounds the digits we hand to the parser: E.164 allows 15
// digits, plus room for a written 00 / 0 prefix.
const phoneMaxDigits = 17

var (
	// phoneSciFull matches a whole string in scientific notation, as Excel
	// shows long numbers: "9.87654321E9", "9.87654321e+09", "9,87E+09" is not
	// accepted (Indian locales use the decimal point).
	phoneSciFull = regexp.MustCompile(`^\+?([0-9]+)(?:\.([0-9]+))?[eE]([+-]?[0-9]+)$`)
	// phoneSciInText finds Excel-style scientific notation inside free text:
	// exactly one mantissa digit, a fraction and a small exponent.
	phoneSciInText = regexp.MustCompile(`^[0-9]\.[0-9]+[eE]\+?[0-9]{1,2}`)
	// phoneTrailingZeroFraction matches Excel's "9876543210.0". The integer
	// part must be long enough that the dot cannot be a digit separator
	// ("98765.43210") or a short decimal ("12.0").
	phoneTrailingZeroFraction = regexp.MustCompile(`^(\+?[0-9]{6,})\.0+$`)
)

// Normalize returns the E.164 form ("+919876543210") of one phone number.
// The error, if any, is a *Error.
//
// Only valid numbers of type MOBILE or FIXED_LINE_OR_MOBILE are accepted; a
// number outside p.Region is accepted only when p.AllowForeign is set.
func Normalize(input string, p Policy) (string, error) {
	fail := func(reason string) (string, error) {
		return "", &Error{Input: input, Reason: reason}
	}
	region := strings.ToUpper(strings.TrimSpace(p.Region))

	plus, digits, reason := phoneCanonical(input)
	if reason != "" {
		return fail(reason)
	}
	if len(digits) > phoneMaxDigits {
		return fail(phoneReasonLong)
	}
	canonical := digits
	if plus {
		canonical = "+" + digits
	}

	num, err := phonenumbers.Parse(canonical, region)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return fail(phoneReasonShort)
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return fail(phoneReasonLong)
		case len(digits) <= 3:
			// "+9", "5": the parser calls these "not a number".
			return fail(phoneReasonShort)
		default:
			// Unknown country code, or nothing number-like.
			return fail(phoneReasonInvalid)
		}
	}

	// Policy first: a number from another country is refused for that reason
	// whatever else is wrong with it, since fixing the digits would not help.
	home := phonenumbers.GetCountryCodeForRegion(region)
	if int(num.GetCountryCode()) != home && !p.AllowForeign {
		return fail(phoneForeignReason(region, home))
	}

	// GetNumberType is UNKNOWN exactly when IsValidNumber is false (both run
	// the same pattern checks; calling both would run them twice).
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.UNKNOWN:
		return fail(phoneLengthReason(num))
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return phonenumbers.Format(num, phonenumbers.E164), nil
	case phonenumbers.FIXED_LINE:
		// A landline written the national way but without the trunk prefix
		// ("12345 67890", "11 2345 6789" in India) cannot be dialled like
		// that: Indian landlines are dialled 0 + STD code from a mobile. A
		// bare 10-digit number is always meant as a mobile number, and as a
		// mobile number it is not valid. With the trunk prefix or a country
		// code ("011 2345 6789", "+91 11 2345 6789") it is a real landline.
		if !plus && digits == phonenumbers.GetNationalSignificantNumber(num) &&
			phonenumbers.GetNddPrefixForRegion(region, true) != "" {
			return fail(phoneReasonInvalid)
		}
	}
	return fail(phoneReasonMobile)
}

// phoneLengthReason explains why a parsed number is not valid: too short or
// too long when its length is impossible (or, being a number that must be a
// mobile number, differs from the region's mobile length), otherwise just
// invalid (bad leading digits and the like).
func phoneLengthReason(num *phonenumbers.PhoneNumber) string {
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return phoneReasonShort
	case phonenumbers.TOO_LONG:
		return phoneReasonLong
	}
	nsn := len(phonenumbers.GetNationalSignificantNumber(num))
	regionOfNumber := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	if ex := phonenumbers.GetExampleNumberForType(regionOfNumber, phonenumbers.MOBILE); ex != nil {
		want := len(phonenumbers.GetNationalSignificantNumber(ex))
		switch {
		case nsn < want:
			return phoneReasonShort
		case nsn > want:
			return phoneReasonLong
		}
	}
	return phoneReasonInvalid
}

// phoneForeignReason is the refusal for a number from outside the policy's
// region, e.g. "not an Indian number (+91); numbers from other countries are
// not enabled".
func phoneForeignReason(region string, code int) string {
	const tail = "; numbers from other countries are not enabled"
	if region == "IN" {
		return "not an Indian number (+91)" + tail
	}
	name := region
	if r, err := language.ParseRegion(region); err == nil && code != 0 {
		if n := display.English.Regions().Name(r); n != "" {
			name = n
		}
	}
	if code == 0 {
		return "not a number from region " + strconv.Quote(region) + tail
	}
	return "not a number from " + name + " (+" + strconv.Itoa(code) + ")" + tail
}

// phoneCanonical reduces one candidate to its digits and whether it was
// written with a leading "+". It undoes what spreadsheets and chat apps do to
// numbers and refuses anything that is more than a number with separators.
// reason is non-empty when the input must be refused before parsing.
func phoneCanonical(input string) (plus bool, digits, reason string) {
	s := strings.TrimSpace(phoneClean(input))
	// Excel text-cell marker and quoting: 'x, "x", ="x".
	s = strings.TrimPrefix(s, "=")
	s = strings.Trim(s, "'\"` ")
	if !strings.ContainsFunc(s, phoneIsASCIIDigit) {
		return false, "", phoneReasonNoDigits
	}
	if m := phoneSciFull.FindStringSubmatch(s); m != nil {
		d, reason := phoneExpandSci(m[1], m[2], m[3])
		if reason != "" {
			return false, "", reason
		}
		return strings.HasPrefix(s, "+"), d, ""
	}
	if m := phoneTrailingZeroFraction.FindStringSubmatch(s); m != nil {
		s = m[1]
	}

	var b strings.Builder
	for i, r := range s {
		switch {
		case phoneIsASCIIDigit(r):
			b.WriteRune(r)
		case r == '+':
			// Only as the first thing after optional "(" and spaces:
			// "+91 …", "(+91) …".
			if plus || b.Len() > 0 || strings.Trim(s[:i], "( ") != "" {
				return false, "", phoneReasonInvalid
			}
			plus = true
		case phoneIsSeparator(r):
		default:
			// Letters and other symbols: not a plain phone number (and we do
			// not want the parser's vanity-number letter conversion).
			return false, "", phoneReasonInvalid
		}
	}
	return plus, b.String(), ""
}

// phoneExpandSci turns Excel scientific notation (mantissa integer and
// fraction parts, exponent) into the exact integer digits, or returns a
// refusal reason: not an integer, too long, or rounded — the mantissa is too
// short to carry all the digits of a phone number (4 or more zeros would have
// to be padded), which is what Excel shows for a 12-digit number in a column
// of default width ("9.19877E+11").
func phoneExpandSci(intPart, frac, exp string) (digits, reason string) {
	e := 0
	neg := strings.HasPrefix(exp, "-")
	for _, r := range strings.TrimLeft(exp, "+-") {
		e = e*10 + int(r-'0')
		if e > 2*phoneMaxDigits {
			break // keep the arithmetic bounded; the result is absurd anyway
		}
	}
	if neg {
		e = -e
	}
	mant := intPart + frac
	point := len(intPart) + e // position of the decimal point in mant
	switch {
	case point < 0:
		return "", phoneReasonInvalid
	case point < len(mant):
		if strings.Trim(mant[point:], "0") != "" {
			return "", phoneReasonInvalid
		}
		digits = mant[:point]
	case len(strings.TrimLeft(mant, "0"))+point-len(mant) > phoneMaxDigits:
		return "", phoneReasonLong
	case point-len(mant) >= 4:
		return "", phoneReasonRounded
	default:
		digits = mant + strings.Repeat("0", point-len(mant))
	}
	if digits = strings.TrimLeft(digits, "0"); digits == "" {
		return "", phoneReasonInvalid
	}
	return digits, ""
}

// phoneClean maps the invisible and look-alike characters that chat apps and
// spreadsheets put into numbers onto plain ASCII: format characters
// (zero-width spaces, bidi marks, BOM, soft hyphen) are dropped, any Unicode
// space becomes ' ', any dash becomes '-', fullwidth '+' becomes '+', and
// decimal digits of any script (Devanagari ९, fullwidth ９, …) become ASCII.
func phoneClean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x80:
			if r == '\t' {
				return ' '
			}
			return r
		case unicode.Is(unicode.Cf, r):
			return -1
		case unicode.IsSpace(r):
			return ' '
		case unicode.Is(unicode.Pd, r), r == '\u2212': // dashes, minus sign
			return '-'
		case r == '\uFF0B': // fullwidth plus
			return '+'
		case r == '\uFF08':
			return '('
		case r == '\uFF09':
			return ')'
		case unicode.Is(unicode.Nd, r):
			return '0' + phoneDigitValue(r)
		}
		return r
	}, s)
}

// phoneDigitValue is the value of a Unicode decimal digit. Decimal digits are
// encoded in contiguous runs of ten starting at zero, so the value is the
// distance from the start of the run, modulo 10 for adjacent runs.
func phoneDigitValue(r rune) rune {
	z := r
	for unicode.Is(unicode.Nd, z-1) {
		z--
	}
	return (r - z) % 10
}

func phoneIsASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// phoneIsSeparator reports characters people put between digit groups.
func phoneIsSeparator(r rune) bool {
	switch r {
	case ' ', '-', '.', '(', ')', '/':
		return true
	}
	return false
}

// Find splits free text into the phone-number candidates it contains,
// in order. The candidates are not validated; pass each to Normalize.
//
// Heuristics:
//
//  1. The text is cut into runs at anything that cannot be inside a written
//     number: letters, commas, semicolons, newlines, slashes, '#', ':' etc.
//     Inside a run only digits, '+', the separators - . ( ) ' and horizontal
//     (also Unicode) spaces occur. Excel scientific notation such as
//     "9.87654321E9" is recognized first and kept as one group.
//  2. Each run is split on whitespace into groups ("+91", "98765-43210").
//     Groups without digits are ignored.
//  3. Groups are merged greedily into candidates. The first group of a
//     candidate may carry a prefix that does not count towards the number's
//     length: "+cc", "(+cc)", "00cc", a trunk "0", or a bare 2–3 digit
//     country code such as "91". A following group joins the candidate while
//     the candidate has fewer than 10 significant digits (an Indian number)
//     and the sum stays within what a number can hold: 10 digits without a
//     country code, 15 minus the country code with one (E.164). A group
//     starting with '+' always starts a new candidate. So "98765 43210" and
//     "+91 98765 43210" are one candidate each, while "9876543210 9123456789"
//     and "98765 43210 91234 56789" are two.
//  4. Candidates with fewer than 5 digits ("#12", "2 pcs", "10:30") are
//     dropped: they are quantities, times and order numbers, not attempts at
//     a phone number. Longer ones are returned even if they will not
//     validate, so the caller can tell staff what is wrong with them.
func Find(text string) []string {
	var out []string
	var cur phoneCandidate
	flush := func() {
		if cur.total >= 5 {
			out = append(out, strings.Join(cur.groups, " "))
		}
		cur = phoneCandidate{}
	}
	add := func(g string) {
		g = phoneTrimGroup(g)
		info := phoneGroupInfo(g)
		if info.total == 0 {
			return
		}
		if len(cur.groups) > 0 && !cur.accepts(info) {
			flush()
		}
		cur.add(g, info)
	}

	s := phoneClean(text)
	for i := 0; i < len(s); {
		r := rune(s[i])
		switch {
		case phoneIsASCIIDigit(r) && (i == 0 || !phoneIsRunChar(rune(s[i-1]))) &&
			phoneSciInText.MatchString(s[i:]):
			m := phoneSciInText.FindString(s[i:])
			if end := i + len(m); end < len(s) && (phoneIsASCIIDigit(rune(s[end])) || unicode.IsLetter(rune(s[end]))) {
				// "1.5e10x": not a clean number; let the letters end the run.
				j := i
				for j < len(s) && phoneIsRunChar(rune(s[j])) {
					j++
				}
				add(s[i:j])
				i = j
				continue
			}
			add(m)
			i += len(m)
		case r == ' ':
			i++
		case phoneIsRunChar(r):
			j := i
			for j < len(s) && phoneIsRunChar(rune(s[j])) {
				j++
			}
			add(s[i:j])
			i = j
		default:
			// Anything else ends the run (and the candidate).
			flush()
			if r < 0x80 {
				i++
			} else {
				_, size := utf8.DecodeRuneInString(s[i:])
				i += size
			}
		}
	}
	flush()
	return out
}

// phoneCandidate is a candidate being assembled by Find.
type phoneCandidate struct {
	groups []string
	total  int // all digits
	sig    int // digits after the prefix
	limit  int // maximum significant digits
}

func (c *phoneCandidate) accepts(g phoneGroup) bool {
	if g.plus {
		return false
	}
	return c.sig < 10 && c.sig+g.total <= c.limit
}

func (c *phoneCandidate) add(s string, g phoneGroup) {
	if len(c.groups) == 0 {
		c.sig = g.total - g.prefix
		c.limit = 10
		if g.cc > 0 {
			c.limit = 15 - g.cc
		}
	} else {
		c.sig += g.total
	}
	c.total += g.total
	c.groups = append(c.groups, s)
}

// phoneGroup describes one whitespace-free group of a run.
type phoneGroup struct {
	total  int  // digits (after undoing Excel notation)
	prefix int  // leading digits that are a prefix when the group starts a candidate
	cc     int  // length of the country code within prefix, 0 if none
	plus   bool // written with a leading '+'
}

func phoneGroupInfo(g string) phoneGroup {
	plus, digits, _ := phoneCanonical(g)
	if digits == "" {
		// Refused by phoneCanonical (e.g. rounded Excel notation): count
		// the raw digits so the group still forms a candidate and the
		// caller gets the refusal reason.
		for _, r := range g {
			if phoneIsASCIIDigit(r) {
				digits += string(r)
			}
		}
		plus = strings.HasPrefix(strings.TrimLeft(g, "("), "+")
	}
	info := phoneGroup{total: len(digits), plus: plus}
	switch {
	case plus:
		info.cc = phoneCCLen(digits)
		info.prefix = info.cc
	case strings.HasPrefix(digits, "00"):
		info.cc = phoneCCLen(digits[2:])
		info.prefix = 2 + info.cc
	case strings.HasPrefix(digits, "0"):
		info.prefix = 1
	case len(digits) >= 2 && len(digits) <= 3 && phoneCCLen(digits) == len(digits):
		info.cc = len(digits)
		info.prefix = len(digits)
	}
	return info
}

// phoneCCLen is the length of the country calling code at the start of
// digits (country codes are prefix-free), or 0.
func phoneCCLen(digits string) int {
	for n := 1; n <= 3 && n <= len(digits); n++ {
		cc := 0
		for _, r := range digits[:n] {
			cc = cc*10 + int(r-'0')
		}
		if phonenumbers.GetRegionCodeForCountryCode(cc) != "ZZ" {
			return n
		}
	}
	return 0
}

// phoneTrimGroup removes punctuation that belongs to the sentence rather than
// the number: a full stop after it, dashes or quotes around it.
func phoneTrimGroup(g string) string {
	g = strings.TrimLeft(g, ".-)'")
	return strings.TrimRight(g, ".-('")
}

// phoneIsRunChar reports the characters that can appear inside a written
// phone number in free text (spaces are handled separately).
func phoneIsRunChar(r rune) bool {
	return phoneIsASCIIDigit(r) || r == '+' || r == '-' || r == '.' || r == '(' || r == ')' || r == '\''
}

// Example returns an example of accepted formats for the region, e.g.
// "98765 43210 or +91 98765 43210". It is empty for an unknown region.
func Example(region string) string {
	region = strings.ToUpper(strings.TrimSpace(region))
	if region == "IN" {
		return "98765 43210 or +91 98765 43210"
	}
	ex := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
	if ex == nil {
		return ""
	}
	return phonenumbers.Format(ex, phonenumbers.NATIONAL) + " or " +
		phonenumbers.Format(ex, phonenumbers.INTERNATIONAL)
}

// KnownRegion reports whether region is a two-letter country code that has
// phone numbers ("IN", "AE").
func KnownRegion(region string) bool {
	return len(region) == 2 && phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) != 0
}
