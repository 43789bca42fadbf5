//go:build ignore

// gen_fixtures writes the committed test fixtures under testdata/.
// Run from this directory: go run gen_fixtures.go
//
// The expected counts for each fixture are in importer_test.go; change both
// together.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

const dir = "testdata"

func main() {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	headerXLSX()
	noHeaderXLSX()
	numericXLSX()
	excelFloatsXLSX()
	emptyMergedXLSX()
	twoSheetsXLSX()
	writeText("semicolon.csv", "Name;Phone;City\n"+
		"Sharma, Ravi;98765 43210;Pune\n"+
		"Devi, Sita;+91 91234 56789;Mumbai, MH\n"+
		"Khan, Amir;12345;Delhi\n"+
		"\"Rao; Suresh\";8765432109;Hyderabad\n")
	writeText("bom.csv", "\uFEFFPhone,Name\r\n"+
		"9876543210,Ravi\r\n"+
		"9123456789,Sita\r\n"+
		"9876543210,Ravi again\r\n")
	writeText("quoted.csv", `"Customer Name","Mobile","Address"
"Sharma, Ravi","98765 43210","Shop 5, MG Road"
"Devi, Sita","9123456789","Flat 2,
Second Floor, Andheri"
"Kumar, ""Bunty""",8765432109,Pune
"No Phone, Person",,Agra
`)
	writeText("title.csv", "Diwali Offer List,,\n"+
		",,\n"+
		"Name,Mobile No,City\n"+
		"Ravi,9876543210,Delhi\n"+
		"Sita,9123456789,\n")
	writeText("lines.txt", "9876543210\n"+
		"+91 91234 56789\n"+
		"\n"+
		"098765 43211\n"+
		"12345\n"+
		"9876543210\n"+
		"9.87654321E+09\n"+
		"8765432109\n")
	writeText("freetext.txt", "Hi team, please add these customers for the Diwali offer:\n"+
		"Ravi Kumar - 98765 43210, Sita +91-91234-56789.\n"+
		"Order #12345 was delivered on 12/05/2024 at 10:30, amount Rs 15000.\n"+
		"Call Amit on 0876 543 2109 or 9.12345678E+09 (from the Excel sheet)\n"+
		"Numbers: 9876543210 9988776655 70123 45678\n"+
		"Old number 12345 67890 is wrong\n"+
		"Thanks!\n")
	unicodeText()
	zipBomb()
	notAZip()
	writeText("empty.csv", "")
}

func writeText(name, s string) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
		log.Fatal(err)
	}
}

func save(f *excelize.File, name string) {
	b, err := f.WriteToBuffer()
	must(err)
	must(os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644))
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func setRows(f *excelize.File, sheet string, first int, rows [][]any) {
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, first+i)
		must(err)
		must(f.SetSheetRow(sheet, cell, &r))
	}
}

// header.xlsx: header row, text numbers in several spellings, a duplicate
// and an invalid number.
func headerXLSX() {
	f := excelize.NewFile()
	setRows(f, "Sheet1", 1, [][]any{
		{"Name", "Mobile No.", "City"},
		{"Ravi Kumar", "9876543210", "Delhi"},
		{"Sita Devi", "+91 91234 56789", "Mumbai"},
		{"Amit", "098765 43211", "Pune"},
		{"Ravi again", "+91-98765-43210", "Delhi"}, // duplicate of row 2
		{"Bad", "12345", "Agra"},                   // reject
		{"Priya", "7012345678"},
	})
	save(f, "header.xlsx")
}

// noheader.xlsx: no header; the phone column (B) is found from the data.
func noHeaderXLSX() {
	f := excelize.NewFile()
	setRows(f, "Sheet1", 1, [][]any{
		{"Ravi", "9876543210", "Delhi"},
		{"Sita", "9123456789", "Mumbai"},
		{"Amit", "8765432109", "Pune"},
		{"Neha", "12345", "Agra"},       // reject
		{"Ravi", "9876543210", "Delhi"}, // duplicate
		{"Om", "6123456789", "Jaipur"},
	})
	save(f, "noheader.xlsx")
}

// numeric.xlsx: numbers stored as numbers (one displayed in scientific
// format) and as text.
func numericXLSX() {
	f := excelize.NewFile()
	setRows(f, "Sheet1", 1, [][]any{
		{"Customer Name", "Phone Number", "Amount"},
		{"A", 9876543210, 1500},
		{"B", "9123456789"},
		{"C", 8765432109},
		{"D", 919988776655},
		{"E", 9876543210.0}, // duplicate of row 2, stored as a float
	})
	sci, err := f.NewStyle(&excelize.Style{NumFmt: 11}) // 0.00E+00
	must(err)
	must(f.SetCellStyle("Sheet1", "B4", "B4", sci))
	save(f, "numeric.xlsx")
}

// excel_floats.xlsx: numbers mangled by Excel into scientific notation and
// saved as text, plus one float-valued numeric cell.
func excelFloatsXLSX() {
	f := excelize.NewFile()
	setRows(f, "Sheet1", 1, [][]any{
		{"Name", "Mobile"},
		{"A", "9.87654321E+09"},
		{"B", "9.12345678E+09"},
		{"C", "9.19876543211E+11"},
		{"D", "9.88E+09"},     // rounded: reject
		{"E", "9.87654321E9"}, // duplicate of row 2
		{"F", 9.87654322e9},   // numeric
	})
	save(f, "excel_floats.xlsx")
}

// empty_merged.xlsx: empty rows, merged cells, rows without a phone number,
// a styled but empty row.
func emptyMergedXLSX() {
	f := excelize.NewFile()
	const s = "Sheet1"
	setRows(f, s, 1, [][]any{{"Name", "Phone", "Area"}, {"Ravi", "9876543210", "North"}})
	setRows(f, s, 5, [][]any{
		{"Sita", "9123456789", "South"},
		{nil, "8765432109", "South"},
		{"Amit", nil, "East"}, // reject: no phone number
		{"Neha", "7012345678", "West"},
		{"Om", nil, "West"}, // merged phone area: reject
	})
	must(f.MergeCell(s, "A5", "A6"))
	must(f.MergeCell(s, "B8", "B9"))
	style, err := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Color: []string{"FFFF00"}, Pattern: 1}})
	must(err)
	must(f.SetCellStyle(s, "A10", "C10", style))
	setRows(f, s, 12, [][]any{{"Last", "6123456789"}})
	save(f, "empty_merged.xlsx")
}

// two_sheets.xlsx: notes on the first sheet, contacts on "Contacts".
func twoSheetsXLSX() {
	f := excelize.NewFile()
	must(f.SetSheetName("Sheet1", "Notes"))
	setRows(f, "Notes", 1, [][]any{{"Contact list for Diwali offers"}, {"Prepared by Ravi"}})
	_, err := f.NewSheet("Contacts")
	must(err)
	setRows(f, "Contacts", 1, [][]any{
		{"Name", "WhatsApp"},
		{"Ravi", "9876543210"},
		{"Sita", "9123456789"},
		{"Ravi", "98765 43210"}, // duplicate
		{"Amit", "8765432109"},
	})
	save(f, "two_sheets.xlsx")
}

// unicode_text.txt: what Excel's "Unicode Text" writes: UTF-16LE with a BOM,
// tab-separated, CRLF.
func unicodeText() {
	s := "Name\tMobile\r\nRavi\t9876543210\r\nसीता\t9123456789\r\n"
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xFE})
	for _, u := range utf16.Encode([]rune(s)) {
		must(binary.Write(&b, binary.LittleEndian, u))
	}
	must(os.WriteFile(filepath.Join(dir, "unicode_text.txt"), b.Bytes(), 0o644))
}

// zipbomb.xlsx: a small archive whose sheet inflates from ~50 KB to 50 MB
// of zeros.
func zipBomb() {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("[Content_Types].xml")
	must(err)
	_, err = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"></Types>`))
	must(err)
	w, err = zw.Create("xl/worksheets/sheet1.xml")
	must(err)
	zeros := make([]byte, 1<<20)
	for range 50 {
		_, err = w.Write(zeros)
		must(err)
	}
	must(zw.Close())
	must(os.WriteFile(filepath.Join(dir, "zipbomb.xlsx"), b.Bytes(), 0o644))
}

// notazip.xlsx: a PNG header and random bytes, renamed to .xlsx.
func notAZip() {
	r := rand.New(rand.NewPCG(1, 2))
	b := []byte("\x89PNG\r\n\x1a\n")
	for range 4096 {
		b = append(b, byte(r.UintN(256)))
	}
	must(os.WriteFile(filepath.Join(dir, "notazip.xlsx"), b, 0o644))
}
