package importer

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// pngWithText is a small PNG image whose metadata (a tEXt chunk) holds a
// phone number, as a photo's description or a screenshot's comment can.
func pngWithText(t testing.TB, text string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// Signature (8) and IHDR (4 length + 4 type + 13 data + 4 CRC) come
	// first; the text chunk goes right after them.
	at := 8 + 25
	data := append([]byte("Comment\x00"), text...)
	var chunk bytes.Buffer
	_ = binary.Write(&chunk, binary.BigEndian, uint32(len(data)))
	chunk.WriteString("tEXt")
	chunk.Write(data)
	_ = binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("tEXt"), data...)))
	return append(append(append([]byte{}, b[:at]...), chunk.Bytes()...), b[at:]...)
}

// workbook is an .xlsx with a Phone column of n numbers on its first sheet.
func workbook(t testing.TB, n int) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	_ = f.SetCellValue("Sheet1", "A1", "Name")
	_ = f.SetCellValue("Sheet1", "B1", "Phone")
	for i := range n {
		_ = f.SetCellValue("Sheet1", "A"+strconv.Itoa(i+2), "Customer "+strconv.Itoa(i))
		_ = f.SetCellValue("Sheet1", "B"+strconv.Itoa(i+2), fmt.Sprintf("9%09d", i))
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// repack copies a zip archive entry by entry, compressed data as it is,
// letting lie change what the archive declares about an entry.
func repack(t testing.TB, data []byte, lie func(*zip.FileHeader)) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		fh := f.FileHeader
		lie(&fh)
		raw, err := f.OpenRaw()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateRaw(&fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// onSheet applies change to the first worksheet's entry only.
func onSheet(change func(*zip.FileHeader)) func(*zip.FileHeader) {
	return func(fh *zip.FileHeader) {
		if fh.Name == "xl/worksheets/sheet1.xml" {
			change(fh)
		}
	}
}

// binaryJunk is random bytes with phone numbers strewn in.
func binaryJunk(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	for i := 100; i+12 < n; i += 500 {
		copy(b[i:], "\n9876543210\n")
	}
	return b
}

func utf16LE(s string, bom bool) []byte {
	var b bytes.Buffer
	if bom {
		b.Write([]byte{0xFF, 0xFE})
	}
	for _, u := range utf16.Encode([]rune(s)) {
		_ = binary.Write(&b, binary.LittleEndian, u)
	}
	return b.Bytes()
}

// docx is a zip archive with a Word document's parts.
func docx(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "word/document.xml"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("<x>9876543210</x>"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDetect(t *testing.T) {
	t.Parallel()
	late := append(bytes.Repeat([]byte("Ravi,9876543210\n"), 1000), "Sita,\x01 9123456789\n"...)
	for _, tc := range []struct {
		name string
		data []byte
		kind Kind
		what string
		line int
	}{
		{"csv", []byte("Name,Phone\nRavi,9876543210\n"), KindText, "plain text", 0},
		{"empty", nil, KindText, "plain text", 0},
		{"utf8 bom", []byte("\uFEFFPhone\r\n9876543210\r\n"), KindText, "plain text", 0},
		{"utf16 bom", utf16LE("Name\tMobile\r\nसीता\t9123456789\r\n", true), KindText, "plain text", 0},
		{"utf16 no bom", utf16LE("Name\tMobile\r\nRavi\t9123456789\r\n", false), KindText, "plain text", 0},
		{"windows-1252", []byte("Name;Phone\nJos\xe9;9876543210\n"), KindText, "plain text", 0},
		{"dos eof", []byte("9876543210\r\n\x1a"), KindText, "plain text", 0},
		{"eof mark inside", []byte("9876543210\r\n\x1a\n"), KindOther, "binary data", 0},
		{"png signature only", []byte("\x89PNG\r\n\x1a\n"), KindOther, "a PNG image", 0},
		{"cut-short png", []byte("\x89PNG"), KindOther, "a PNG image", 0},
		{"del", []byte("Phone\n98765\x7f43210\n"), KindOther, "binary data", 0},
		{"png", pngWithText(t, "Call 98765 43210"), KindOther, "a PNG image", 0},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"), KindOther, "a JPEG image", 0},
		{"pdf", []byte("%PDF-1.4\n1 0 obj << >> endobj\n9876543210\n"), KindOther, "a PDF document", 0},
		{"xlsx", workbook(t, 3), KindXLSX, "an Excel workbook", 0},
		{"docx", docx(t), KindOther, "a Word document", 0},
		{"zip", zipOf(t, "notes.txt"), KindOther, "a zip archive", 0},
		{"broken zip", []byte("PK\x03\x04 not really a zip"), KindOther, "a damaged zip archive", 0},
		{"ole", append(append([]byte{}, oleMagic...), make([]byte, 600)...), KindOther, "", 0},
		{"binary", binaryJunk(4096), KindOther, "binary data", 0},
		{"nul at the end", append([]byte("Phone\n9876543210\n"), 0), KindOther, "binary data", 0},
		{"control char late", late, KindOther, "not plain text", 1001},
		{"bad utf16", []byte{0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00}, KindOther, "binary data", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := Detect(tc.data)
			if c.Kind != tc.kind || tc.what != "" && c.What != tc.what || c.Line != tc.line {
				t.Fatalf("Detect = %+v, want kind %d, %q, line %d", c, tc.kind, tc.what, tc.line)
			}
		})
	}
}

func zipOf(t testing.TB, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("9876543210\n"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Files whose content is not what their name says are refused, whole, with
// a message naming what they are: nothing is imported, nothing rejected.
func TestLyingFiles(t *testing.T) {
	t.Parallel()
	photo := pngWithText(t, "Call 98765 43210")
	book := workbook(t, 2000)
	for _, tc := range []struct {
		name  string
		data  []byte
		parts []string
	}{
		{"photo.txt", photo, []string{"this file is a PNG image, not a contact list", "name ends in .txt"}},
		{"photo.csv", photo, []string{"this file is a PNG image, not a contact list"}},
		{"photo.tsv", photo, []string{"this file is a PNG image"}},
		{"photo.xlsx", photo, []string{"this file is a PNG image, not a contact list"}},
		{"book.csv", book, []string{"this file is an Excel workbook, not a CSV file", "name ending in .xlsx"}},
		{"book.txt", book, []string{"this file is an Excel workbook, not a text file"}},
		{"letter.xlsx", docx(t), []string{"this file is a Word document, not a contact list"}},
		{"letter.csv", docx(t), []string{"this file is a Word document"}},
		{"junk.csv", binaryJunk(64 << 10), []string{"this file holds binary data, not text"}},
		{"junk.txt", binaryJunk(64 << 10), []string{"binary data"}},
		{"doc.txt", []byte("%PDF-1.4\n9876543210\n"), []string{"this file is a PDF document"}},
		{"late.csv", append(bytes.Repeat([]byte("Ravi,9876543210\n"), 1000), "Sita,\x00 9123456789\n"...), []string{"binary data"}},
		{"stray.csv", append(bytes.Repeat([]byte("Ravi,9876543210\n"), 1000), "Sita,\x01 9123456789\n"...), []string{"line 1,001 holds a control character"}},
		{"short.xlsx", repack(t, book, onSheet(func(fh *zip.FileHeader) { fh.UncompressedSize64 /= 2 })), []string{"this .xlsx file is damaged", `"xl/worksheets/sheet1.xml"`}},
		{"long.xlsx", repack(t, book, onSheet(func(fh *zip.FileHeader) { fh.UncompressedSize64 += 100 })), []string{"this .xlsx file is damaged"}},
		{"crc.xlsx", repack(t, book, onSheet(func(fh *zip.FileHeader) { fh.CRC32 ^= 1 })), []string{"this .xlsx file is damaged"}},
		{"crc0.xlsx", repack(t, book, onSheet(func(fh *zip.FileHeader) { fh.CRC32 = 0 })), []string{"this .xlsx file is damaged"}},
		{"broken.xlsx", []byte("PK\x03\x04 not really a zip"), []string{"this .xlsx file is damaged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts()
			handed := 0
			o.OnContacts = func(cs []Contact) error { handed += len(cs); return nil }
			r, err := Import(context.Background(), tc.name, bytes.NewReader(tc.data), o)
			wantLimitError(t, r, err, tc.parts...)
			if handed != 0 {
				t.Errorf("%d contacts handed on before the refusal", handed)
			}
		})
	}
	// The same workbook, honest, imports whole.
	r, err := Import(context.Background(), "book.xlsx", bytes.NewReader(book), opts())
	if err != nil || len(r.Contacts) != 2000 {
		t.Fatalf("honest workbook: %d contacts, %v", len(r.Contacts), err)
	}
}

// A part bigger than the unzipped-size limit is refused before it is read,
// and no more than the limit is unpacked by the check.
func TestCheckZipBounded(t *testing.T) {
	t.Parallel()
	book := workbook(t, 2000)
	lied := repack(t, book, onSheet(func(fh *zip.FileHeader) { fh.UncompressedSize64 = 300 << 20 }))
	r, err := Import(context.Background(), "big.xlsx", bytes.NewReader(lied), opts())
	wantLimitError(t, r, err, "unpacks to more than 200 MB")
}

// Tab-separated lists are read from .tsv, .txt and .csv files alike.
func TestTabSeparated(t *testing.T) {
	t.Parallel()
	list := "Name\tPhone\tCity\nSharma, Ravi\t98765 43210\tPune, MH\nSita\t9123456789\tDelhi\n"
	for _, name := range []string{"list.tsv", "list.TSV", "list.txt", "list.csv"} {
		r, err := Import(context.Background(), name, strings.NewReader(list), opts())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(phones(r.Contacts), []string{"+919876543210", "+919123456789"}) || r.Contacts[0].Name != "Sharma, Ravi" || r.Contacts[0].Vars["City"] != "Pune, MH" {
			t.Errorf("%s: %+v", name, r.Contacts)
		}
	}
	// Excel's "Unicode Text" (UTF-16 with tabs) saved as .tsv.
	r, err := Import(context.Background(), "unicode.tsv", bytes.NewReader(utf16LE("Name\tMobile\r\nसीता\t9123456789\r\n", true)), opts())
	if err != nil || len(r.Contacts) != 1 || r.Contacts[0].Name != "सीता" {
		t.Fatalf("utf-16 .tsv: %+v, %v", r, err)
	}
	// A .tsv without a tab is read with the delimiter it has.
	r, err = Import(context.Background(), "commas.tsv", strings.NewReader("Name,Phone\nRavi,9876543210\n"), opts())
	if err != nil || len(r.Contacts) != 1 || r.Contacts[0].Name != "Ravi" {
		t.Fatalf("commas in a .tsv: %+v, %v", r, err)
	}
}

// A row padded with empty cells far past the limit is read; a row with
// too many filled cells is refused with its real number of columns.
func TestColumnsCounted(t *testing.T) {
	t.Parallel()
	padded := "Name,Phone\nRavi,9876543210" + strings.Repeat(",", 20_000) + "\n"
	r, err := Import(context.Background(), "padded.csv", strings.NewReader(padded), opts())
	if err != nil || len(r.Contacts) != 1 {
		t.Fatalf("padded row: %+v, %v", r, err)
	}
	wide := "Name,Phone\nRavi,9876543210" + strings.Repeat(",x", 19_998) + "\nSita,9123456789\n"
	r, err = Import(context.Background(), "wide.csv", strings.NewReader(wide), opts())
	wantLimitError(t, r, err, "line 2 has 20,000 columns; a row may have at most 200 columns")
	quoted := "Name,Phone\n\"Ravi\nKumar\",9876543210" + strings.Repeat(",\"x,y\"", 4_999) + "\n"
	r, err = Import(context.Background(), "quoted.csv", strings.NewReader(quoted), opts())
	wantLimitError(t, r, err, "line 2 has 5,001 columns")
}

// A header row with nothing under it is a result with no rows, not an
// error: the caller says that no contacts were found.
func TestHeaderOnly(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{"h.csv": "Name,Phone\n", "h.tsv": "Name\tPhone\n"} {
		r, err := Import(context.Background(), name, strings.NewReader(data), opts())
		if err != nil || r.Rows != 0 || !r.HeaderFound || len(r.Contacts)+len(r.Rejects) != 0 {
			t.Errorf("%s: %+v, %v", name, r, err)
		}
	}
}

// hasBinarySignature is the test's own, simpler idea of data that is not
// text: a known binary signature at the start.
func hasBinarySignature(data []byte) bool {
	for _, sig := range []string{"\x89PNG\r\n\x1a\n", "\xff\xd8\xff", "GIF87a", "GIF89a", "%PDF-", "PK\x03\x04", "PK\x05\x06", string(oleMagic), "\x1f\x8b", "7z\xbc\xaf\x27\x1c", "Rar!\x1a\x07", "\x7fELF", "%!PS"} {
		if bytes.HasPrefix(data, []byte(sig)) {
			return true
		}
	}
	return false
}

// FuzzDetect checks the type detection on any bytes: it never panics, never
// takes binary data for text (what it calls text decodes to valid UTF-8
// without NULs or control characters, and starts with no binary
// signature), and Import refuses, whole, a text-named file that is not
// text. The seeds are the lying files: a PNG with a number in its
// metadata, workbooks whose parts lie about their size or checksum, binary
// data with a .csv name. Run with
// go test -run '^$' -fuzz '^FuzzDetect$' -fuzztime 10s ./commands/importer/
func FuzzDetect(f *testing.F) {
	book := workbook(f, 20)
	for _, seed := range []struct {
		ext  string
		data []byte
	}{
		{".txt", pngWithText(f, "Call 98765 43210")},
		{".csv", pngWithText(f, "9876543210")},
		{".xlsx", repack(f, book, onSheet(func(fh *zip.FileHeader) { fh.UncompressedSize64 /= 2 }))},
		{".xlsx", repack(f, book, onSheet(func(fh *zip.FileHeader) { fh.CRC32 ^= 1 }))},
		{".csv", book},
		{".csv", binaryJunk(2048)},
		{".csv", []byte("Name,Phone\nRavi,9876543210\n")},
		{".txt", utf16LE("Name\tMobile\r\nRavi\t9123456789\r\n", false)},
		{".tsv", []byte("Name\tPhone\nJos\xe9\t9876543210\n")},
		{".csv", []byte("9876543210\r\n\x1a")},
		{".xlsx", docx(f)},
	} {
		f.Add(seed.ext, seed.data)
	}
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		c, text := detect(data)
		if c != Detect(data) {
			t.Fatalf("Detect and detect disagree: %+v, %+v", Detect(data), c)
		}
		if c.What == "" || c.Kind < KindText || c.Kind > KindOther {
			t.Fatalf("Detect = %+v", c)
		}
		switch c.Kind {
		case KindText:
			if hasBinarySignature(data) {
				t.Fatalf("data with a binary signature taken for text: %q", data[:min(len(data), 16)])
			}
			if !utf8.Valid(text) || bytes.IndexByte(text, 0) >= 0 {
				t.Fatalf("text is not clean UTF-8: %q", text)
			}
			if i := controlAt(text); i >= 0 {
				t.Fatalf("text holds control character %#x at %d", text[i], i)
			}
			for i, b := range text {
				if b < 0x20 && !strings.ContainsRune("\t\n\v\f\r\x1a", rune(b)) || b == 0x7F {
					t.Fatalf("text holds control character %#x at %d", b, i)
				}
			}
		case KindXLSX:
			zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("a workbook that is no zip archive: %v", err)
			}
			types := false
			for _, zf := range zr.File {
				types = types || strings.EqualFold(zf.Name, "[Content_Types].xml")
			}
			if !types {
				t.Fatal("a workbook without [Content_Types].xml")
			}
		}
		if c.Line > 0 && c.Kind == KindText {
			t.Fatalf("text with a bad line: %+v", c)
		}
		o := opts()
		o.Limits = Limits{MaxBytes: 1 << 20, MaxRows: 1000, MaxCellLen: 100, MaxColumns: 20, MaxUnzippedBytes: 8 << 20}.withDefaults()
		switch ext = strings.ToLower(ext); ext {
		case ".csv", ".tsv", ".txt":
			// A text name with content that is not text is refused, whole.
			r, err := Import(context.Background(), "f"+ext, bytes.NewReader(data), o)
			if err != nil {
				if !reflect.DeepEqual(r, Result{}) {
					t.Fatalf("error %v with a non-empty result", err)
				}
				return
			}
			if c.Kind != KindText {
				t.Fatalf("%s content %+v was imported: %+v", ext, c, r)
			}
		case ".xlsx":
			// The archive check (the part before excelize, which FuzzImport
			// covers) refuses what it refuses with a message.
			if c.Kind == KindXLSX {
				var le *LimitError
				if err := checkZip(context.Background(), data, o.Limits); err != nil && !errors.As(err, &le) {
					t.Fatalf("checkZip: %v (%T)", err, err)
				}
			}
		}
	})
}
