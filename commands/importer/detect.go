package importer

import (
	"archive/zip"
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
	"golang.org/x/text/encoding/charmap"
)

// Kind is what a file's bytes hold, whatever its name says.
type Kind int

// The kinds Detect tells apart.
const (
	// KindText is plain text (UTF-8, UTF-16 or Windows-1252) without the
	// control characters that binary data has: a .csv, .tsv or .txt list.
	KindText Kind = iota + 1
	// KindXLSX is a zip archive holding an Excel workbook's parts
	// ([Content_Types].xml and xl/…).
	KindXLSX
	// KindOther is anything else: an image, a PDF, another document, an
	// archive, binary data.
	KindOther
)

// Form marks, within a Kind, the content the importer answers in its own
// words, so that it need not match the display text in What.
type Form int

// The forms Detect marks.
const (
	// FormNone is any other content.
	FormNone Form = iota
	// FormDamaged is a zip archive that cannot be opened.
	FormDamaged
	// FormOldXLS is an old Excel workbook (.xls).
	FormOldXLS
	// FormEncrypted is a Compound File that may be a password-protected
	// Office file.
	FormEncrypted
	// FormBinary is binary data of no format Detect names.
	FormBinary
)

// Content is what Detect found in a file.
type Content struct {
	Kind Kind
	// Form is set for the contents listed with the Form constants.
	Form Form
	// What names the content for the operator, with its article: "plain
	// text", "an Excel workbook", "a PNG image", "a Word document",
	// "binary data".
	What string
	// Line is set for text that holds a control character past its start
	// (Kind is then KindOther): the line of the first one.
	Line int
	// OLE is set for Compound File documents: old .xls/.doc files and
	// password-protected Office files.
	OLE bool
}

// textHead is how much of a file's start must be free of control
// characters for it to be text at all; past it, a stray control character
// is reported with its line.
const textHead = 8 << 10

// Detect tells what data really is, from its content alone: plain text, an
// Excel workbook, or something else, named for the operator. It reads the
// whole of data for text (a NUL or control character anywhere makes it not
// text) and the central directory for a zip archive; it never unpacks.
func Detect(data []byte) Content {
	c, _ := detect(data)
	return c
}

// detect is Detect that also returns, for text, the content as UTF-8.
func detect(data []byte) (Content, []byte) {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")), bytes.HasPrefix(data, []byte("PK\x07\x08")):
		return detectZip(data), nil
	case bytes.HasPrefix(data, oleMagic):
		what, form := describe(data)
		return Content{Kind: KindOther, What: what, Form: form, OLE: true}, nil
	}
	for _, sig := range signatures {
		if bytes.HasPrefix(data, []byte(sig.prefix)) {
			return Content{Kind: KindOther, What: sig.what}, nil
		}
	}
	text, line, ok := asText(data)
	if ok {
		return Content{Kind: KindText, What: "plain text"}, text
	}
	if line > 0 {
		return Content{Kind: KindOther, What: "not plain text", Line: line}, nil
	}
	what, form := describe(data)
	return Content{Kind: KindOther, What: what, Form: form}, nil
}

// signatures are the starts of common formats that could pass for text,
// because they are printable or the file is cut short: they are never a
// contact list.
var signatures = []struct{ prefix, what string }{
	{"\x89PNG", "a PNG image"},
	{"\xff\xd8\xff", "a JPEG image"},
	{"GIF87a", "a GIF image"},
	{"GIF89a", "a GIF image"},
	{"%PDF-", "a PDF document"},
	{"%!PS", "a PostScript document"},
	{"\x7fELF", "a program"},
	{"Rar!\x1a", "a RAR archive"},
	{"7z\xbc\xaf", "a 7-Zip archive"},
}

// asText returns data as UTF-8 when it is text: a UTF-8 BOM is dropped,
// UTF-16 (with a BOM, or recognisable by its NUL bytes) must decode without
// broken surrogate pairs, and bytes that are not UTF-8 are read as
// Windows-1252. Text has no control characters other than tab, line
// breaks, vertical tab and form feed (and a DOS end-of-file mark at the
// very end), and no DEL. When the first one lies past textHead, line says where; a NUL
// or an earlier one gives line 0: binary data.
func asText(data []byte) (text []byte, line int, ok bool) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		text = data[3:]
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		if text, ok = strictUTF16(data[2:], false); !ok {
			return nil, 0, false
		}
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		if text, ok = strictUTF16(data[2:], true); !ok {
			return nil, 0, false
		}
	default:
		if le, utf16 := looksUTF16(data); utf16 {
			if text, ok = strictUTF16(data, !le); !ok {
				return nil, 0, false
			}
			break
		}
		text = data
		if !utf8.Valid(text) {
			out, err := charmap.Windows1252.NewDecoder().Bytes(text)
			if err != nil {
				return nil, 0, false
			}
			text = out
		}
	}
	i := controlAt(text)
	if i < 0 {
		return text, 0, true
	}
	if i < textHead || text[i] == 0 || bytes.IndexByte(text, 0) >= 0 {
		return nil, 0, false
	}
	return nil, 1 + bytes.Count(text[:i], []byte{'\n'}), false
}

// controlAt is the index of the first control character of UTF-8 text that
// plain text does not have, or -1.
func controlAt(text []byte) int {
	for i, b := range text {
		if b >= 0x20 && b != 0x7F { // 0x7F: DEL
			continue
		}
		switch b {
		case '\t', '\n', '\v', '\f', '\r':
			continue
		case 0x1A: // DOS end-of-file mark, at the very end only
			if len(bytes.TrimLeft(text[i:], "\x1a")) == 0 {
				return -1
			}
		}
		return i
	}
	return -1
}

// strictUTF16 decodes UTF-16 to UTF-8, refusing an odd length and broken
// surrogate pairs (which text never has). A leading BOM is dropped.
func strictUTF16(b []byte, bigEndian bool) ([]byte, bool) {
	if len(b)%2 != 0 {
		return nil, false
	}
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
	for i := 0; i < len(u); i++ {
		r := rune(u[i])
		switch {
		case utf16.IsSurrogate(r):
			if r >= 0xDC00 || i+1 >= len(u) {
				return nil, false
			}
			r = utf16.DecodeRune(r, rune(u[i+1]))
			if r == utf8.RuneError {
				return nil, false
			}
			i++
		case r == 0xFFFE || r == 0xFFFF:
			return nil, false
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}

// detectZip tells an Excel workbook from the other zip archives (Word and
// PowerPoint files, OpenDocument files, plain archives) by the names of
// its parts.
func detectZip(data []byte) Content {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return Content{Kind: KindOther, What: "a damaged zip archive", Form: FormDamaged}
	}
	var types, xl, word, ppt bool
	for _, f := range zr.File {
		name := strings.ToLower(f.Name)
		switch {
		case name == "[content_types].xml":
			types = true
		case strings.HasPrefix(name, "xl/"):
			xl = true
		case strings.HasPrefix(name, "word/"):
			word = true
		case strings.HasPrefix(name, "ppt/"):
			ppt = true
		}
	}
	switch {
	case types && xl:
		return Content{Kind: KindXLSX, What: "an Excel workbook"}
	case types && word:
		return Content{Kind: KindOther, What: "a Word document"}
	case types && ppt:
		return Content{Kind: KindOther, What: "a PowerPoint presentation"}
	}
	what, form := describe(data)
	if form == FormBinary || what == "an Excel workbook" {
		what, form = "a zip archive", FormNone
	}
	return Content{Kind: KindOther, What: what, Form: form}
}

// mimeNames names the formats an operator is likely to send by mistake.
var mimeNames = []struct{ mime, what string }{
	{"image/png", "a PNG image"},
	{"image/jpeg", "a JPEG image"},
	{"image/gif", "a GIF image"},
	{"image/webp", "a WebP image"},
	{"image/heic", "a HEIC photo"},
	{"image/heif", "a HEIF photo"},
	{"image/bmp", "a BMP image"},
	{"image/tiff", "a TIFF image"},
	{"image/vnd.adobe.photoshop", "a Photoshop image"},
	{"application/pdf", "a PDF document"},
	{"video/mp4", "an MP4 video"},
	{"video/3gpp", "a 3GP video"},
	{"video/quicktime", "a QuickTime video"},
	{"video/webm", "a WebM video"},
	{"audio/mpeg", "an MP3 audio file"},
	{"audio/ogg", "an audio file (Ogg)"},
	{"audio/amr", "a voice recording (AMR)"},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "an Excel workbook"},
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word document"},
	{"application/vnd.openxmlformats-officedocument.presentationml.presentation", "a PowerPoint presentation"},
	{"application/vnd.oasis.opendocument.spreadsheet", "an OpenDocument spreadsheet (.ods)"},
	{"application/vnd.oasis.opendocument.text", "an OpenDocument text document (.odt)"},
	{"application/vnd.ms-excel", "an old Excel workbook (.xls)"},
	{"application/msword", "an old Word document (.doc)"},
	{"application/vnd.ms-powerpoint", "an old PowerPoint presentation (.ppt)"},
	{"application/x-ole-storage", "an old Office document or a password-protected Office file"},
	{"application/epub+zip", "an e-book (EPUB)"},
	{"application/vnd.android.package-archive", "an Android app"},
	{"application/zip", "a zip archive"},
	{"application/gzip", "a gzip archive"},
	{"application/x-7z-compressed", "a 7-Zip archive"},
	{"application/x-rar-compressed", "a RAR archive"},
	{"application/x-tar", "a tar archive"},
	{"application/vnd.microsoft.portable-executable", "a Windows program"},
	{"application/x-elf", "a program"},
	{"application/x-sqlite3", "a database file"},
}

// mimeForms are the Forms of the mimeNames that have one.
var mimeForms = map[string]Form{
	"application/vnd.ms-excel":  FormOldXLS,
	"application/x-ole-storage": FormEncrypted,
}

// describe names binary data for the operator by its signature, with its
// Form.
func describe(data []byte) (string, Form) {
	for m := mimetype.Detect(data); m != nil; m = m.Parent() {
		for _, n := range mimeNames {
			if m.Is(n.mime) {
				return n.what, mimeForms[n.mime]
			}
		}
		s := m.String()
		ext := strings.ToUpper(strings.TrimPrefix(m.Extension(), "."))
		switch {
		case ext == "":
		case strings.HasPrefix(s, "image/"):
			return "an image (" + ext + ")", FormNone
		case strings.HasPrefix(s, "video/"):
			return "a video (" + ext + ")", FormNone
		case strings.HasPrefix(s, "audio/"):
			return "an audio file (" + ext + ")", FormNone
		case strings.HasPrefix(s, "font/"):
			return "a font file (" + ext + ")", FormNone
		}
	}
	return "binary data", FormBinary
}
