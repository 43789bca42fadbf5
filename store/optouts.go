package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/messagebridge/messagebridge/store/words"
)

// Opt-out sources: who asked for it.
const (
	// OptOutSourceChat is an opt-out staff recorded with /optout.
	OptOutSourceChat = "chat"
	// OptOutSourceReply is one the customer asked for by replying a stop
	// keyword.
	OptOutSourceReply = "customer reply"
)

// OptOut is one number on the opt-out list.
type OptOut struct {
	Phone  string
	Reason string
	// Source is OptOutSourceChat or OptOutSourceReply.
	Source    string
	CreatedAt time.Time
	CreatedBy string
}

type optOutRow struct {
	Phone     string    `db:"phone"`
	Reason    string    `db:"reason"`
	Source    string    `db:"source"`
	CreatedAt time.Time `db:"created_at"`
	CreatedBy string    `db:"created_by"`
}

// AddOptOutFrom puts o.Phone on the opt-out list with its source, reason
// and time (zero: now), unless it is there already; added says whether it
// was added. The claim and the dispatcher honour the list at send time.
func (db *DB) AddOptOutFrom(ctx context.Context, o OptOut) (added bool, err error) {
	if o.Phone == "" {
		return false, errors.New("opt out: a phone is required")
	}
	now := db.timestamp()
	if o.CreatedAt.IsZero() || o.CreatedAt.After(now) {
		o.CreatedAt = now
	}
	n, err := db.exec(ctx, db.sql.insertOptOutIgnore, o.Phone, words.Cut(o.Reason, 255), o.Source,
		o.CreatedAt.UTC().Truncate(time.Microsecond), words.Cut(o.CreatedBy, 190))
	if err != nil {
		return false, fmt.Errorf("opt out: %w", err)
	}
	return n > 0, nil
}

// RemoveOptOut takes phone off the opt-out list; removed says whether it
// was on it.
func (db *DB) RemoveOptOut(ctx context.Context, phone string) (removed bool, err error) {
	n, err := db.exec(ctx, `DELETE FROM opt_outs WHERE phone = ?`, phone)
	if err != nil {
		return false, fmt.Errorf("remove opt-out of %s: %w", phone, err)
	}
	return n > 0, nil
}

// OptOutOf returns phone's entry on the opt-out list, or ErrNotFound.
func (db *DB) OptOutOf(ctx context.Context, phone string) (OptOut, error) {
	var r optOutRow
	err := db.x.GetContext(ctx, &r, `SELECT phone, reason, source, created_at, created_by FROM opt_outs WHERE phone = ?`, phone)
	if errors.Is(err, sql.ErrNoRows) {
		return OptOut{}, fmt.Errorf("opt-out of %s: %w", phone, ErrNotFound)
	}
	if err != nil {
		return OptOut{}, fmt.Errorf("opt-out of %s: %w", phone, err)
	}
	return OptOut{Phone: r.Phone, Reason: r.Reason, Source: r.Source, CreatedAt: r.CreatedAt.UTC(), CreatedBy: r.CreatedBy}, nil
}
