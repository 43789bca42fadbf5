package importer

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"

	"github.com/messagebridge/messagebridge/store/words"
)

// delimiters the sniffer chooses from, in order of preference on a tie.
var delimiters = []byte{',', ';', '\t', '|'}

// importCSV reads a .csv file's text (UTF-8, as detect returns it) with the
// delimiter it uses.
func importCSV(ctx context.Context, text []byte, opts Options) (Result, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return Result{}, limitErr("the file is empty")
	}
	return readDelimited(ctx, text, sniffDelimiter(text), opts)
}

// importTSV reads a .tsv file's text: tab-separated, or, when it holds no
// tab at all, with the delimiter it uses.
func importTSV(ctx context.Context, text []byte, opts Options) (Result, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return Result{}, limitErr("the file is empty")
	}
	delim := byte('\t')
	if bytes.IndexByte(text, '\t') < 0 {
		delim = sniffDelimiter(text)
	}
	return readDelimited(ctx, text, delim, opts)
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
	line    int
	columns int // set when the record has too many columns rather than too many bytes
}

func (e *errLineTooLong) Error() string { return "line too long" }

// lineGuard sits between the file and encoding/csv and fails the read as soon
// as one physical line is longer than maxBytes, or one record has a
// non-empty cell past column maxCols (empty cells at the end of a row, as
// Excel pads rows to the sheet's width, do not count). encoding/csv parses
// whatever part of a line it has read before an error, so the guard must
// stop early: a row with a million columns is refused after a few KB instead
// of being split into a million fields. The refusal then counts the
// record's columns, so that the operator is told the real number.
type lineGuard struct {
	data     []byte
	off      int // bytes of data handed out
	delim    byte
	maxBytes int
	maxCols  int

	cols    colCounter
	bytes   int // bytes of the current physical line
	line    int // 1-based number of the current physical line, minus one
	recLine int // physical line (minus one) where the current record starts
}

// colCounter follows the cells of one record.
type colCounter struct {
	delim      byte
	inQuote    bool
	col        int  // 0-based column of the current cell
	filled     bool // the current cell has something other than spaces and quotes
	lastFilled int  // 1-based column of the last non-empty cell, 0 for none
}

// feed takes one byte; it reports whether the record ended (a line break
// outside quotes).
func (c *colCounter) feed(b byte) (end bool) {
	switch b {
	case '"':
		c.inQuote = !c.inQuote
		return false
	case '\n':
		if !c.inQuote {
			c.close()
			return true
		}
		return false
	case c.delim:
		if !c.inQuote {
			c.close()
			c.col++
			return false
		}
	}
	if b != ' ' && b != '\r' && b != '\t' && !c.filled {
		c.filled = true
	}
	return false
}

// close ends the current cell.
func (c *colCounter) close() {
	if c.filled {
		c.lastFilled = c.col + 1
	}
	c.filled = false
}

// columns is the number of columns up to the last non-empty cell so far,
// the current one included.
func (c *colCounter) columns() int {
	if c.filled {
		return c.col + 1
	}
	return c.lastFilled
}

func (g *lineGuard) Read(p []byte) (int, error) {
	n := copy(p, g.data[g.off:])
	start := g.off
	g.off += n
	for i := 0; i < n; i++ {
		b := p[i]
		if g.cols.feed(b) {
			g.cols = colCounter{delim: g.delim}
			g.recLine = g.line + 1
		}
		if b == '\n' {
			g.line++
			g.bytes = 0
			continue
		}
		if g.cols.columns() > g.maxCols {
			return 0, &errLineTooLong{line: g.recLine + 1, columns: g.countRest(start + i + 1)}
		}
		if g.bytes++; g.bytes > g.maxBytes {
			return 0, &errLineTooLong{line: g.line + 1}
		}
	}
	if g.off == len(g.data) {
		return n, io.EOF
	}
	return n, nil
}

// countRest follows the current record from data[from:] to its end and
// returns its number of columns (up to the last non-empty cell).
func (g *lineGuard) countRest(from int) int {
	for _, b := range g.data[from:] {
		if g.cols.feed(b) {
			break
		}
	}
	g.cols.close()
	return g.cols.lastFilled
}

// readDelimited reads delimited text (CSV, or tab-separated .txt).
func readDelimited(ctx context.Context, data []byte, delim byte, opts Options) (Result, error) {
	lim := opts.Limits
	// A sane line holds at most MaxColumns cells of MaxCellLen characters;
	// allow twice that in bytes for non-ASCII text and quoting.
	maxLine := 2 * lim.MaxColumns * (lim.MaxCellLen + 3)
	// Rows are checked against MaxColumns after their cells are trimmed;
	// the guard only stops absurd records early.
	maxCols := 4*lim.MaxColumns + 1000
	cr := csv.NewReader(&lineGuard{data: data, delim: delim, maxBytes: maxLine, maxCols: maxCols, cols: colCounter{delim: delim}})
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
			if errors.As(err, &tl) && tl.columns > 0 {
				return Result{}, limitErr("line %s has %s; a row may have at most %s", words.Number(tl.line), words.Count(tl.columns, "column"), words.Count(lim.MaxColumns, "column"))
			}
			if errors.As(err, &tl) {
				return Result{}, limitErr("line %s is too long (over %s characters); a row may have at most %s of up to %s characters", words.Number(tl.line), words.Number(maxLine), words.Count(lim.MaxColumns, "column"), words.Number(lim.MaxCellLen))
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
