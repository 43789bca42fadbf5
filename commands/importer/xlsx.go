package importer

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
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

// checkZip inspects the central directory of an .xlsx archive before anything
// is unpacked: declared sizes are enforced by archive/zip while reading, so
// refusing large declared totals and extreme ratios here stops zip bombs.
func checkZip(data []byte, lim Limits) error {
	if bytes.HasPrefix(data, oleMagic) {
		return limitErr("this .xlsx file is password-protected or is an old .xls workbook; remove the password or save it as .xlsx (Excel Workbook) and send it again")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return limitErr(notXLSX)
	}
	if len(zr.File) > maxZipEntries {
		return limitErr("the .xlsx file has %s parts; a workbook has far fewer, so it was not opened", fmtCount(len(zr.File)))
	}
	var total uint64
	contentTypes := false
	for _, f := range zr.File {
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > uint64(lim.MaxUnzippedBytes) || total+u > uint64(lim.MaxUnzippedBytes) {
			return limitErr("the .xlsx file unpacks to more than %s; the limit is %s", fmtMB(lim.MaxUnzippedBytes), fmtMB(lim.MaxUnzippedBytes))
		}
		total += u
		if u >= ratioCheckFloor && (c == 0 || u/c > uint64(lim.MaxCompressionRatio)) {
			ratio := "an unlimited"
			if c > 0 {
				ratio = strconv.FormatUint(u/c, 10) + "×"
			}
			return limitErr("the .xlsx file looks like a zip bomb (part %q would unpack to %s its size; the limit is %d×), so it was not opened", shorten(f.Name, 60), ratio, lim.MaxCompressionRatio)
		}
		if strings.EqualFold(f.Name, "[Content_Types].xml") {
			contentTypes = true
		}
	}
	if !contentTypes {
		return limitErr(notXLSX)
	}
	return nil
}

func importXLSX(ctx context.Context, data []byte, opts Options) (res Result, err error) {
	lim := opts.Limits
	if err := checkZip(data, lim); err != nil {
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
	return t.finish(fmt.Sprintf("sheet %q is empty", sheet))
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
	quoted := make([]string, len(sheets))
	for i, s := range sheets {
		quoted[i] = strconv.Quote(s)
	}
	return "", limitErr("there is no sheet named %q; the workbook has %s", want, strings.Join(quoted, ", "))
}
