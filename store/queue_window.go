package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// EventConverted names the change in an item's history when the delivery
// loop replaced its free-form content by the intake template because the
// customer's window was closed.
const EventConverted = "converted"

// WindowHeldOutcome holds a claimed item whose customer's window is closed
// and for which nothing else may be sent: it stays queued until next (or
// until the customer writes: ReleaseHeld), its claim's attempt given back,
// with reason as its last error and OutcomeWindowClosed as its class.
func WindowHeldOutcome(it QueueItem, actor, reason string, next time.Time) Outcome {
	return Outcome{ID: it.ID, Token: it.LockToken, Status: StatusQueued, RefundAttempt: true, NextAttemptAt: next,
		Error: reason, ErrorClass: OutcomeWindowClosed, Event: OutcomeWindowClosed, Actor: actor}
}

// ReplaceClaimedContent replaces the content of item id, while it is still
// processing under lock token, by c (the intake template that goes in place
// of a free-form message), and records the change with detail in its
// history. It reports false, changing nothing, when the item's lock was
// recovered and given to another claim.
func (db *DB) ReplaceClaimedContent(ctx context.Context, id int64, token string, c QueueContent, actor, detail string) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, fmt.Errorf("replace content of item %d: %w", id, err)
	}
	args, err := contentArgs(c)
	if err != nil {
		return false, fmt.Errorf("replace content of item %d: %w", id, err)
	}
	now := db.timestamp()
	applied := false
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE queue_items SET content_kind = ?, body = ?, saved_message_id = ?,
template_name = ?, template_language = ?, template_params = ?, flow_id = ?, flow_variables = ?, updated_at = ?
WHERE id = ? AND lock_token = ? AND status = 'processing'`, append(args, now, id, token)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		applied = true
		return addEvent(ctx, tx, now, id, actor, EventConverted, StatusProcessing, StatusProcessing, detail)
	})
	if err != nil {
		return false, fmt.Errorf("replace content of item %d: %w", id, err)
	}
	return applied, nil
}

// windowClosedError is the last error of a staff item put back in the queue
// because the provider failed it as outside the customer's window.
const windowClosedError = "not delivered: the customer's 24-hour WhatsApp window was closed (131047); queued again to go as the intake template"

// sentRow is what a failed receipt needs of the item it names.
type sentRow struct {
	ID          int64          `db:"id"`
	Phone       string         `db:"phone"`
	CampaignID  sql.NullInt64  `db:"campaign_id"`
	ContentKind sql.NullString `db:"content_kind"`
}

// windowClosedReceipt applies, within tx, a failed receipt that says the
// message was free-form outside the customer's window (r.WindowClosed):
// the customer's window is closed from r's time, and a staff item
// (no campaign) with free-form content goes back to the queue, due now,
// its attempt given back and its provider message id cleared, so the
// delivery loop sends it as the intake template or holds it. It reports
// whether it requeued the item; when not (a campaign or template item, or
// no item sent under that id), the caller fails it as usual.
func (db *DB) windowClosedReceipt(ctx context.Context, tx *sqlx.Tx, r Receipt, at, now time.Time) (bool, error) {
	row, err := getOne[sentRow](ctx, tx, `SELECT id, phone, campaign_id, content_kind FROM queue_items
WHERE provider_message_id = ? AND sent_gateway = ? AND status = 'sent'`+db.dialect.forUpdate(), r.ProviderMessageID, r.Gateway)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := closeWindow(ctx, tx, r.Gateway, row.Phone, at, now); err != nil {
		return false, fmt.Errorf("close window: %w", err)
	}
	if row.CampaignID.Valid || !FreeForm(ContentKind(row.ContentKind.String)) {
		return false, nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_attempt_at = ?, updated_at = ?,
    last_error = ?, last_error_class = ?, provider_message_id = NULL, sent_gateway = NULL, sent_at = NULL
WHERE id = ? AND status = 'sent'`, now, now, windowClosedError, OutcomeWindowClosed, row.ID)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	detail := windowClosedError
	if r.Error != "" {
		detail += ": " + r.Error
	}
	return true, addEvent(ctx, tx, now, row.ID, r.Gateway, OutcomeWindowClosed, StatusSent, StatusQueued, detail)
}

// FreeForm reports whether content of kind is free-form (text, a saved
// message, a flow): what a provider with a customer-service window sends
// only inside it. Templates are not.
func FreeForm(kind ContentKind) bool {
	return kind == ContentText || kind == ContentSavedMessage || kind == ContentFlow
}
