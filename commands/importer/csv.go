package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// delimiters the sniffer chooses from, in order of preference on a tie.
var delimiters = []byte{',', ';', '\t', '|'}

func importCSV(ctx context.Context, data []byte, opts Options) (Result, error) {
	data = decodeText(data)
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{}, limitErr("the file is empty")
	}
	return readDelimited(ctx, data, sniffDelimiter(data), opts)
}

// decodeText returns data as UTF-8: a UTF-8 BOM is stripped, UTF-16 (with a
// BOM, or recognisable by its NUL bytes, as Excel's "Unicode Text" writes)
// is decoded, and bytes that are not UTF-8 are read as Windows-1252, the
// encoding of Excel's plain "CSV (Comma delimited)" on Windows.
func decodeText(data []byte) []byte {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		data = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return utf16ToUTF8(data[2:], false)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return utf16ToUTF8(data[2:], true)
	default:
		if le, ok := looksUTF16(data); ok {
			return utf16ToUTF8(data, !le)
		}
	}
	if !utf8.Valid(data) {
		if out, err := charmap.Windows1252.NewDecoder().Bytes(data); err == nil {
			return out
		}
		return bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	return data
}

// looksUTF16 spots BOM-less UTF-16 text: mostly ASCII, so every other byte of
// the start is NUL.
func looksUTF16(data []byte) (littleEndian, ok bool) {
	n := min(len(data), 512) &^ 1
	if n < 4 {
		return false, false
	}
	even, odd := 0, 0
	for i := 0; i < n; i += 2 {
		if data[i] == 0 {
			even++
		}
		if data[i+1] == 0 {
			odd++
		}
	}
	half := n / 2
	switch {
	case odd*10 >= half*8 && even*10 < half:
		return true, true
	case even*10 >= half*8 && odd*10 < half:
		return false, true
	}
	return false, false
}

func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	if len(u) > 0 && u[0] == 0xFEFF {
		u = u[1:]
	}
	out := make([]byte, 0, len(u)+len(u)/2)
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// sniffDelimiter picks the delimiter among , ; \t | from the first 20
// non-empty lines, counting only outside double quotes: the one present on
// the most lines, then the one with a constant count on all of them, then the
// most frequent. A file without any of them (one column of numbers) is read
// with ','.
func sniffDelimiter(data []byte) byte {
	const sample = 20
	counts := make([][4]int, 0, sample)
	var cur [4]int
	inQuote, nonEmpty := false, false
	for i := 0; i < len(data) && len(counts) < sample; i++ {
		c := data[i]
		switch {
		case c == '"':
			inQuote = !inQuote
			nonEmpty = true
		case c == '\n' && !inQuote:
			if nonEmpty {
				counts = append(counts, cur)
			}
			cur, nonEmpty = [4]int{}, false
		case inQuote:
		default:
			if k := bytes.IndexByte(delimiters, c); k >= 0 {
				cur[k]++
			}
			if c != '\r' && c != ' ' {
				nonEmpty = true
			}
		}
	}
	if nonEmpty && len(counts) < sample {
		counts = append(counts, cur)
	}
	best, bestLines, bestConst, bestTotal := byte(','), 0, false, 0
	for k, d := range delimiters {
		lines, total, constant := 0, 0, true
		for i, c := range counts {
			if c[k] > 0 {
				lines++
			}
			total += c[k]
			if i > 0 && c[k] != counts[0][k] {
				constant = false
			}
		}
		if lines == 0 {
			continue
		}
		better := lines > bestLines ||
			lines == bestLines && constant && !bestConst ||
			lines == bestLines && constant == bestConst && total > bestTotal
		if better {
			best, bestLines, bestConst, bestTotal = d, lines, constant, total
		}
	}
	return best
}

// errLineTooLong is returned by lineGuard.
type errLineTooLong struct {
	line   int
	fields bool // too many delimiters rather than too many bytes
}

func (e *errLineTooLong) Error() string { return "line too long" }

// lineGuard sits between the file and encoding/csv and fails the read as soon
// as one physical line is longer than maxBytes, or one record has more than
// maxDelims delimiters outside double quotes. encoding/csv parses whatever
// part of a line it has read before an error, so the guard must stop early:
// a row with a million columns is refused after a few KB instead of being
// split into a million fields.
type lineGuard struct {
	r         io.Reader
	delim     byte
	maxBytes  int
	maxDelims int

	bytes   int // bytes of the current physical line
	delims  int // delimiters of the current record outside quotes
	inQuote bool
	line    int // 1-based number of the current physical line, minus one
}

func (g *lineGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		switch c := p[i]; c {
		case '\n':
			g.line++
			g.bytes = 0
			if !g.inQuote {
				g.delims = 0
			}
			continue
		case '"':
			g.inQuote = !g.inQuote
		case g.delim:
			if !g.inQuote {
				if g.delims++; g.delims > g.maxDelims {
					return 0, &errLineTooLong{line: g.line + 1, fields: true}
				}
			}
		}
		if g.bytes++; g.bytes > g.maxBytes {
			return 0, &errLineTooLong{line: g.line + 1}
		}
	}
	return n, err
}

// readDelimited reads delimited text (CSV, or tab-separated .txt).
func readDelimited(ctx context.Context, data []byte, delim byte, opts Options) (Result, error) {
	lim := opts.Limits
	// A sane line holds at most MaxColumns cells of MaxCellLen characters;
	// allow twice that in bytes for non-ASCII text and quoting.
	maxLine := 2 * lim.MaxColumns * (lim.MaxCellLen + 3)
	// Rows are checked against MaxColumns after trailing empty cells are
	// dropped (Excel pads rows to the sheet's width); the guard only stops
	// absurd records early.
	maxDelims := 4*lim.MaxColumns + 1000
	cr := csv.NewReader(&lineGuard{r: bytes.NewReader(data), delim: delim, maxBytes: maxLine, maxDelims: maxDelims})
	cr.Comma = rune(delim)
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1

	t := newTable(ctx, opts)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tl *errLineTooLong
			if errors.As(err, &tl) && tl.fields {
				return Result{}, limitErr("line %d has more than %s columns; the limit is %s", tl.line, fmtCount(maxDelims+1), fmtCount(lim.MaxColumns))
			}
			if errors.As(err, &tl) {
				return Result{}, limitErr("line %d is too long (over %s characters); a row may have at most %s columns of up to %s characters", tl.line, fmtCount(maxLine), fmtCount(lim.MaxColumns), fmtCount(lim.MaxCellLen))
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Result{}, limitErr("the file could not be read at line %d (%v); check the file and send it again", pe.StartLine, pe.Err)
			}
			return Result{}, limitErr("the file could not be read (%v); check the file and send it again", err)
		}
		line, _ := cr.FieldPos(0)
		if err := t.add(line, rec); err != nil {
			return Result{}, err
		}
	}
	return t.finish("the file has no rows")
}
