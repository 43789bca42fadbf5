package ops

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/commands/importer"
	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/store"
)

// ImportResult counts what an import did with a contact list.
type ImportResult struct {
	Added      int
	Duplicates int // in the file, or already in the campaign
	Suppressed int // opted out
	Rejects    []importer.Reject
	Rows       int    // data rows read (.txt: phone numbers found), under the header
	Header     bool   // the list has a header row
	Sheet      string // .xlsx: the sheet read
}

// NoNumbers reports whether the list held no phone number at all: no row
// was accepted, a duplicate or opted out, and no rejected row held
// something like a number (so a rejects file would tell nothing).
func (r ImportResult) NoNumbers() bool {
	if r.Added+r.Duplicates+r.Suppressed > 0 {
		return false
	}
	for _, rj := range r.Rejects {
		digits := 0
		for _, c := range rj.Value {
			if c >= '0' && c <= '9' {
				digits++
			}
		}
		if digits >= 5 {
			return false
		}
	}
	return true
}

// ImportContacts reads a contact list (.xlsx, .csv, .tsv or .txt; sheet
// picks an xlsx sheet by name) into a campaign that still accepts contacts.
// A file whose content is not what its name says (a photo named .csv) is
// refused with a message naming what it is.
// Contacts are stored batch by batch while the file is read; a file that
// turns out to break a limit halfway is undone, so nothing of it stays.
func (s *Service) ImportContacts(ctx context.Context, a Actor, id int64, name string, r io.Reader, size int64, sheet string) (ImportResult, error) {
	if err := s.require(a, RoleOperator, "running campaigns"); err != nil {
		return ImportResult{}, err
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return ImportResult{}, err
	}
	if err := s.acceptsContacts(c); err != nil {
		return ImportResult{}, err
	}
	policy := s.PhonePolicy(ctx)
	opts := importer.Options{
		Normalize:  func(raw string) (string, error) { return phone.Normalize(raw, policy) },
		FindPhones: phone.Find,
		Limits:     s.ImportLimits(ctx),
		Sheet:      sheet,
	}
	mark, err := s.st.LastContactID(ctx, id)
	if err != nil {
		return ImportResult{}, err
	}
	// One goroutine stores each batch while the importer reads and
	// normalizes the next.
	var out ImportResult
	batches := make(chan []importer.Contact, 1)
	stored := make(chan error, 1)
	go func() {
		var err error
		for batch := range batches {
			if err != nil {
				continue // drain after a failure
			}
			contacts := make([]store.NewContact, len(batch))
			for i, ct := range batch {
				contacts[i] = store.NewContact{Phone: ct.Phone, Name: ct.Name, Vars: ct.Vars, Row: ct.Row}
			}
			var added, dups, supp int
			added, dups, supp, err = s.st.AddCampaignContacts(ctx, id, contacts)
			out.Added, out.Duplicates, out.Suppressed = out.Added+added, out.Duplicates+dups, out.Suppressed+supp
		}
		stored <- err
	}()
	opts.OnContacts = func(batch []importer.Contact) error {
		batches <- batch
		return nil
	}
	res, err := importer.Import(ctx, name, importer.WithSize(r, size), opts)
	close(batches)
	if serr := <-stored; serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		if out.Added > 0 {
			if rerr := s.st.RemoveContactsAfter(context.WithoutCancel(ctx), id, mark); rerr != nil {
				return ImportResult{}, fmt.Errorf("undo import: %w (after: %w)", rerr, err)
			}
		}
		var le *importer.LimitError
		if errors.As(err, &le) {
			return ImportResult{}, Errorf(EINVALID, "%s: %s Nothing was imported.", name, endSentence(le.Message))
		}
		return ImportResult{}, err
	}
	out.Duplicates += res.Duplicates
	out.Rejects = res.Rejects
	out.Rows, out.Header, out.Sheet = res.Rows, res.HeaderFound, res.Sheet
	if s.cfg.Imported != nil {
		s.cfg.Imported(out.Added)
	}
	return out, nil
}

// endSentence ends s with a full stop unless it ends with one already (or with
// ? or !).
func endSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

// RejectsCSV is the file of rejected rows an import hands back: row,
// value as written, reason. Every cell goes through SheetCell, so a
// rejected value a spreadsheet would run as a formula is shown as text.
func RejectsCSV(rejects []importer.Reject) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	row := func(cells ...string) {
		for i, c := range cells {
			cells[i] = SheetCell(c)
		}
		_ = w.Write(cells)
	}
	row("row", "value", "reason")
	for _, rj := range rejects {
		row(strconv.Itoa(rj.Row), rj.Value, rj.Reason)
	}
	w.Flush()
	return buf.Bytes()
}

// ResultsXLSX writes one row per contact: phone, name, status, attempts,
// last error, sent at, delivered at (times in loc, whose zone the column
// headers name). A contact with no message is "pending" (rows from
// CampaignResults say "cancelled" once the campaign is over); one never
// sent to because the number opted out is "opted out". Text goes in
// as text cells, never formulas, so a name or an error that starts with
// "=" is shown as written and nothing in the file runs.
func ResultsXLSX(rows []CampaignResult, loc *time.Location) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	zone := ZoneLabel(loc)
	header := []any{"Phone", "Name", "Status", "Attempts", "Last error", "Sent at (" + zone + ")", "Delivered at (" + zone + ")"}
	if err := sw.SetRow("A1", header); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	when := func(t sql.NullTime) string {
		if !t.Valid {
			return ""
		}
		return t.Time.In(loc).Format("2006-01-02 15:04:05")
	}
	for i, r := range rows {
		status := r.Status.String
		switch {
		case !r.Status.Valid:
			status = "pending"
		case status == string(StatusOptedOut):
			status = "opted out"
		}
		lastError := r.LastError.String
		if status == "opted out" && r.OptOutSource.Valid {
			// Who asked, and when: staff (chat) or the customer (reply).
			lastError += " (" + r.OptOutSource.String
			if r.OptedOutAt.Valid {
				lastError += ", " + when(r.OptedOutAt)
			}
			lastError += ")"
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		// Strings only (and one number): excelize writes a string as an
		// inline text cell; only an excelize.Cell with Formula set would
		// become a formula.
		if err := sw.SetRow(cell, []any{r.Phone, r.Name, status, r.Attempts.Int64, lastError, when(r.SentAt), when(r.DeliveredAt)}); err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return buf.Bytes(), nil
}
