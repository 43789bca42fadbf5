// Package importer reads the contact lists that operators attach in chat
// (.xlsx, .csv, .tsv, .txt) and turns them into campaign contacts.
//
// The package is self-contained: phone-number normalization is passed in
// through Options.Normalize, so it does not depend on the commands package.
//
// Everything an operator can send is treated as hostile: the input is read up
// to a byte limit, its content must be what its name says (Detect: text for
// .csv, .tsv and .txt, an Excel workbook for .xlsx), .xlsx archives are
// checked for zip bombs and for parts that do not unpack to their declared
// size and checksum before they are opened, rows, columns and cell lengths
// are bounded while reading, and every refusal is a *LimitError whose
// Message can be shown to the operator as is.
//
// Layout of a sheet (.xlsx, .csv, .tsv, tab-separated .txt):
//
//   - A header row is recognised by a phone-ish cell ("Phone", "Mobile No.",
//     "WhatsApp Number", "Contact", "Ph", ...). It may be preceded by up to
//     four title rows that hold no phone number ("Diwali offer list").
//   - Without a keyword header, the phone column is the first column in which
//     most non-empty cells of the first 20 rows normalize as phone numbers.
//     If the first row's cell in that column holds no digit at all ("Numero")
//     while later rows do hold numbers, that first row is taken as the header.
//   - The name column comes from a header cell such as "Name", "Customer",
//     "Customer Name", "Full Name", "Party Name"; without a header there is no
//     name. All other non-empty cells become Contact.Vars, keyed by their
//     header text, or "colN" (1-based column number) without a header.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/store/words"
)

// Contact is one accepted row.
type Contact struct {
	Row   int               // 1-based row (line for .csv/.txt) as the operator sees it
	Phone string            // E.164, as returned by Options.Normalize
	Name  string            // from the name column; "" when there is none
	Vars  map[string]string // other non-empty cells by header text (or "colN"); nil when none
}

// Reject is one row (or .txt candidate) that was not imported.
type Reject struct {
	Row    int    // 1-based row / line
	Value  string // the phone cell as written ("" when there was none)
	Reason string // Normalize's error text, "no phone number" or "cell too long"
}

// Result is what one import produced.
type Result struct {
	Contacts    []Contact
	Duplicates  int // rows whose number already appeared earlier in the file
	Rejects     []Reject
	Rows        int    // data rows examined (.txt: phone candidates); Contacts+Duplicates+Rejects
	Sheet       string // .xlsx: the sheet that was read
	HeaderFound bool
	PhoneColumn string // header text of the phone column, or "colN" without a header
}

// Limits bound what an import may consume. Zero fields take the defaults of
// DefaultLimits.
type Limits struct {
	MaxBytes            int64 // size of the file as sent
	MaxRows             int   // data rows (.txt: phone candidates)
	MaxCellLen          int   // characters in one cell; a longer cell rejects its row
	MaxColumns          int   // columns in one row; more is an error
	MaxUnzippedBytes    int64 // .xlsx: total declared uncompressed size of the archive
	MaxCompressionRatio int   // .xlsx: uncompressed/compressed size of any large entry
}

// DefaultLimits are the limits used for zero fields of Options.Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:            20 << 20,
		MaxRows:             200_000,
		MaxCellLen:          1_000,
		MaxColumns:          200,
		MaxUnzippedBytes:    200 << 20,
		MaxCompressionRatio: 100,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxCellLen <= 0 {
		l.MaxCellLen = d.MaxCellLen
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxUnzippedBytes <= 0 {
		l.MaxUnzippedBytes = d.MaxUnzippedBytes
	}
	if l.MaxCompressionRatio <= 0 {
		l.MaxCompressionRatio = d.MaxCompressionRatio
	}
	return l
}

// Options configure Import.
type Options struct {
	// Normalize turns one raw cell into E.164; its error text becomes the
	// reject reason. Required, and safe for concurrent use: rows are
	// normalized on all cores. It must accept Excel's scientific notation
	// ("9.87654321E+09") since text cells and .csv/.txt files carry it.
	Normalize func(raw string) (e164 string, err error)
	Limits    Limits
	// Sheet is the .xlsx sheet to read; "" means the first sheet. Matched
	// exactly, then case-insensitively.
	Sheet string
	// OnContacts, when set, receives the accepted contacts in file order, a
	// batch at a time, instead of Result.Contacts (which stays empty), so a
	// large list need not be held in memory. An error from it stops the
	// import and is returned. The caller must undo what it stored when
	// Import then fails.
	OnContacts func([]Contact) error
	// FindPhones optionally replaces the built-in phone-candidate finder used
	// for free-text .txt lines (e.g. commands.FindPhones). Its candidates are
	// passed to Normalize as they are.
	FindPhones func(text string) []string
}

// LimitError is returned, with an empty Result, when a limit is exceeded or
// the file cannot be read. Message is a complete sentence for the operator.
type LimitError struct {
	Message string
}

func (e *LimitError) Error() string { return e.Message }

func limitErr(format string, args ...any) error {
	return &LimitError{Message: fmt.Sprintf(format, args...)}
}

// Reject reasons produced by the importer itself.
const (
	ReasonNoPhone     = "no phone number"
	ReasonCellTooLong = "cell too long"
	reasonInvalid     = "not a valid number"
)

// Import reads a contact list. The format is chosen by name's extension
// (.xlsx, .csv, .tsv or .txt, any case), and the content must be what the
// name says: a .csv, .tsv or .txt file must be text, an .xlsx file an Excel
// workbook (Detect); a file that is something else (a photo renamed .csv)
// is refused with a message naming what it is. At most Limits.MaxBytes+1
// bytes are read from r. On error the Result is empty; errors meant for the
// operator are *LimitError, a cancelled ctx gives ctx.Err().
func Import(ctx context.Context, name string, r io.Reader, opts Options) (Result, error) {
	if opts.Normalize == nil {
		return Result{}, errors.New("importer: Options.Normalize is nil")
	}
	lim := opts.Limits.withDefaults()
	opts.Limits = lim

	ext := strings.ToLower(filepath.Ext(strings.TrimSpace(name)))
	switch ext {
	case ".xlsx", ".csv", ".tsv", ".txt":
	case ".xls":
		return Result{}, limitErr("old Excel .xls files cannot be read; open %q in Excel, save it as .xlsx (Excel Workbook) or .csv and send it again", filepath.Base(name))
	case "":
		return Result{}, limitErr("%q has no file extension; %s", filepath.Base(name), sendAs)
	default:
		return Result{}, limitErr("%s files cannot be read; %s", ext, sendAs)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	data, err := readLimited(ctx, r, lim.MaxBytes)
	if err != nil {
		return Result{}, err
	}
	if len(data) == 0 {
		return Result{}, limitErr("the file is empty")
	}
	content, text := detect(data)
	if err := contentMismatch(ext, content); err != nil {
		return Result{}, err
	}

	var res Result
	switch ext {
	case ".xlsx":
		res, err = importXLSX(ctx, data, opts)
	case ".csv":
		res, err = importCSV(ctx, text, opts)
	case ".tsv":
		res, err = importTSV(ctx, text, opts)
	case ".txt":
		res, err = importTXT(ctx, text, opts)
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// sendAs says which files are read.
const sendAs = "send the contact list as an .xlsx, .csv, .tsv or .txt file"

// contentMismatch refuses content that is not what the extension says,
// naming what it is.
func contentMismatch(ext string, c Content) error {
	if ext == ".xlsx" {
		switch {
		case c.Kind == KindXLSX:
			return nil
		case c.Kind == KindText:
			return limitErr("this file is plain text, not an Excel workbook, although its name ends in .xlsx; if it is a CSV list, send it again with a name ending in .csv")
		case c.OLE && (c.Form == FormOldXLS || c.Form == FormEncrypted):
			return limitErr("this .xlsx file is password-protected or is an old .xls workbook; remove the password or save it as .xlsx (Excel Workbook) and send it again")
		case c.Form == FormDamaged:
			return limitErr("this .xlsx file is damaged (its zip archive cannot be opened); open it in Excel, save it again and send it again")
		}
		return limitErr("this file is %s, not a contact list, although its name ends in .xlsx; %s", c.What, sendAs)
	}
	switch {
	case c.Kind == KindText:
		return nil
	case c.Kind == KindXLSX:
		return limitErr("this file is an Excel workbook, not %s, although its name ends in %s; send it again with a name ending in .xlsx", textName(ext), ext)
	case c.Line > 0:
		return limitErr("this file is not plain text: line %s holds a control character that a contact list never has; save the list again as CSV or plain text and send it again", words.Number(c.Line))
	case c.Form == FormBinary:
		return limitErr("this file holds binary data, not text, so it is not a contact list, although its name ends in %s; %s", ext, sendAs)
	}
	return limitErr("this file is %s, not a contact list, although its name ends in %s; %s", c.What, ext, sendAs)
}

// textName names the text format of an extension.
func textName(ext string) string {
	switch ext {
	case ".csv":
		return "a CSV file"
	case ".tsv":
		return "a tab-separated file"
	}
	return "a text file"
}

// readLimited reads at most max+1 bytes of r. When r knows its size (Size()
// as bytes.Reader, strings.Reader and WithSize have it, or Stat() of a
// regular os.File) an over-size file is refused without reading and the
// message gives its size; otherwise the message says "larger than".
func readLimited(ctx context.Context, r io.Reader, max int64) ([]byte, error) {
	known := int64(-1)
	switch v := r.(type) {
	case interface{ Stat() (os.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			known = fi.Size()
		}
	case interface{ Size() int64 }:
		known = v.Size()
	}
	tooBig := func(size int64, exact bool) error {
		if exact && words.Size(size) != words.SizeLimit(max) {
			return limitErr("the file is %s; the limit is %s", words.Size(size), words.SizeLimit(max))
		}
		return limitErr("the file is larger than %s, the limit", words.SizeLimit(max))
	}
	if known > max {
		return nil, tooBig(known, true)
	}

	capHint := int64(64 << 10)
	if known >= 0 {
		capHint = known + 1
	}
	buf := make([]byte, 0, min(capHint, max+1))
	cr := &ctxReader{ctx: ctx, r: io.LimitReader(r, max+1)}
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > max {
				break
			}
			buf = slices.Grow(buf, int(min(int64(2*cap(buf)), max+1))-len(buf))
		}
		n, err := cr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, limitErr("the file could not be received completely (%v); please send it again", err)
		}
	}
	if int64(len(buf)) <= max {
		return buf, nil
	}
	// Over the limit, size unknown: nothing more is read.
	return nil, tooBig(max, false)
}

// WithSize attaches the file's size, when the caller knows it (chat apps
// announce it with the attachment), to a reader, so that an over-size file is
// refused before any of it is read and the message can say how big it is.
func WithSize(r io.Reader, size int64) io.Reader { return sizedReader{r, size} }

type sizedReader struct {
	io.Reader
	size int64
}

func (s sizedReader) Size() int64 { return s.size }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// cleanCell trims spaces (Unicode ones too) and invisible format characters
// (zero-width space, BOM, bidi marks) from both ends.
func cleanCell(s string) string {
	if s == "" {
		return s
	}
	if first, last := s[0], s[len(s)-1]; first > ' ' && first < utf8.RuneSelf && last > ' ' && last < utf8.RuneSelf {
		return s // fast path: plain ASCII ends
	}
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
	})
}

// tooLong reports whether s has more than max characters.
func tooLong(s string, max int) bool {
	return len(s) > max && utf8.RuneCountInString(s) > max
}

// normalize calls Normalize, turning a panic-free but empty answer into a
// reason too.
func normalize(fn func(string) (string, error), raw string) (string, string) {
	e164, err := fn(raw)
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = reasonInvalid
		}
		return "", msg
	}
	if e164 == "" {
		return "", reasonInvalid
	}
	return e164, ""
}

// ---------------------------------------------------------------------------
// Sheet layout: header detection, phone column sniffing, row processing.

const (
	sniffRows     = 20 // non-empty rows buffered before the layout is decided
	maxTitleRows  = 4  // title rows allowed above a keyword header
	ctxCheckEvery = 1024
)

type pendingRow struct {
	num   int
	cells []string
}

// table turns the rows of one sheet into a Result. Rows are fed with add in
// order; finish flushes. The first sniffRows non-empty rows are buffered to
// decide the layout.
type table struct {
	ctx  context.Context
	opts Options
	lim  Limits
	res  Result

	pending  []pendingRow
	decided  bool
	phoneCol int
	nameCol  int
	keys     []string // Vars key per column; beyond it "colN"
	seen     map[string]struct{}
	calls    int
	accepted int // contacts accepted so far, handed on or not

	// batch holds decided rows until normalizeBatch rows are there; their
	// phone cells are normalized in parallel (phone parsing dominates an
	// import), then the rows are processed in order.
	batch []pendingRow
	norm  map[string]normResult
}

// normalizeBatch is how many rows are normalized together.
const normalizeBatch = 2048

type normResult struct{ e164, reason string }

func newTable(ctx context.Context, opts Options) *table {
	return &table{ctx: ctx, opts: opts, lim: opts.Limits, phoneCol: -1, nameCol: -1, seen: make(map[string]struct{})}
}

// add feeds one row (1-based number as the operator sees it). cells may be
// modified and is kept.
func (t *table) add(num int, cells []string) error {
	t.calls++
	if t.calls%ctxCheckEvery == 0 {
		if err := t.ctx.Err(); err != nil {
			return err
		}
	}
	n := 0
	for i, c := range cells {
		c = cleanCell(c)
		cells[i] = c
		if c != "" {
			n = i + 1
		}
	}
	if n == 0 {
		return nil // fully empty row (or blank merged area): skipped
	}
	cells = cells[:n]
	if n > t.lim.MaxColumns {
		return limitErr("row %s has %s; a row may have at most %s", words.Number(num), words.Count(n, "column"), words.Count(t.lim.MaxColumns, "column"))
	}
	if !t.decided {
		t.pending = append(t.pending, pendingRow{num, cells})
		if len(t.pending) >= sniffRows {
			return t.decide()
		}
		return nil
	}
	t.batch = append(t.batch, pendingRow{num, cells})
	if len(t.batch) >= normalizeBatch {
		return t.flush()
	}
	return nil
}

// flush normalizes the batched rows' phone cells on all cores, then
// processes the rows in file order.
func (t *table) flush() error {
	rows := t.batch
	t.batch = t.batch[:0]
	if len(rows) == 0 {
		return t.hand()
	}
	phones := make([]string, 0, len(rows))
	for _, r := range rows {
		if t.phoneCol >= 0 && t.phoneCol < len(r.cells) && r.cells[t.phoneCol] != "" {
			phones = append(phones, r.cells[t.phoneCol])
		}
	}
	results := make([]normResult, len(phones))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(phones)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(phones); i += workers {
				results[i].e164, results[i].reason = normalize(t.opts.Normalize, phones[i])
			}
		}()
	}
	wg.Wait()
	t.norm = make(map[string]normResult, len(phones))
	for i, p := range phones {
		t.norm[p] = results[i]
	}
	defer func() { t.norm = nil }()
	for _, r := range rows {
		if err := t.process(r.num, r.cells); err != nil {
			return err
		}
	}
	return t.hand()
}

// hand passes the accepted contacts so far to OnContacts, if set.
func (t *table) hand() error {
	if t.opts.OnContacts == nil || len(t.res.Contacts) == 0 {
		return nil
	}
	batch := t.res.Contacts
	t.res.Contacts = nil
	return t.opts.OnContacts(batch)
}

// normalizePhone returns the batch's precomputed result for raw, or
// normalizes it now.
func (t *table) normalizePhone(raw string) (string, string) {
	if r, ok := t.norm[raw]; ok {
		return r.e164, r.reason
	}
	return normalize(t.opts.Normalize, raw)
}

// finish decides the layout if fewer than sniffRows rows came, and returns
// the result. emptyMsg is the error when the input had no non-empty row.
func (t *table) finish(emptyMsg string) (Result, error) {
	if !t.decided {
		if len(t.pending) == 0 {
			return Result{}, limitErr("%s", emptyMsg)
		}
		if err := t.decide(); err != nil {
			return Result{}, err
		}
	}
	if err := t.flush(); err != nil {
		return Result{}, err
	}
	return t.res, nil
}

func (t *table) decide() error {
	t.decided = true
	rows := t.pending
	t.pending = nil

	var header []string
	// 1. A keyword header within the first rows, above which only title
	//    rows (no phone number anywhere) may stand.
	for i := 0; i < len(rows) && i <= maxTitleRows; i++ {
		if t.rowHasPhone(rows[i].cells) {
			break
		}
		if col, _ := phoneHeaderColumn(rows[i].cells); col >= 0 {
			header = rows[i].cells
			t.phoneCol = col
			rows = rows[i+1:]
			break
		}
	}
	// 2. Otherwise sniff the phone column from the data.
	if header == nil {
		var found bool
		t.phoneCol, found = t.sniffPhoneColumn(rows)
		// A first row without a single digit in the phone column, followed
		// by numbers, is a header with words we do not know.
		if found && len(rows) > 1 && t.phoneCol < len(rows[0].cells) {
			c := rows[0].cells[t.phoneCol]
			if c != "" && !strings.ContainsFunc(c, isDigit) && !t.rowHasPhone(rows[0].cells) {
				header = rows[0].cells
				rows = rows[1:]
			}
		}
	}
	if header != nil {
		t.res.HeaderFound = true
		t.nameCol = nameHeaderColumn(header, t.phoneCol)
		t.keys = headerKeys(header)
	}
	t.res.PhoneColumn = t.key(t.phoneCol)
	for _, r := range rows {
		if err := t.process(r.num, r.cells); err != nil {
			return err
		}
	}
	return nil
}

func (t *table) key(col int) string {
	if col < len(t.keys) {
		return t.keys[col]
	}
	return "col" + strconv.Itoa(col+1)
}

// headerKeys makes unique Vars keys from header cells: the text itself, or
// "colN" for an empty header cell, with " (colN)" added to repeated texts.
func headerKeys(header []string) []string {
	keys := make([]string, len(header))
	used := make(map[string]bool, len(header))
	for i, h := range header {
		col := "col" + strconv.Itoa(i+1)
		k := words.Cut(h, 100)
		switch {
		case k == "":
			k = col
		case used[k]:
			k = k + " (" + col + ")"
		}
		used[k] = true
		keys[i] = k
	}
	return keys
}

func (t *table) rowHasPhone(cells []string) bool {
	for _, c := range cells {
		if c == "" || tooLong(c, t.lim.MaxCellLen) || !strings.ContainsFunc(c, isDigit) {
			continue
		}
		if _, reason := normalize(t.opts.Normalize, c); reason == "" {
			return true
		}
	}
	return false
}

// sniffPhoneColumn picks the first column where most non-empty cells are
// phone numbers; failing that the column with the most phone numbers, then
// the column with the most digit-heavy cells, then the first column. found
// reports whether the column holds at least one valid number.
func (t *table) sniffPhoneColumn(rows []pendingRow) (col int, found bool) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r.cells))
	}
	bestValid, bestValidCol := 0, -1
	bestDigits, bestDigitsCol := 0, -1
	for col := 0; col < width; col++ {
		nonEmpty, valid, digity := 0, 0, 0
		for _, r := range rows {
			if col >= len(r.cells) || r.cells[col] == "" {
				continue
			}
			c := r.cells[col]
			nonEmpty++
			if tooLong(c, t.lim.MaxCellLen) {
				continue
			}
			if countDigits(c) >= 7 {
				digity++
				if _, reason := normalize(t.opts.Normalize, c); reason == "" {
					valid++
				}
			}
		}
		if valid > 0 && 2*valid > nonEmpty {
			return col, true
		}
		if valid > bestValid {
			bestValid, bestValidCol = valid, col
		}
		if digity > bestDigits {
			bestDigits, bestDigitsCol = digity, col
		}
	}
	switch {
	case bestValidCol >= 0:
		return bestValidCol, true
	case bestDigitsCol >= 0:
		return bestDigitsCol, false
	}
	return 0, false
}

func (t *table) process(num int, cells []string) error {
	t.res.Rows++
	if t.res.Rows > t.lim.MaxRows {
		return limitErr("the file has more than %s; the limit is %s. Split it into smaller files and send them one by one", words.Count(t.lim.MaxRows, "row"), words.Number(t.lim.MaxRows))
	}
	phone := ""
	if t.phoneCol < len(cells) {
		phone = cells[t.phoneCol]
	}
	for _, c := range cells {
		if tooLong(c, t.lim.MaxCellLen) {
			t.res.Rejects = append(t.res.Rejects, Reject{Row: num, Value: words.Cut(phone, 40), Reason: ReasonCellTooLong})
			return nil
		}
	}
	if phone == "" {
		t.res.Rejects = append(t.res.Rejects, Reject{Row: num, Reason: ReasonNoPhone})
		return nil
	}
	e164, reason := t.normalizePhone(phone)
	if reason != "" {
		t.res.Rejects = append(t.res.Rejects, Reject{Row: num, Value: phone, Reason: reason})
		return nil
	}
	if _, dup := t.seen[e164]; dup {
		t.res.Duplicates++
		return nil
	}
	t.seen[e164] = struct{}{}
	c := Contact{Row: num, Phone: e164}
	for i, v := range cells {
		switch {
		case v == "" || i == t.phoneCol:
		case i == t.nameCol:
			c.Name = v
		default:
			if c.Vars == nil {
				c.Vars = make(map[string]string, len(cells)-1)
			}
			c.Vars[t.key(i)] = v
		}
	}
	t.res.Contacts = append(t.res.Contacts, c)
	t.accepted++
	return nil
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// headerWords lower-cases a header cell and reduces punctuation to single
// spaces: "Mobile No." → "mobile no", "Ph.No" → "ph no".
func headerWords(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		} else {
			space = true
		}
	}
	return b.String()
}

func hasWord(words string, set map[string]bool) bool {
	for _, w := range strings.Fields(words) {
		if set[w] {
			return true
		}
	}
	return false
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

var (
	phoneHeaderExact = setOf(
		"phone", "mobile", "number", "whatsapp", "contact", "ph", "mob", "cell", "tel", "telephone",
		"phone number", "phone no", "phone num", "ph no", "ph number", "mobile number", "mobile no",
		"mobile num", "mob no", "mob number", "mobile phone", "contact number", "contact no",
		"whatsapp number", "whatsapp no", "whatsapp mobile", "wa number", "wa no", "cell no",
		"cell number", "tel no", "telephone number", "telephone no", "customer mobile",
		"customer phone", "customer number", "customer contact",
		// Devanagari
		"फोन", "फ़ोन", "मोबाइल", "नंबर", "मोबाइल नंबर", "फोन नंबर", "व्हाट्सएप",
	)
	phoneHeaderWords = setOf("phone", "mobile", "whatsapp", "telephone", "mob", "मोबाइल", "फोन", "फ़ोन")
	// A second number column ("Alternate Mobile") is used only when there
	// is no better one.
	phoneHeaderWeak = setOf("alternate", "alt", "alternative", "other", "second", "secondary", "landline", "office", "home", "fax", "2")
	nameWords       = setOf("name", "नाम")
	nameHeaderExact = setOf(
		"name", "customer", "customer name", "full name", "contact name", "client", "client name",
		"party", "party name", "cust name", "buyer", "buyer name", "naam", "नाम", "ग्राहक", "ग्राहक का नाम",
	)
)

// phoneHeaderColumn finds the phone column of a header row, or -1. Scores:
// WhatsApp column 4, exact keyword 3, keyword inside longer text 2, weak
// ("Alternate Mobile", "Landline") 1. A cell mentioning "name" is never it.
func phoneHeaderColumn(cells []string) (col, score int) {
	col = -1
	for i, c := range cells {
		w := headerWords(c)
		if w == "" || hasWord(w, nameWords) {
			continue
		}
		s := 0
		switch {
		case phoneHeaderExact[w]:
			s = 3
		case hasWord(w, phoneHeaderWords):
			s = 2
		default:
			continue
		}
		if hasWord(w, phoneHeaderWeak) {
			s = 1
		} else if strings.Contains(w, "whatsapp") || strings.Contains(w, "व्हाट्सएप") {
			s = 4
		}
		if s > score {
			col, score = i, s
		}
	}
	return col, score
}

// nameHeaderColumn finds the name column of a header row, or -1: an exact
// keyword first, else the first cell containing the word "name".
func nameHeaderColumn(cells []string, phoneCol int) int {
	fallback := -1
	for i, c := range cells {
		if i == phoneCol {
			continue
		}
		w := headerWords(c)
		if nameHeaderExact[w] {
			return i
		}
		if fallback < 0 && hasWord(w, nameWords) {
			fallback = i
		}
	}
	return fallback
}
