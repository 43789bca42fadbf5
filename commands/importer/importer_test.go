package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// testNormalize is a small Indian-number normalizer for the tests: spaces,
// dashes and parentheses are dropped; +91 / 91 / 0 / 0091 prefixes are
// removed; Excel scientific notation is expanded exactly (and refused when
// Excel rounded digits away); the rest must be a 10-digit mobile number
// starting with 6–9.
func testNormalize(raw string) (string, error) {
	s := strings.Trim(strings.TrimSpace(raw), `'"`)
	if m := sciRe.FindStringSubmatch(s); m != nil {
		d, err := expandSci(m[1], m[2], m[3])
		if err != nil {
			return "", err
		}
		s = d
	}
	s = separators.Replace(s)
	plus := strings.HasPrefix(s, "+")
	s = strings.TrimPrefix(s, "+")
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' }) {
		return "", errors.New("not a valid number")
	}
	switch {
	case plus && strings.HasPrefix(s, "91"):
		s = s[2:]
	case plus:
		return "", errors.New("not an Indian number")
	case len(s) == 14 && strings.HasPrefix(s, "0091"):
		s = s[4:]
	case len(s) == 12 && strings.HasPrefix(s, "91"):
		s = s[2:]
	case len(s) == 11 && strings.HasPrefix(s, "0"):
		s = s[1:]
	}
	if len(s) != 10 || s[0] < '6' {
		return "", errors.New("not a valid number")
	}
	return "+91" + s, nil
}

var separators = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "")

var sciRe = regexp.MustCompile(`^([0-9])\.([0-9]+)[eE]\+?([0-9]{1,2})$`)

func expandSci(intPart, frac, exp string) (string, error) {
	e := 0
	for _, r := range exp {
		e = e*10 + int(r-'0')
	}
	if e < len(frac) {
		return "", errors.New("not a valid number")
	}
	if e-len(frac) >= 3 {
		return "", errors.New("digits lost to spreadsheet rounding")
	}
	return intPart + frac + strings.Repeat("0", e-len(frac)), nil
}

func TestTestNormalize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"9876543210": "+919876543210", "+91 98765 43210": "+919876543210", "098765-43210": "+919876543210",
		"919876543210": "+919876543210", "9.87654321E+09": "+919876543210", "9.19876543211E+11": "+919876543211",
		"12345": "", "9.88E+09": "", "+1 415 555 2671": "", "abc": "", "5876543210": "",
	} {
		got, err := testNormalize(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("testNormalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func opts() Options { return Options{Normalize: testNormalize} }

func importFile(t *testing.T, name string, o Options) (Result, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Import(context.Background(), name, f, o)
}

func phones(cs []Contact) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Phone
	}
	return out
}

func rows(cs []Contact) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.Row
	}
	return out
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		sheet       string
		contacts    int
		duplicates  int
		rejects     []Reject // exact
		header      bool
		phoneColumn string
		check       func(t *testing.T, r Result)
	}{
		{
			file: "header.xlsx", contacts: 4, duplicates: 1, header: true, phoneColumn: "Mobile No.",
			rejects: []Reject{{Row: 6, Value: "12345", Reason: "not a valid number"}},
			check: func(t *testing.T, r Result) {
				want := Contact{Row: 2, Phone: "+919876543210", Name: "Ravi Kumar", Vars: map[string]string{"City": "Delhi"}}
				if !reflect.DeepEqual(r.Contacts[0], want) {
					t.Errorf("first contact = %+v, want %+v", r.Contacts[0], want)
				}
				if got := phones(r.Contacts); !reflect.DeepEqual(got, []string{"+919876543210", "+919123456789", "+919876543211", "+917012345678"}) {
					t.Errorf("phones = %v", got)
				}
				if last := r.Contacts[3]; last.Row != 7 || last.Vars != nil {
					t.Errorf("last contact = %+v, want row 7 without vars", last)
				}
				if r.Sheet != "Sheet1" || r.Rows != 6 {
					t.Errorf("Sheet, Rows = %q, %d", r.Sheet, r.Rows)
				}
			},
		},
		{
			file: "noheader.xlsx", contacts: 4, duplicates: 1, header: false, phoneColumn: "col2",
			rejects: []Reject{{Row: 4, Value: "12345", Reason: "not a valid number"}},
			check: func(t *testing.T, r Result) {
				want := Contact{Row: 1, Phone: "+919876543210", Vars: map[string]string{"col1": "Ravi", "col3": "Delhi"}}
				if !reflect.DeepEqual(r.Contacts[0], want) {
					t.Errorf("first contact = %+v, want %+v", r.Contacts[0], want)
				}
			},
		},
		{
			file: "numeric.xlsx", contacts: 4, duplicates: 1, header: true, phoneColumn: "Phone Number",
			check: func(t *testing.T, r Result) {
				if got := phones(r.Contacts); !reflect.DeepEqual(got, []string{"+919876543210", "+919123456789", "+918765432109", "+919988776655"}) {
					t.Errorf("phones = %v", got)
				}
				if c := r.Contacts[0]; c.Name != "A" || c.Vars["Amount"] != "1500" {
					t.Errorf("first contact = %+v", c)
				}
			},
		},
		{
			file: "excel_floats.xlsx", contacts: 4, duplicates: 1, header: true, phoneColumn: "Mobile",
			rejects: []Reject{{Row: 5, Value: "9.88E+09", Reason: "digits lost to spreadsheet rounding"}},
			check: func(t *testing.T, r Result) {
				if got := phones(r.Contacts); !reflect.DeepEqual(got, []string{"+919876543210", "+919123456780", "+919876543211", "+919876543220"}) {
					t.Errorf("phones = %v", got)
				}
			},
		},
		{
			file: "empty_merged.xlsx", contacts: 5, header: true, phoneColumn: "Phone",
			rejects: []Reject{{Row: 7, Reason: ReasonNoPhone}, {Row: 9, Reason: ReasonNoPhone}},
			check: func(t *testing.T, r Result) {
				if got := rows(r.Contacts); !reflect.DeepEqual(got, []int{2, 5, 6, 8, 12}) {
					t.Errorf("contact rows = %v", got)
				}
				if c := r.Contacts[2]; c.Name != "" || c.Vars["Area"] != "South" {
					t.Errorf("merged-name row = %+v", c)
				}
			},
		},
		{
			file: "two_sheets.xlsx", sheet: "Contacts", contacts: 3, duplicates: 1, header: true, phoneColumn: "WhatsApp",
			check: func(t *testing.T, r Result) {
				if r.Sheet != "Contacts" || r.Contacts[2].Name != "Amit" || r.Contacts[2].Row != 5 {
					t.Errorf("sheet %q, contacts %+v", r.Sheet, r.Contacts)
				}
			},
		},
		{file: "two_sheets.xlsx", sheet: " contacts ", contacts: 3, duplicates: 1, header: true, phoneColumn: "WhatsApp"},
		{
			file: "semicolon.csv", contacts: 3, header: true, phoneColumn: "Phone",
			rejects: []Reject{{Row: 4, Value: "12345", Reason: "not a valid number"}},
			check: func(t *testing.T, r Result) {
				if r.Contacts[0].Name != "Sharma, Ravi" || r.Contacts[1].Vars["City"] != "Mumbai, MH" || r.Contacts[2].Name != "Rao; Suresh" {
					t.Errorf("contacts = %+v", r.Contacts)
				}
			},
		},
		{
			file: "bom.csv", contacts: 2, duplicates: 1, header: true, phoneColumn: "Phone",
			check: func(t *testing.T, r Result) {
				if r.Contacts[1].Name != "Sita" || r.Contacts[1].Row != 3 {
					t.Errorf("contacts = %+v", r.Contacts)
				}
			},
		},
		{
			file: "quoted.csv", contacts: 3, header: true, phoneColumn: "Mobile",
			rejects: []Reject{{Row: 6, Reason: ReasonNoPhone}},
			check: func(t *testing.T, r Result) {
				want := []Contact{
					{Row: 2, Phone: "+919876543210", Name: "Sharma, Ravi", Vars: map[string]string{"Address": "Shop 5, MG Road"}},
					{Row: 3, Phone: "+919123456789", Name: "Devi, Sita", Vars: map[string]string{"Address": "Flat 2,\nSecond Floor, Andheri"}},
					{Row: 5, Phone: "+918765432109", Name: `Kumar, "Bunty"`, Vars: map[string]string{"Address": "Pune"}},
				}
				if !reflect.DeepEqual(r.Contacts, want) {
					t.Errorf("contacts = %+v", r.Contacts)
				}
			},
		},
		{
			file: "title.csv", contacts: 2, header: true, phoneColumn: "Mobile No",
			check: func(t *testing.T, r Result) {
				if r.Rows != 2 || r.Contacts[0].Row != 4 || r.Contacts[0].Name != "Ravi" {
					t.Errorf("rows %d, contacts %+v", r.Rows, r.Contacts)
				}
			},
		},
		{
			file: "lines.txt", contacts: 4, duplicates: 2,
			rejects: []Reject{{Row: 5, Value: "12345", Reason: "not a valid number"}},
			check: func(t *testing.T, r Result) {
				if got := phones(r.Contacts); !reflect.DeepEqual(got, []string{"+919876543210", "+919123456789", "+919876543211", "+918765432109"}) {
					t.Errorf("phones = %v", got)
				}
				if got := rows(r.Contacts); !reflect.DeepEqual(got, []int{1, 2, 4, 8}) {
					t.Errorf("rows = %v", got)
				}
			},
		},
		{
			file: "freetext.txt", contacts: 6, duplicates: 1,
			rejects: []Reject{{Row: 6, Value: "12345 67890", Reason: "not a valid number"}},
			check: func(t *testing.T, r Result) {
				want := []string{"+919876543210", "+919123456789", "+918765432109", "+919123456780", "+919988776655", "+917012345678"}
				if got := phones(r.Contacts); !reflect.DeepEqual(got, want) {
					t.Errorf("phones = %v, want %v", got, want)
				}
				if got := rows(r.Contacts); !reflect.DeepEqual(got, []int{2, 2, 4, 4, 5, 5}) {
					t.Errorf("rows = %v", got)
				}
			},
		},
		{
			file: "unicode_text.txt", contacts: 2, header: true, phoneColumn: "Mobile",
			check: func(t *testing.T, r Result) {
				if r.Contacts[1].Name != "सीता" {
					t.Errorf("contacts = %+v", r.Contacts)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+tc.sheet, func(t *testing.T) {
			t.Parallel()
			o := opts()
			o.Sheet = tc.sheet
			r, err := importFile(t, tc.file, o)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if len(r.Contacts) != tc.contacts || r.Duplicates != tc.duplicates || len(r.Rejects) != len(tc.rejects) {
				t.Fatalf("contacts, duplicates, rejects = %d, %d, %d; want %d, %d, %d\n%+v\n%+v",
					len(r.Contacts), r.Duplicates, len(r.Rejects), tc.contacts, tc.duplicates, len(tc.rejects), r.Contacts, r.Rejects)
			}
			if len(tc.rejects) > 0 && !reflect.DeepEqual(r.Rejects, tc.rejects) {
				t.Errorf("rejects = %+v, want %+v", r.Rejects, tc.rejects)
			}
			if r.Rows != len(r.Contacts)+r.Duplicates+len(r.Rejects) {
				t.Errorf("Rows = %d, not contacts+duplicates+rejects", r.Rows)
			}
			if r.HeaderFound != tc.header || r.PhoneColumn != tc.phoneColumn {
				t.Errorf("HeaderFound, PhoneColumn = %v, %q; want %v, %q", r.HeaderFound, r.PhoneColumn, tc.header, tc.phoneColumn)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// wantLimitError checks that err is a *LimitError whose message contains all
// of parts, and that the result is empty.
func wantLimitError(t *testing.T, r Result, err error, parts ...string) {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("error = %v (%T), want *LimitError", err, err)
	}
	for _, p := range parts {
		if !strings.Contains(le.Message, p) {
			t.Errorf("message %q does not contain %q", le.Message, p)
		}
	}
	if !reflect.DeepEqual(r, Result{}) {
		t.Errorf("result not empty: %+v", r)
	}
}

// onlyReader hides the size of the underlying reader.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// zeros is an endless stream of '0'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}

func bigFile(t *testing.T, data []byte) *os.File {
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("9876543210,Ravi Kumar,Delhi\n"), (25<<20)/28+1)[:25<<20]
	var manyCols bytes.Buffer
	manyCols.WriteString("Name,Phone\nRavi,9876543210")
	for range 200 {
		manyCols.WriteString(",x")
	}
	manyCols.WriteString("\n")

	tests := []struct {
		name   string
		file   string // fixture, or
		data   []byte // in-memory content for name
		plain  bool   // hide the reader's size
		reader func(t *testing.T) io.Reader
		sheet  string
		lim    Limits
		parts  []string
	}{
		{name: "zipbomb.xlsx", file: "zipbomb.xlsx", parts: []string{"zip bomb", "limit is 100×"}},
		{name: "notazip.xlsx", file: "notazip.xlsx", parts: []string{"this file is a PNG image, not a contact list"}},
		{name: "empty.csv", file: "empty.csv", parts: []string{"the file is empty"}},
		{name: "empty.xlsx", data: []byte{}, parts: []string{"the file is empty"}},
		{name: "blank.txt", data: []byte(" \n\r\n\t\n"), parts: []string{"the file is empty"}},
		{name: "blank.csv", data: []byte("\uFEFF\n,,,\n , ,\n"), parts: []string{"the file has no rows"}},
		{name: "text.xlsx", data: []byte("Name,Phone\nRavi,9876543210\n"), parts: []string{"this file is plain text, not an Excel workbook", "name ending in .csv"}},
		{name: "ole.xlsx", data: append(append([]byte{}, oleMagic...), make([]byte, 512)...), parts: []string{"password-protected"}},
		{name: "big.csv", data: big, parts: []string{"the file is 25 MB; the limit is 20 MB"}},
		{name: "big.csv", data: big, plain: true, parts: []string{"the file is larger than 20 MB, the limit"}},
		{name: "limit.csv", data: big[:20<<20+1], parts: []string{"the file is 20.1 MB; the limit is 20 MB"}},
		{name: "sized.csv", reader: func(t *testing.T) io.Reader { return WithSize(zeros{}, 25<<20) }, parts: []string{"the file is 25 MB; the limit is 20 MB"}},
		{name: "file.csv", reader: func(t *testing.T) io.Reader { return bigFile(t, big) }, parts: []string{"the file is 25 MB; the limit is 20 MB"}},
		{name: "endless.csv", reader: func(t *testing.T) io.Reader { return zeros{} }, parts: []string{"the file is larger than 20 MB, the limit"}},
		{name: "long-line.csv", data: []byte("Name,Phone,Note\nRavi,9876543210," + strings.Repeat("x", 500_000) + "\n"), parts: []string{"line 2 is too long (over 401,200 characters)"}},
		{name: "many-columns.csv", data: manyCols.Bytes(), parts: []string{"row 2 has 202 columns; a row may have at most 200 columns"}},
		{name: "rows.xlsx", file: "header.xlsx", lim: Limits{MaxRows: 3}, parts: []string{"more than 3 rows"}},
		{name: "rows.txt", file: "lines.txt", lim: Limits{MaxRows: 3}, parts: []string{"more than 3 phone numbers"}},
		{name: "rows.csv", file: "quoted.csv", lim: Limits{MaxRows: 2}, parts: []string{"more than 2 rows"}},
		{name: "unzipped.xlsx", file: "header.xlsx", lim: Limits{MaxUnzippedBytes: 4096}, parts: []string{"unpacks to more than"}},
		{name: "sheet.xlsx", file: "two_sheets.xlsx", sheet: "Customers", parts: []string{`no sheet named "Customers"`, `the sheets "Notes" and "Contacts"`}},
		{name: "notes-first.xlsx", file: "two_sheets.xlsx", parts: []string{`the first sheet, "Notes", has no phone numbers`, `the sheet "Contacts"`, `as in sheet="Contacts", and send`}},
		{name: "list.pdf", data: []byte("%PDF"), parts: []string{".pdf files cannot be read"}},
		{name: "old.XLS", data: []byte("x"), parts: []string{"old Excel .xls"}},
		{name: "contacts", data: []byte("x"), parts: []string{"no file extension"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := tc.data
			if tc.file != "" {
				var err error
				if data, err = os.ReadFile(filepath.Join("testdata", tc.file)); err != nil {
					t.Fatal(err)
				}
			}
			var rd io.Reader = bytes.NewReader(data)
			if tc.plain {
				rd = onlyReader{rd}
			}
			if tc.reader != nil {
				rd = tc.reader(t)
			}
			o := opts()
			o.Sheet, o.Limits = tc.sheet, tc.lim
			r, err := Import(context.Background(), tc.name, rd, o)
			wantLimitError(t, r, err, tc.parts...)
		})
	}

	// The process is still healthy: a normal file imports fine afterwards.
	t.Run("healthy", func(t *testing.T) {
		t.Parallel()
		r, err := importFile(t, "header.xlsx", opts())
		if err != nil || len(r.Contacts) != 4 {
			t.Fatalf("after malformed inputs: %d contacts, %v", len(r.Contacts), err)
		}
	})
}

// TestMillionColumns is not parallel so that the allocation figure is its own.
func TestMillionColumns(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("Name,Phone\n")
	b.WriteString("Ravi,9876543210")
	for range 1_000_000 {
		b.WriteString(",1")
	}
	b.WriteString("\n")
	data := b.Bytes()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := Import(context.Background(), "wide.csv", bytes.NewReader(data), opts())
	runtime.ReadMemStats(&after)
	wantLimitError(t, r, err, "line 2 has 1,000,002 columns; a row may have at most 200 columns")
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("million-column row: %d bytes of input, %.1f MB allocated while refusing it", len(data), float64(alloc)/(1<<20))
	if alloc > 64<<20 {
		t.Errorf("allocated %d MB refusing a million-column row; want it bounded", alloc>>20)
	}
}

func TestCellTooLong(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("अ", 1001) // 1,001 characters, 3,003 bytes
	data := "Name,Phone,Note\nRavi,9876543210,ok\n" + long + ",9123456789,x\nSita,8765432109," + strings.Repeat("n", 1000) + "\n"
	r, err := Import(context.Background(), "long.csv", strings.NewReader(data), opts())
	if err != nil {
		t.Fatal(err)
	}
	want := []Reject{{Row: 3, Value: "9123456789", Reason: ReasonCellTooLong}}
	if len(r.Contacts) != 2 || !reflect.DeepEqual(r.Rejects, want) {
		t.Errorf("contacts %d, rejects %+v; want 2, %+v", len(r.Contacts), r.Rejects, want)
	}
	// Delimiters inside quotes do not count as columns.
	data = "Name,Phone\n\"" + strings.Repeat(",", 5000) + "\",9876543210\n"
	r, err = Import(context.Background(), "quoted-commas.csv", strings.NewReader(data), opts())
	if err != nil || len(r.Rejects) != 1 || r.Rejects[0].Reason != ReasonCellTooLong {
		t.Errorf("quoted commas: rejects %+v, err %v", r.Rejects, err)
	}
}

func TestTrailingEmptyColumns(t *testing.T) {
	t.Parallel()
	// Excel pads rows to the sheet's width; empty trailing cells do not count.
	pad := strings.Repeat(",", 500)
	data := "Name,Phone" + pad + "\nRavi,9876543210" + pad + "\n"
	r, err := Import(context.Background(), "padded.csv", strings.NewReader(data), opts())
	if err != nil || len(r.Contacts) != 1 {
		t.Fatalf("contacts %d, err %v", len(r.Contacts), err)
	}
}

func TestHeaderlessPhoneFirstAndImplicitHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		data, phoneCol string
		header         bool
		contacts       int
		name           string
	}{
		// No header: phone in the first column, no name.
		{"9876543210,Ravi\n9123456789,Sita\n", "col1", false, 2, ""},
		// Unknown header words: the first row has no digits in the phone column.
		{"Naam,Numero\nRavi,9876543210\nSita,9123456789\n", "Numero", true, 2, "Ravi"},
		// Header with a WhatsApp column preferred over "Phone".
		{"Customer Name,Phone,WhatsApp No.\nRavi,9123456789,9876543210\n", "WhatsApp No.", true, 1, "Ravi"},
		// "Alternate Mobile" loses to "Mobile".
		{"Alternate Mobile,Name,Mobile\n9123456789,Ravi,9876543210\n", "Mobile", true, 1, "Ravi"},
		// Tab-separated CSV.
		{"Name\tPhone\nRavi\t9876543210\n", "Phone", true, 1, "Ravi"},
		// Pipe-separated CSV with a Devanagari header.
		{"नाम|मोबाइल नंबर\nरवि|9876543210\n", "मोबाइल नंबर", true, 1, "रवि"},
	} {
		r, err := Import(context.Background(), "x.csv", strings.NewReader(tc.data), opts())
		if err != nil {
			t.Fatalf("%q: %v", tc.data, err)
		}
		if r.PhoneColumn != tc.phoneCol || r.HeaderFound != tc.header || len(r.Contacts) != tc.contacts ||
			r.Contacts[0].Name != tc.name || len(r.Rejects) != 0 {
			t.Errorf("%q: got column %q header %v contacts %+v rejects %+v", tc.data, r.PhoneColumn, r.HeaderFound, r.Contacts, r.Rejects)
		}
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range []string{"header.xlsx", "quoted.csv", "lines.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Import(ctx, f, bytes.NewReader(data), opts()); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", f, err)
		}
	}
	// Cancelled half-way through a long file.
	var b strings.Builder
	for i := range 50_000 {
		fmt.Fprintf(&b, "9%09d\n", i)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	var calls atomic.Int64
	o := opts()
	o.Normalize = func(s string) (string, error) { // called from several goroutines
		if calls.Add(1) == 1000 {
			cancel2()
		}
		return testNormalize(s)
	}
	if _, err := Import(ctx2, "long.csv", strings.NewReader(b.String()), o); !errors.Is(err, context.Canceled) {
		t.Errorf("mid-file cancel: err = %v", err)
	}
}

func TestNormalizeRequired(t *testing.T) {
	t.Parallel()
	if _, err := Import(context.Background(), "a.csv", strings.NewReader("9876543210"), Options{}); err == nil {
		t.Error("want an error without Normalize")
	}
}

func TestFindPhonesHook(t *testing.T) {
	t.Parallel()
	o := opts()
	o.FindPhones = func(text string) []string { return strings.Fields(text) }
	r, err := Import(context.Background(), "a.txt", strings.NewReader("9876543210 hello\n"), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Contacts) != 1 || len(r.Rejects) != 1 || r.Rejects[0].Value != "hello" {
		t.Errorf("contacts %+v rejects %+v", r.Contacts, r.Rejects)
	}
}

func TestFindPhones(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"98765 43210":                     {"98765 43210"},
		"+91 98765 43210":                 {"+91 98765 43210"},
		"(+91) 98765-43210":               {"+91 98765-43210"},
		"0091 98765 43210":                {"0091 98765 43210"},
		"91 9876543210":                   {"91 9876543210"},
		"9876543210 9123456789":           {"9876543210", "9123456789"},
		"98765 43210 91234 56789":         {"98765 43210", "91234 56789"},
		"12-05-2024 9876543210":           {"9876543210"},
		"1. 9876543210":                   {"9876543210"},
		"Qty 2 9876543210":                {"9876543210"},
		"call 9.87654321E+09 now":         {"9.87654321E+09"},
		"x9.87654321E+09":                 nil,
		"Order #12345 at 10:30, Rs 1500":  nil,
		"+91 98765 43210 +91 91234 56789": {"+91 98765 43210", "+91 91234 56789"},
		"Ravi: 98765\u00a043210":          {"98765 43210"},
	} {
		got := findPhones(plainSeparators(in))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("findPhones(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSniffDelimiter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]byte{
		"a,b,c\n1,2,3\n":                      ',',
		"a;b;c\n1;2;3\n":                      ';',
		"a\tb\n1\t2\n":                        '\t',
		"a|b\n1|2\n":                          '|',
		"9876543210\n9123456789\n":            ',',
		"Name;Phone\nSharma, Ravi;98765\n":    ';',
		"\"a;b\",c\n\"x;y\",z\n":              ',',
		"Name;Phone\n\"Rao, S\";9876543210\n": ';',
	} {
		if got := sniffDelimiter([]byte(in)); got != want {
			t.Errorf("sniffDelimiter(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzImport checks that no input makes Import panic or break its invariants.
// The seed corpus (the fixtures) runs with go test; fuzz with
// go test -fuzz FuzzImport ./commands/importer/
func FuzzImport(f *testing.F) {
	for _, name := range []string{"semicolon.csv", "quoted.csv", "bom.csv", "title.csv", "lines.txt", "freetext.txt", "unicode_text.txt", "header.xlsx", "notazip.xlsx"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Ext(name), data)
	}
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		o := opts()
		o.Limits = Limits{MaxBytes: 1 << 20, MaxRows: 1000, MaxCellLen: 100, MaxColumns: 20}
		r, err := Import(context.Background(), "f"+ext, bytes.NewReader(data), o)
		if err != nil {
			if !reflect.DeepEqual(r, Result{}) {
				t.Fatalf("error %v with a non-empty result", err)
			}
			return
		}
		if r.Rows != len(r.Contacts)+r.Duplicates+len(r.Rejects) {
			t.Fatalf("Rows %d != %d+%d+%d", r.Rows, len(r.Contacts), r.Duplicates, len(r.Rejects))
		}
		seen := map[string]bool{}
		for _, c := range r.Contacts {
			if seen[c.Phone] || !strings.HasPrefix(c.Phone, "+91") || c.Row < 1 {
				t.Fatalf("bad contact %+v", c)
			}
			seen[c.Phone] = true
		}
	})
}

// With OnContacts the contacts arrive in batches, in file order, and are
// the same as Result.Contacts without it.
func TestOnContactsStreamsTheSameContacts(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("name,phone\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "C%d,9%09d\n", i, i)
	}
	whole, err := Import(context.Background(), "big.csv", strings.NewReader(b.String()), opts())
	if err != nil {
		t.Fatal(err)
	}
	var streamed []Contact
	batches := 0
	o := opts()
	o.OnContacts = func(cs []Contact) error {
		batches++
		streamed = append(streamed, cs...)
		return nil
	}
	res, err := Import(context.Background(), "big.csv", strings.NewReader(b.String()), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contacts) != 0 || batches < 2 {
		t.Fatalf("streaming kept %d contacts in the result, %d batches", len(res.Contacts), batches)
	}
	if !reflect.DeepEqual(streamed, whole.Contacts) {
		t.Fatalf("streamed %d contacts differ from the %d collected", len(streamed), len(whole.Contacts))
	}
}
