package queue

import (
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/store/words"
)

// MaxErrorLen bounds an error text stored on an item or shown to operators,
// in characters ("…" included).
const MaxErrorLen = 500

const (
	// redactedMark replaces whatever is redacted.
	redactedMark = "[redacted]"
	// minSecretLen: configured secret values shorter than this are not
	// looked for; they would match ordinary numbers and words.
	minSecretLen = 4
	// secretPieceLen is the shortest piece of a configured secret that is
	// redacted on its own, wherever it appears: a provider may echo part of
	// a secret, or a text may have been cut through one.
	secretPieceLen = 8
	// minEntropyRun is the shortest run of token characters judged on its
	// shape alone (mixed case and digits, high entropy).
	minEntropyRun = 24
)

// Credential shapes that may hide in provider errors, URLs and headers.
var (
	// Authorization headers: the scheme (Bearer, Basic) stays, the value goes.
	authHeaderRE = regexp.MustCompile(`(?i)(authorization["']?\s*)([:=])(\s*)(["']?)((?:bearer|basic|token)\s+)?([^\s,;"']+)`)
	// "Bearer <value>" and "Basic <value>" outside a header.
	schemeRE = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9\-._~+/]+=*)`)
	// key=value, key: value and "key": "value" for the names credentials
	// travel under.
	keyValueRE = regexp.MustCompile(`(?i)((?:access|refresh|id)?[_ -]?token|client[_ -]?secret|app[_ -]?secret|secret|api[_ -]?key|apikey|key|password|passwd|pwd|signature|sig|proof)(["']?\s*)([:=])(\s*)(["']?)([^\s&,;"'}]+)`)
	// Shapes that are credentials wherever they appear.
	shapeREs = []*regexp.Regexp{
		regexp.MustCompile(`\bEAA[A-Za-z0-9]{20,}`),                                          // Meta access tokens
		regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b`), // JWTs
		regexp.MustCompile(`\bbot\d+:[A-Za-z0-9_-]{20,}`),                                    // Telegram bot tokens in URLs
	}
	// user:pass@ in URLs.
	userInfoRE = regexp.MustCompile(`://[^/\s:@]+:[^/\s@]+@`)
	// Runs of token characters, judged by looksRandom.
	tokenRunRE = regexp.MustCompile(`[A-Za-z0-9_+-]{24,}`)
)

// Redact replaces the credentials in msg with [redacted] and keeps the
// words around them. It removes every secret given (the current values of
// the secret settings), whole or as any piece of 8 or more characters, and
// the shapes of credentials: Authorization headers, Bearer and Basic
// values, token=/key=/password= values (and "token: x" when x looks like a
// token rather than a word), Meta EAA… tokens, JWTs, Telegram bot tokens,
// user:pass@ in URLs and long runs of random-looking characters.
//
// Redact does not shorten msg: any cut must come after it, so that a
// secret cut in two still matches.
func Redact(msg string, secrets ...string) string {
	msg = redactSecrets(msg, secrets)
	msg = replaceSubmatches(authHeaderRE, msg, func(m []string) string {
		prefix, sep, space, quote, scheme, value := m[1], m[2], m[3], m[4], m[5], m[6]
		if value == redactedMark || (scheme == "" && sep == ":" && quote == "" && !looksLikeToken(value)) {
			return m[0]
		}
		return prefix + sep + space + quote + scheme + redactedMark
	})
	msg = replaceSubmatches(schemeRE, msg, func(m []string) string {
		if !looksLikeToken(m[3]) {
			return m[0]
		}
		return m[1] + m[2] + redactedMark
	})
	msg = replaceSubmatches(keyValueRE, msg, func(m []string) string {
		key, keyEnd, sep, space, quote, value := m[1], m[2], m[3], m[4], m[5], m[6]
		if value == redactedMark {
			return m[0]
		}
		// key=value, quoted JSON fields and values shaped like tokens are
		// credentials; "access token: Session has expired" is prose.
		if sep == "=" || quote != "" || strings.ContainsAny(keyEnd, `"'`) || looksLikeToken(value) {
			return key + keyEnd + sep + space + quote + redactedMark
		}
		return m[0]
	})
	for _, re := range shapeREs {
		msg = re.ReplaceAllLiteralString(msg, redactedMark)
	}
	msg = userInfoRE.ReplaceAllLiteralString(msg, "://"+redactedMark+"@")
	msg = tokenRunRE.ReplaceAllStringFunc(msg, func(run string) string {
		if looksRandom(run) {
			return redactedMark
		}
		return run
	})
	return msg
}

// SanitizeError makes an error text safe to store, log and show: the
// secrets given and credential shapes are redacted (see Redact), then
// whitespace is folded and the length bounded. Redaction comes first, so a
// secret that straddles the cut is still removed whole.
func SanitizeError(msg string, secrets ...string) string {
	msg = Redact(msg, secrets...)
	msg = strings.Join(strings.Fields(msg), " ")
	return words.Cut(msg, MaxErrorLen)
}

// redactSecrets replaces every occurrence of each secret, and every piece
// of secretPieceLen or more bytes of one, with a single mark per run.
func redactSecrets(msg string, secrets []string) string {
	if msg == "" || len(secrets) == 0 {
		return msg
	}
	var mask []bool
	mark := func(from, to int) {
		if mask == nil {
			mask = make([]bool, len(msg))
		}
		for i := from; i < to; i++ {
			mask[i] = true
		}
	}
	var pieces map[string]struct{}
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) < minSecretLen {
			continue
		}
		for from := 0; from < len(msg); {
			i := strings.Index(msg[from:], s)
			if i < 0 {
				break
			}
			mark(from+i, from+i+len(s))
			from += i + len(s)
		}
		if len(s) > secretPieceLen {
			if pieces == nil {
				pieces = map[string]struct{}{}
			}
			for i := 0; i+secretPieceLen <= len(s); i++ {
				pieces[s[i:i+secretPieceLen]] = struct{}{}
			}
		}
	}
	// Pieces: each stretch of text made of overlapping pieces of a secret
	// goes, unless it is a plain word that merely occurs in the secret
	// ("password" in "Invalid email and password combination" when the
	// password is "my-password").
	var piece []bool
	for i := 0; pieces != nil && i+secretPieceLen <= len(msg); i++ {
		if _, ok := pieces[msg[i:i+secretPieceLen]]; ok {
			if piece == nil {
				piece = make([]bool, len(msg))
			}
			for j := i; j < i+secretPieceLen; j++ {
				piece[j] = true
			}
		}
	}
	for from := 0; piece != nil && from < len(msg); {
		if !piece[from] {
			from++
			continue
		}
		to := from
		for to < len(msg) && piece[to] {
			to++
		}
		if !plainWord(msg, from, to) {
			mark(from, to)
		}
		from = to
	}
	if mask == nil {
		return msg
	}
	// Widen each run to whole characters: a multi-byte character the
	// secret cut into goes with it.
	for i := 0; i < len(msg); i++ {
		if mask[i] {
			for j := i; j > 0 && !utf8.RuneStart(msg[j]); j-- {
				mask[j-1] = true
			}
			for j := i + 1; j < len(msg) && !utf8.RuneStart(msg[j]); j++ {
				mask[j] = true
			}
		}
	}
	var b strings.Builder
	b.Grow(len(msg))
	for i := 0; i < len(msg); i++ {
		switch {
		case !mask[i]:
			b.WriteByte(msg[i])
		case i == 0 || !mask[i-1]:
			b.WriteString(redactedMark)
		}
	}
	return b.String()
}

// plainWord reports whether msg[from:to] is a whole word of msg: small
// letters (a capital first at most), shorter than a token, with no letter
// or digit on either side and not followed by the "…" of a cut.
func plainWord(msg string, from, to int) bool {
	w := msg[from:to]
	if len(w) >= 20 || looksLikeToken(w) {
		return false
	}
	for i, r := range w {
		if !(r >= 'a' && r <= 'z') && !(i == 0 && r >= 'A' && r <= 'Z') {
			return false
		}
	}
	before, _ := utf8.DecodeLastRuneInString(msg[:from])
	after, _ := utf8.DecodeRuneInString(msg[to:])
	return !isAlnum(before) && !isAlnum(after) && !strings.HasPrefix(msg[to:], "…")
}

func isAlnum(r rune) bool { return charClass(r) != 0 }

// replaceSubmatches replaces each match of re in s by repl of its
// submatches (repl gets the whole match first).
func replaceSubmatches(re *regexp.Regexp, s string, repl func(m []string) string) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range idx {
		m := make([]string, len(loc)/2)
		for g := range m {
			if loc[2*g] >= 0 {
				m[g] = s[loc[2*g]:loc[2*g+1]]
			}
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(repl(m))
		last = loc[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// looksLikeToken reports whether v, found after a credential's name or
// scheme, is a credential rather than a word: long, or mixing letters with
// digits or with capitals inside.
func looksLikeToken(v string) bool {
	v = strings.Trim(v, `"'.`)
	if len(v) < secretPieceLen {
		return false
	}
	if len(v) >= 20 {
		return true
	}
	var letters, digits, innerUpper, lower bool
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r >= 'a' && r <= 'z':
			letters, lower = true, true
		case r >= 'A' && r <= 'Z':
			letters = true
			innerUpper = innerUpper || i > 0
		}
	}
	return (letters && digits) || (lower && innerUpper)
}

// charClass is 1 for a digit, 2 for a small letter, 3 for a capital and 0
// for anything else.
func charClass(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return 1
	case r >= 'a' && r <= 'z':
		return 2
	case r >= 'A' && r <= 'Z':
		return 3
	}
	return 0
}

// looksRandom reports whether a run of token characters looks like a key
// rather than a word, a date or an identifier: long, high entropy, either
// mixing capitals, small letters and digits or made of hex digits, and
// changing between them often.
func looksRandom(run string) bool {
	if len(run) < minEntropyRun {
		return false
	}
	var upper, lower, digits, hexLetters, other, pairs, changes int
	counts := map[rune]int{}
	prev := 0
	for _, r := range run {
		counts[r]++
		class := charClass(r)
		if class != 0 && prev != 0 {
			pairs++
			if class != prev {
				changes++
			}
		}
		prev = class
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'a' && r <= 'z':
			lower++
			if r <= 'f' {
				hexLetters++
			}
		case r >= 'A' && r <= 'Z':
			upper++
			if r <= 'F' {
				hexLetters++
			}
		default:
			other++
		}
	}
	mixed := upper >= 2 && lower >= 2 && digits >= 2
	hex := len(run) >= 32 && digits >= 4 && hexLetters >= 4 && hexLetters+digits+other == len(run)
	// Words, dates and identifiers change between capitals, small
	// letters and digits rarely; random keys do so at about every other
	// character.
	if (!mixed && !hex) || changes*10 < pairs*3 {
		return false
	}
	var entropy float64
	n := float64(len(run))
	for _, c := range counts {
		p := float64(c) / n
		entropy -= p * math.Log2(p)
	}
	return entropy >= 3.5
}
