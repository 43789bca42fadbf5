package importer

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/store/words"
)

const (
	// Entries smaller than this are not checked for their compression
	// ratio: a tiny, very repetitive XML part (styles, an empty sheet) can
	// compress well without being dangerous.
	ratioCheckFloor = 1 << 20
	// maxZipEntries bounds the number of parts of a workbook; real ones have
	// a few dozen.
	maxZipEntries = 10_000
	// xlsxXMLInMemory is the largest worksheet or shared-strings part that
	// excelize keeps in memory; larger ones are unpacked to a temporary file
	// and streamed from there.
	xlsxXMLInMemory = 16 << 20
)

// oleMagic starts Compound File Binary documents: old .xls workbooks and
// password-protected (encrypted) .xlsx files.
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

const notXLSX = "this is not a valid .xlsx file; open it in Excel, save it as .xlsx (Excel Workbook) and send it again"

// checkZip inspects an .xlsx archive before excelize opens it: the central
// directory first (declared sizes are enforced by archive/zip while
// reading, so refusing large declared totals and extreme ratios stops zip
// bombs), then every part is read through once, which must give exactly
// its declared size and checksum. excelize does not report a part that
// does not unpack cleanly (it would read what it can of a damaged sheet),
// so a corrupt archive is refused here, whole.
func checkZip(ctx context.Context, data []byte, lim Limits) error {
	if bytes.HasPrefix(data, oleMagic) {
		return limitErr("this .xlsx file is password-protected or is an old .xls workbook; remove the password or save it as .xlsx (Excel Workbook) and send it again")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return limitErr(notXLSX)
	}
	if len(zr.File) > maxZipEntries {
		return limitErr("the .xlsx file has %s parts; a workbook has far fewer, so it was not opened", words.Number(len(zr.File)))
	}
	var total uint64
	contentTypes := false
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > uint64(lim.MaxUnzippedBytes) || total+u > uint64(lim.MaxUnzippedBytes) {
			return limitErr("the .xlsx file unpacks to more than %s; the limit is %s", words.SizeLimit(lim.MaxUnzippedBytes), words.SizeLimit(lim.MaxUnzippedBytes))
		}
		total += u
		if u >= ratioCheckFloor && (c == 0 || u/c > uint64(lim.MaxCompressionRatio)) {
			ratio := "an unlimited"
			if c > 0 {
				ratio = strconv.FormatUint(u/c, 10) + "×"
			}
			return limitErr("the .xlsx file looks like a zip bomb (part %q would unpack to %s its size; the limit is %d×), so it was not opened", words.Cut(f.Name, 60), ratio, lim.MaxCompressionRatio)
		}
		if strings.EqualFold(f.Name, "[Content_Types].xml") {
			contentTypes = true
		}
	}
	if !contentTypes {
		return limitErr(notXLSX)
	}
	// The declared sizes add up to at most MaxUnzippedBytes, and no part
	// is read past its declared size: this unpacks at most that much.
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 {
			continue // a folder: nothing to unpack
		}
		if err := checkPart(ctx, f); err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return limitErr("this .xlsx file is damaged: its part %q does not unpack to the size and checksum the archive gives for it, so it was not read; open the file in Excel, save it again and send it again", words.Cut(f.Name, 60))
		}
	}
	return nil
}

// checkPart reads one zip entry through: it must unpack without error to
// exactly its declared size, with its declared CRC-32.
func checkPart(ctx context.Context, f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	h := crc32.NewIEEE()
	n, err := io.Copy(h, &ctxReader{ctx: ctx, r: io.LimitReader(rc, int64(f.UncompressedSize64)+1)})
	if err != nil {
		return err
	}
	if uint64(n) != f.UncompressedSize64 {
		return fmt.Errorf("part %s: %d bytes, %d declared", f.Name, n, f.UncompressedSize64)
	}
	if h.Sum32() != f.CRC32 {
		return fmt.Errorf("part %s: checksum %08x, %08x declared", f.Name, h.Sum32(), f.CRC32)
	}
	return nil
}

func importXLSX(ctx context.Context, data []byte, opts Options) (res Result, err error) {
	lim := opts.Limits
	if err := checkZip(ctx, data, lim); err != nil {
		return Result{}, err
	}
	// excelize is not written for hostile input; a panic in it must not take
	// the bot down.
	defer func() {
		if p := recover(); p != nil {
			res, err = Result{}, limitErr("the .xlsx file could not be read (it seems damaged); open it in Excel, save it again and send it again")
		}
	}()

	// excelize unpacks big sheets to temporary files; keep them in a
	// directory of our own so that nothing is left behind even when opening
	// fails half-way.
	tmp, err := os.MkdirTemp("", "importer-xlsx-")
	if err != nil {
		return Result{}, fmt.Errorf("importer: temporary directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		UnzipSizeLimit:    lim.MaxUnzippedBytes,
		UnzipXMLSizeLimit: min(lim.MaxUnzippedBytes, xlsxXMLInMemory),
		TmpDir:            tmp,
	})
	if err != nil {
		if f != nil {
			_ = f.Close()
		}
		return Result{}, limitErr(notXLSX)
	}
	defer func() { _ = f.Close() }() // removes excelize's temporary files

	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return Result{}, limitErr("the .xlsx file has no sheets")
	}
	sheet, err := pickSheet(sheets, opts.Sheet)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	rows, err := f.Rows(sheet)
	if err != nil {
		return Result{}, limitErr("sheet %q could not be read; open the file in Excel, save it again and send it again", sheet)
	}
	defer func() { _ = rows.Close() }()

	t := newTable(ctx, opts)
	t.res.Sheet = sheet
	raw := excelize.Options{RawCellValue: true}
	num := 0
	for rows.Next() {
		num++ // the iterator yields every row number, gaps included
		if num%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
		}
		// RawCellValue: numbers come as stored ("9876543210"), not as
		// displayed ("9.88E+09"); text cells are unaffected.
		cells, err := rows.Columns(raw)
		if err != nil {
			return Result{}, limitErr("row %d of sheet %q could not be read; open the file in Excel, save it again and send it again", num, sheet)
		}
		if err := t.add(num, cells); err != nil {
			return Result{}, err
		}
	}
	if err := rows.Error(); err != nil {
		if errors.Is(err, excelize.ErrMaxRows) {
			return Result{}, limitErr("sheet %q has more rows than Excel allows, so it was not read", sheet)
		}
		return Result{}, limitErr("sheet %q could not be read; open the file in Excel, save it again and send it again", sheet)
	}
	if opts.Sheet == "" && len(sheets) > 1 {
		// The first sheet was read because none was named: when it holds
		// no phone number, the list is likely on another sheet.
		empty := !t.decided && len(t.pending) == 0
		var res Result
		if !empty {
			if res, err = t.finish(""); err != nil {
				return Result{}, err
			}
		}
		if empty || t.accepted == 0 && res.Duplicates == 0 && !rejectsHaveNumbers(res.Rejects) {
			return Result{}, otherSheetsErr(sheet, sheets[1:], empty)
		}
		return res, nil
	}
	return t.finish(fmt.Sprintf("sheet %q is empty", sheet))
}

// rejectsHaveNumbers reports whether a rejected row held something like a
// phone number (at least 5 digits), rather than no number at all.
func rejectsHaveNumbers(rejects []Reject) bool {
	for _, r := range rejects {
		if countDigits(r.Value) >= 5 {
			return true
		}
	}
	return false
}

// otherSheetsErr says that the first sheet has no phone numbers and names
// the others, with how to pick one.
func otherSheetsErr(first string, others []string, empty bool) error {
	state := "has no phone numbers"
	if empty {
		state = "is empty"
	}
	return limitErr("the first sheet, %s, %s. The workbook also has the %s %s; to import one, name it in quotes after the command, as in sheet=\"%s\", and send the file again",
		strconv.Quote(first), state, words.Noun(len(others), "sheet"), quotedList(others), others[0])
}

// quotedList lists sheet names in quotes: "a", "b" and "c" (at most 10).
func quotedList(names []string) string {
	const most = 10
	quoted := make([]string, 0, min(len(names), most+1))
	for i, s := range names {
		if i == most {
			quoted = append(quoted, words.Count(len(names)-most, "other"))
			break
		}
		quoted = append(quoted, strconv.Quote(s))
	}
	return words.List(quoted)
}

// pickSheet resolves Options.Sheet: "" is the first sheet; a name matches
// exactly, then ignoring case and surrounding spaces.
func pickSheet(sheets []string, want string) (string, error) {
	if want == "" {
		return sheets[0], nil
	}
	for _, s := range sheets {
		if s == want {
			return s, nil
		}
	}
	for _, s := range sheets {
		if strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(want)) {
			return s, nil
		}
	}
	return "", limitErr("there is no sheet named %q; the workbook has the %s %s", want, words.Noun(len(sheets), "sheet"), quotedList(sheets))
}
