package commands_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/commands"
)

// photoWithNumber is a PNG image whose metadata (a tEXt chunk) holds a
// phone number.
func photoWithNumber(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	data := []byte("Comment\x00Call 98765 43210 for orders")
	var chunk bytes.Buffer
	_ = binary.Write(&chunk, binary.BigEndian, uint32(len(data)))
	chunk.WriteString("tEXt")
	chunk.Write(data)
	_ = binary.Write(&chunk, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("tEXt"), data...)))
	at := 8 + 25 // after the signature and the IHDR chunk
	return append(append(append([]byte{}, b[:at]...), chunk.Bytes()...), b[at:]...)
}

// book is a workbook with the given sheets, in order, each given its rows.
func book(t *testing.T, sheets []string, rows map[string][][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, name := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range rows[name] {
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := f.SetSheetRow(name, cell, &row); err != nil {
				t.Fatal(err)
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// phoneRows is a header and n numbered contacts, numbers from 9100000000
// + from on.
func phoneRows(from, n int) [][]any {
	rows := [][]any{{"Name", "Phone"}}
	for i := from; i < from+n; i++ {
		rows = append(rows, []any{fmt.Sprintf("Customer %d", i), fmt.Sprintf("9%09d", 100000000+i)})
	}
	return rows
}

// lyingSize is the workbook with its first sheet's declared uncompressed
// size halved (the compressed data is left as it is).
func lyingSize(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		fh := f.FileHeader
		if fh.Name == "xl/worksheets/sheet1.xml" {
			fh.UncompressedSize64 /= 2
		}
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

func (f *fixture) contacts(t *testing.T, id int64) int64 {
	t.Helper()
	s, err := f.db.CampaignStats(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s.Total
}

// A file whose content is not what its name says gets a reply naming what
// it is; nothing is imported and no rejects file comes back.
func TestImportRefusesLyingFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.say(t, "telegram:2", "/campaign new Lies")
	photo := photoWithNumber(t)
	workbook := book(t, []string{"Sheet1"}, map[string][][]any{"Sheet1": phoneRows(0, 300)})
	junk := make([]byte, 8<<10)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range junk {
		junk[i] = byte(r.UintN(256))
	}
	copy(junk[100:], "\n9876543210\n")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"photo.txt", photo, "photo.txt: this file is a PNG image, not a contact list"},
		{"photo.csv", photo, "photo.csv: this file is a PNG image, not a contact list"},
		{"photo.xlsx", photo, "this file is a PNG image, not a contact list"},
		{"list.csv", workbook, "this file is an Excel workbook, not a CSV file, although its name ends in .csv; send it again with a name ending in .xlsx."},
		{"list.txt", workbook, "this file is an Excel workbook, not a text file"},
		{"junk.csv", junk, "this file holds binary data, not text"},
		{"lying.xlsx", lyingSize(t, workbook), `this .xlsx file is damaged: its part "xl/worksheets/sheet1.xml" does not unpack`},
	} {
		replies := f.sayWith(t, "telegram:2", "/import 1", tc.name, tc.data)
		if len(replies) != 1 || !strings.Contains(replies[0].Text, tc.want) || !strings.HasSuffix(replies[0].Text, ". Nothing was imported.") {
			t.Errorf("%s: %+v", tc.name, replies)
			continue
		}
		if replies[0].File != nil {
			t.Errorf("%s: a file came back: %s", tc.name, replies[0].File.Name)
		}
		if n := f.contacts(t, 1); n != 0 {
			t.Fatalf("%s: %d contacts imported", tc.name, n)
		}
	}
	// The honest workbook imports.
	replies := f.sayWith(t, "telegram:2", "/import 1", "list.xlsx", workbook)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, `Imported list.xlsx (sheet "Sheet1") into campaign #1: 300 accepted, 0 duplicates, 0 rejected, 0 suppressed (opted out).`) {
		t.Fatalf("honest workbook: %+v", replies)
	}
}

func TestImportReplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.say(t, "telegram:2", "/campaign new Replies")
	reply := func(text, name, data string) (string, bool) {
		t.Helper()
		replies := f.sayWith(t, "telegram:2", text, name, []byte(data))
		if len(replies) != 1 {
			t.Fatalf("%s %s: %+v", text, name, replies)
		}
		return replies[0].Text, replies[0].File != nil
	}

	// A refusal is a sentence with its full stop before "Nothing was
	// imported."
	if got, _ := reply("/import 1", "empty.csv", " \n"); got != "empty.csv: the file is empty. Nothing was imported." {
		t.Errorf("empty: %q", got)
	}
	if got, _ := reply("/import 1", "list.pdf", "%PDF-1.4"); !strings.HasSuffix(got, "file. Nothing was imported.") {
		t.Errorf("pdf: %q", got)
	}

	// A header and nothing under it: no contacts found, and what a list
	// looks like.
	for _, name := range []string{"header.csv", "header.tsv"} {
		got, file := reply("/import 1", name, "Name,Phone\r\n")
		if !strings.HasPrefix(got, "No contacts found in "+name+": it has a header row but no rows under it. Nothing was imported.") ||
			!strings.Contains(got, "Name,Phone\nRavi Kumar,98765 43210") || file || strings.Contains(got, "0 accepted") {
			t.Errorf("%s: %q (file %v)", name, got, file)
		}
	}
	got, file := reply("/import 1", "names.csv", "Name,Phone\nRavi,\nSita,n/a\n")
	if !strings.HasPrefix(got, "No phone numbers found in names.csv: none of its 2 rows holds one. Nothing was imported.") || file {
		t.Errorf("no numbers: %q (file %v)", got, file)
	}
	if got, _ := reply("/import 1", "notes.txt", "Call the supplier on Monday.\n"); !strings.HasPrefix(got, "No phone numbers found in notes.txt. Nothing was imported.") {
		t.Errorf("no numbers in text: %q", got)
	}

	// Tab-separated lists: .tsv, and tabs in .txt and .csv.
	tsv := "Name\tPhone\nSharma, Ravi\t98765 43210\nSita\t9123456789\n"
	for i, name := range []string{"list.tsv", "list.txt", "list.csv"} {
		f.say(t, "telegram:2", "/campaign new Tabs "+name)
		id := i + 2
		if got, _ := reply(fmt.Sprintf("/import %d", id), name, tsv); !strings.Contains(got, "2 accepted, 0 duplicates, 0 rejected") {
			t.Errorf("%s: %q", name, got)
		}
	}

	// Counts are worded: one duplicate, thousands with separators.
	var b strings.Builder
	b.WriteString("phone\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "9%09d\n", 200000000+i)
	}
	b.WriteString("9200000000\n")
	f.say(t, "telegram:2", "/campaign new Many")
	if got, _ := reply("/import 5", "many.csv", b.String()); !strings.Contains(got, ": 1,500 accepted, 1 duplicate, 0 rejected, 0 suppressed (opted out).") {
		t.Errorf("counts: %q", got)
	}

	// A very wide row: its real number of columns and the real limit.
	wide := "Name,Phone\nRavi,9876543210" + strings.Repeat(",x", 19_998) + "\n"
	if got, _ := reply("/import 1", "wide.csv", wide); got != "wide.csv: line 2 has 20,000 columns; a row may have at most 200 columns. Nothing was imported." {
		t.Errorf("wide: %q", got)
	}
	if n := f.contacts(t, 1); n != 0 {
		t.Fatalf("%d contacts in campaign 1", n)
	}
}

// A workbook whose first sheet has no numbers names its other sheets and
// how to pick one; names with spaces are picked in straight or curly
// quotes.
func TestImportSheetByName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.say(t, "telegram:2", "/campaign new Stores")
	data := book(t, []string{"Summary", "Mumbai Store", "Delhi Store"}, map[string][][]any{
		"Summary":      {{"Diwali offer: store lists"}, {"Prepared by Ravi"}},
		"Mumbai Store": phoneRows(0, 3),
		"Delhi Store":  phoneRows(100, 5),
	})
	replies := f.sayWith(t, "telegram:2", "/import 1", "stores.xlsx", data)
	want := `stores.xlsx: the first sheet, "Summary", has no phone numbers. The workbook also has the sheets "Mumbai Store" and "Delhi Store"; to import one, name it in quotes after the command, as in sheet="Mumbai Store", and send the file again. Nothing was imported.`
	if len(replies) != 1 || replies[0].Text != want || replies[0].File != nil {
		t.Fatalf("first sheet without numbers: %+v\nwant %q", replies, want)
	}
	empty := book(t, []string{"Cover", "List"}, map[string][][]any{"List": phoneRows(0, 2)})
	if replies := f.sayWith(t, "telegram:2", "/import 1", "cover.xlsx", empty); len(replies) != 1 || !strings.Contains(replies[0].Text, `the first sheet, "Cover", is empty. The workbook also has the sheet "List"`) {
		t.Fatalf("empty first sheet: %+v", replies)
	}
	if n := f.contacts(t, 1); n != 0 {
		t.Fatalf("%d contacts imported", n)
	}
	for _, tc := range []struct{ caption, want string }{
		{`/import 1 sheet="Mumbai Store"`, `Imported stores.xlsx (sheet "Mumbai Store") into campaign #1: 3 accepted`},
		{`/import 1 sheet=“Delhi Store”`, `(sheet "Delhi Store") into campaign #1: 5 accepted`},
		{`/import 1 SHEET="mumbai store"`, `(sheet "Mumbai Store") into campaign #1: 0 accepted, 3 duplicates`},
		{`/import 1 sheet=Mumbai Store`, `Put a sheet name with spaces in quotes: send /import 1 sheet="Mumbai Store" with the file.`},
		{`/import 1 sheet="Mumbai Store`, `The quote after sheet= is not closed: send /import 1 sheet="Mumbai Store" with the file.`},
		{`/import 1 sheet=""`, `sheet= needs the name of a sheet of the workbook`},
		{`/import 1 Mumbai`, `"Mumbai" is not understood here: the caption is /import 1, with sheet="<sheet name>" after it to pick a sheet of a workbook.`},
		{`/import 1 sheet="Pune Store"`, `stores.xlsx: there is no sheet named "Pune Store"; the workbook has the sheets "Summary", "Mumbai Store" and "Delhi Store". Nothing was imported.`},
	} {
		replies := f.sayWith(t, "telegram:2", tc.caption, "stores.xlsx", data)
		if len(replies) != 1 || !strings.Contains(replies[0].Text, tc.want) {
			t.Errorf("%s: %+v\nwant %q", tc.caption, replies, tc.want)
		}
	}
	if n := f.contacts(t, 1); n != 8 {
		t.Fatalf("%d contacts, want 8", n)
	}
}

// Quoted names with spaces work for every named argument and name:
// campaign names, saved messages in /campaign set, /send and /set.
func TestNamesWithSpaces(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if reply := f.say(t, "telegram:2", `/campaign new "Diwali offer"`); !strings.Contains(reply, `Campaign #1 "Diwali offer" created`) {
		t.Fatalf("new: %q", reply)
	}
	if reply := f.say(t, "telegram:2", `/campaign new “Holi sale”`); !strings.Contains(reply, `Campaign #2 "Holi sale" created`) {
		t.Fatalf("new, curly quotes: %q", reply)
	}
	if _, err := f.db.CreateSavedMessage(ctx, "Diwali  offer", "text", "Diwali offer: 20% off", 0, "t"); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{`/campaign set 1 message="Diwali  offer" interval=5s`, `/campaign set 2 message=“Diwali  offer”`} {
		if reply := f.say(t, "telegram:2", text); !strings.Contains(reply, "set message=Diwali  offer") {
			t.Errorf("%s: %q", text, reply)
		}
	}
	if reply := f.say(t, "telegram:2", `/send 98765 43210 message="Diwali  offer"`); !strings.HasPrefix(reply, "Queued #1 for +919876543210") {
		t.Fatalf("send with message=: %q", reply)
	}
	if _, err := f.db.CreateSavedMessage(ctx, "Holi sale", "text", "Holi sale: 20% off", 0, "t"); err != nil {
		t.Fatal(err)
	}
	if reply := f.say(t, "telegram:2", `/send 91234 56789 “Holi sale”`); !strings.HasPrefix(reply, "Queued #2 for +919123456789") {
		t.Fatalf("send with a quoted name: %q", reply)
	}
	for _, it := range f.items(t) {
		if it.Content.SavedMessageID == 0 {
			t.Errorf("item %d sends %+v, not a saved message", it.ID, it.Content)
		}
	}
	if reply := f.say(t, "telegram:3", `/set intake.message “Holi sale”`); !strings.HasPrefix(reply, "intake.message is now Holi sale.") {
		t.Fatalf("set intake.message: %q", reply)
	}
}

func TestSplitArgs(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		`12 sheet="Mumbai Store"`:                  {"12", "sheet=Mumbai Store"},
		`12 sheet=“Mumbai  Store” x=1`:             {"12", "sheet=Mumbai  Store", "x=1"},
		`12 sheet=„Mumbai Store“`:                  {"12", "sheet=Mumbai Store"},
		`12 sheet="Mumbai Store`:                   {"12", `sheet="Mumbai`, "Store"},
		`1 template="Order update":en params=a,b`:  {"1", "template=Order update:en", "params=a,b"},
		`1 message=""`:                             {"1", "message="},
		`"Diwali offer"`:                           {`"Diwali`, `offer"`},
		"  a=\"x\ny\"  b ":                         {"a=x\ny", "b"},
		``:                                         nil,
		`sheet="a" sheet="b c"`:                    {"sheet=a", "sheet=b c"},
		`1 message= "Diwali offer"`:                {"1", "message=", `"Diwali`, `offer"`},
		`1 flow="Order flow" gateway=meta`:         {"1", "flow=Order flow", "gateway=meta"},
		`1 =“x y”`:                                 {"1", "=“x", "y”"},
		`/import 3 SHEET="Mumbai Store" extra`:     {"/import", "3", "SHEET=Mumbai Store", "extra"},
		"1 sheet=\"\u00a0Mumbai Store\u00a0\" end": {"1", "sheet=Mumbai Store", "end"},
	} {
		if got := commands.SplitArgs(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitArgs(%q) = %#v, want %#v", in, got, want)
		}
	}
	for text, want := range map[string]commands.Command{
		`/import 12 sheet="Mumbai Store"`:         {Name: "import", Args: []string{"12", "sheet=Mumbai Store"}},
		`/import@ShopBot 12 sheet=“Mumbai Store”`: {Name: "import", Args: []string{"12", "sheet=Mumbai Store"}},
		`/send 98765 43210 message="Offer 2024"`:  {Name: "send", Args: []string{"98765 43210", "message=Offer 2024"}},
		`/send 98765 43210 Offer 2024`:            {Name: "send", Args: []string{"98765 43210", "message=Offer 2024"}},
		`/campaign new "Diwali offer"`:            {Name: "campaign", Sub: "new", Args: []string{"Diwali offer"}},
		`/campaign new Diwali "offer"`:            {Name: "campaign", Sub: "new", Args: []string{"Diwali", `"offer"`}},
		`/campaign set 1 flow="Order flow"`:       {Name: "campaign", Sub: "set", Args: []string{"1", "flow=Order flow"}},
	} {
		got, err := commands.Parse(text)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %#v, %v; want %#v", text, got, err, want)
		}
	}
}
