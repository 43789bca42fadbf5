package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/messagebridge/messagebridge/store/words"
)

// Inbound message kinds: what a customer sent, as far as people need to
// know ("[image]").
const (
	InboundText     = "text"
	InboundImage    = "image"
	InboundVideo    = "video"
	InboundAudio    = "audio"
	InboundDocument = "document"
	InboundOther    = "other"
)

// Bounds of a stored inbound message: a body longer than MaxInboundBody
// characters is cut (with an ellipsis).
const (
	MaxInboundBody        = 4096
	maxInboundProfileName = 190
	maxInboundProviderID  = 190
	maxInboundAccount     = 64
)

// InboundMessage is one message a customer sent to the business through a
// gateway (migration 00010).
type InboundMessage struct {
	ID      int64  `db:"id"`
	Gateway string `db:"gateway"`
	// Account is the business number or id it came in on (Meta's phone
	// number id), "" when the gateway has one.
	Account string `db:"account"`
	// ProviderMessageID is the provider's id of the message (a wamid):
	// a message delivered again is stored once.
	ProviderMessageID string `db:"provider_message_id"`
	// Phone is the customer's number, E.164.
	Phone       string `db:"phone"`
	ProfileName string `db:"profile_name"`
	// Kind is one of the Inbound* kinds.
	Kind string `db:"kind"`
	// Body is the text, or a media caption; bounded by MaxInboundBody.
	Body       string    `db:"body"`
	ReceivedAt time.Time `db:"received_at"`
	CreatedAt  time.Time `db:"created_at"`
}

const inboundColumns = `id, gateway, account, provider_message_id, phone, profile_name, kind, body, received_at, created_at`

func (m InboundMessage) utc() InboundMessage {
	m.ReceivedAt, m.CreatedAt = m.ReceivedAt.UTC(), m.CreatedAt.UTC()
	return m
}

// RecordInbound stores m once per (gateway, provider message id) and, in
// the same transaction, opens the customer's window from m.ReceivedAt.
// first is false for a message stored before (a provider's redelivery):
// nothing changes then. A zero ReceivedAt is now; one in the future is
// taken as now, so a wrong clock cannot keep a window open.
func (db *DB) RecordInbound(ctx context.Context, m InboundMessage) (stored InboundMessage, first bool, err error) {
	if m.Gateway == "" || m.ProviderMessageID == "" || m.Phone == "" {
		return InboundMessage{}, false, errors.New("record inbound: gateway, provider message id and phone are required")
	}
	now := db.timestamp()
	if m.ReceivedAt.IsZero() || m.ReceivedAt.After(now) {
		m.ReceivedAt = now
	}
	m.ReceivedAt = m.ReceivedAt.UTC().Truncate(time.Microsecond)
	m.Body = words.Cut(m.Body, MaxInboundBody)
	m.ProfileName = words.Cut(m.ProfileName, maxInboundProfileName)
	m.Account = words.Cut(m.Account, maxInboundAccount)
	if len(m.ProviderMessageID) > maxInboundProviderID {
		return InboundMessage{}, false, fmt.Errorf("record inbound: the provider message id is longer than %d bytes", maxInboundProviderID)
	}
	if m.Kind == "" {
		m.Kind = InboundOther
	}
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		prev, err := getOne[InboundMessage](ctx, tx, `SELECT `+inboundColumns+` FROM inbound_messages
WHERE gateway = ? AND provider_message_id = ?`+db.dialect.forUpdate(), m.Gateway, m.ProviderMessageID)
		if err == nil {
			stored, first = prev.utc(), false
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO inbound_messages
(gateway, account, provider_message_id, phone, profile_name, kind, body, received_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Gateway, m.Account, m.ProviderMessageID, m.Phone, m.ProfileName, m.Kind, m.Body, m.ReceivedAt, now)
		if err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if m.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		m.CreatedAt = now
		if err := openWindow(ctx, tx, m.Gateway, m.Phone, m.ReceivedAt, now); err != nil {
			return err
		}
		stored, first = m, true
		return nil
	})
	if err != nil && isDuplicate(err) {
		// Another instance stored the same redelivery at the same moment.
		prev, gerr := getOne[InboundMessage](ctx, db.x, `SELECT `+inboundColumns+` FROM inbound_messages
WHERE gateway = ? AND provider_message_id = ?`, m.Gateway, m.ProviderMessageID)
		if gerr == nil {
			return prev.utc(), false, nil
		}
	}
	if err != nil {
		return InboundMessage{}, false, fmt.Errorf("record inbound message: %w", err)
	}
	return stored, first, nil
}

// openWindow moves the customer's last message time forward to at (never
// back: messages arrive out of order).
func openWindow(ctx context.Context, tx *sqlx.Tx, gateway, phone string, at, now time.Time) error {
	w, err := getOne[windowRow](ctx, tx, `SELECT last_inbound_at, closed_at FROM customer_windows WHERE gateway = ? AND phone = ?`, gateway, phone)
	switch {
	case errors.Is(err, ErrNotFound):
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_windows (gateway, phone, last_inbound_at, closed_at, updated_at)
VALUES (?, ?, ?, NULL, ?)`, gateway, phone, at, now)
	case err != nil:
		return fmt.Errorf("read window: %w", err)
	case w.LastInbound.Valid && !w.LastInbound.Time.Before(at):
		return nil
	default:
		_, err = tx.ExecContext(ctx, `UPDATE customer_windows SET last_inbound_at = ?, updated_at = ? WHERE gateway = ? AND phone = ?`,
			at, now, gateway, phone)
	}
	if err != nil {
		return fmt.Errorf("open window: %w", err)
	}
	return nil
}

// InboundMessages lists the latest customer messages, newest first, at
// most limit (1–500); phone, when set, keeps one customer's.
func (db *DB) InboundMessages(ctx context.Context, phone string, limit int) ([]InboundMessage, error) {
	limit = min(max(limit, 1), 500)
	var list []InboundMessage
	var err error
	if phone != "" {
		err = db.x.SelectContext(ctx, &list, `SELECT `+inboundColumns+` FROM inbound_messages WHERE phone = ?
ORDER BY received_at DESC, id DESC LIMIT ?`, phone, limit)
	} else {
		err = db.x.SelectContext(ctx, &list, `SELECT `+inboundColumns+` FROM inbound_messages
ORDER BY received_at DESC, id DESC LIMIT ?`, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("inbound messages: %w", err)
	}
	for i := range list {
		list[i] = list[i].utc()
	}
	return list, nil
}

// InboundMessage returns one stored customer message, or ErrNotFound.
func (db *DB) InboundMessage(ctx context.Context, id int64) (InboundMessage, error) {
	m, err := getOne[InboundMessage](ctx, db.x, `SELECT `+inboundColumns+` FROM inbound_messages WHERE id = ?`, id)
	if err != nil {
		return InboundMessage{}, fmt.Errorf("inbound message %d: %w", id, err)
	}
	return m.utc(), nil
}

// Window is what is known of one customer's service window on a gateway.
type Window struct {
	// LastInbound is when the customer last wrote; zero: never, as far as
	// MessageBridge knows.
	LastInbound time.Time
	// ClosedAt is when the provider refused a free-form message as outside
	// the window (Meta 131047); zero: never.
	ClosedAt time.Time
}

// OpenAt reports whether the window is open at now for a window of
// length: the customer wrote less than length ago, and the provider has
// not said it closed since. At exactly length it is closed.
func (w Window) OpenAt(now time.Time, length time.Duration) bool {
	if w.LastInbound.IsZero() {
		return false
	}
	if !w.ClosedAt.IsZero() && !w.ClosedAt.Before(w.LastInbound) {
		return false
	}
	return now.Before(w.LastInbound.Add(length))
}

// ClosesAt is when an open window closes (zero when none is known).
func (w Window) ClosesAt(length time.Duration) time.Time {
	if w.LastInbound.IsZero() {
		return time.Time{}
	}
	return w.LastInbound.Add(length)
}

type windowRow struct {
	LastInbound sql.NullTime `db:"last_inbound_at"`
	Closed      sql.NullTime `db:"closed_at"`
}

// CustomerWindow returns what is known of phone's window on gateway; a
// customer who never wrote has the zero Window.
func (db *DB) CustomerWindow(ctx context.Context, gateway, phone string) (Window, error) {
	r, err := getOne[windowRow](ctx, db.x, `SELECT last_inbound_at, closed_at FROM customer_windows WHERE gateway = ? AND phone = ?`, gateway, phone)
	if errors.Is(err, ErrNotFound) {
		return Window{}, nil
	}
	if err != nil {
		return Window{}, fmt.Errorf("window of %s on %s: %w", phone, gateway, err)
	}
	return Window{LastInbound: utc(r.LastInbound), ClosedAt: utc(r.Closed)}, nil
}

// CloseWindow records that the provider refused a free-form message to
// phone as outside its window at at (zero: now). A later message from the
// customer opens it again.
func (db *DB) CloseWindow(ctx context.Context, gateway, phone string, at time.Time) error {
	now := db.timestamp()
	if at.IsZero() || at.After(now) {
		at = now
	}
	at = at.UTC().Truncate(time.Microsecond)
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE customer_windows SET closed_at = ?, updated_at = ?
WHERE gateway = ? AND phone = ? AND (closed_at IS NULL OR closed_at < ?)`, at, now, gateway, phone, at)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		if _, err := getOne[windowRow](ctx, tx, `SELECT last_inbound_at, closed_at FROM customer_windows WHERE gateway = ? AND phone = ?`, gateway, phone); !errors.Is(err, ErrNotFound) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO customer_windows (gateway, phone, last_inbound_at, closed_at, updated_at)
VALUES (?, ?, NULL, ?, ?)`, gateway, phone, at, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("close window of %s on %s: %w", phone, gateway, err)
	}
	return nil
}

// ReleaseHeld makes the items held for phone's closed window
// (OutcomeWindowClosed) on gateway, or naming none (an empty gateway column: they go
// through the active one), due now: the customer wrote, so they may go.
// It returns how many it released.
func (db *DB) ReleaseHeld(ctx context.Context, gateway, phone string) (int64, error) {
	now := db.timestamp()
	n, err := db.exec(ctx, `UPDATE queue_items SET next_attempt_at = ?, updated_at = ?
WHERE phone = ? AND status = 'queued' AND last_error_class = ? AND (gateway = ? OR gateway = '')`,
		now, now, phone, OutcomeWindowClosed, gateway)
	if err != nil {
		return 0, fmt.Errorf("release items held for %s: %w", phone, err)
	}
	return n, nil
}
