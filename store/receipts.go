package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Receipt is a delivery report from a provider about a sent message.
type Receipt struct {
	Gateway           string
	ProviderMessageID string
	// Status is delivered, read or failed (a "sent" report changes nothing).
	Status QueueStatus
	At     time.Time
	// Error is the provider's reason for a failed status, sanitized.
	Error string
	// WindowClosed marks a failed status that says the message was
	// free-form and the customer's service window was closed (Meta
	// 131047): the customer's window is closed, and a free-form staff
	// message is queued again to go as the intake template.
	WindowClosed bool
}

// ApplyReceipt moves the item the receipt names forward: sent → delivered →
// read, or sent → failed. A status never moves backwards (read stays read,
// a late delivered only fills delivered_at), and a replayed receipt changes
// nothing. It reports whether anything changed; false also means the id is
// unknown.
//
// A failed receipt with WindowClosed also closes the customer's window, in
// the same transaction; a staff item whose content is free-form is then
// not failed but queued again, due now, its attempt given back and its
// provider message id cleared, with class OutcomeWindowClosed: the
// delivery loop sends it as the intake template or holds it. Campaign and
// template items fail as usual.
func (db *DB) ApplyReceipt(ctx context.Context, r Receipt) (bool, error) {
	now := db.timestamp()
	at := r.At.UTC().Truncate(time.Microsecond)
	if at.IsZero() {
		at = now
	}
	var q string
	var args []any
	switch r.Status {
	case StatusDelivered:
		q = `UPDATE queue_items SET status = CASE WHEN status = 'sent' THEN 'delivered' ELSE status END,
delivered_at = ?, updated_at = ?
WHERE provider_message_id = ? AND sent_gateway = ? AND status IN ('sent', 'read') AND delivered_at IS NULL`
		args = []any{at, now, r.ProviderMessageID, r.Gateway}
	case StatusRead:
		q = `UPDATE queue_items SET status = 'read', read_at = ?, updated_at = ?
WHERE provider_message_id = ? AND sent_gateway = ? AND status IN ('sent', 'delivered')`
		args = []any{at, now, r.ProviderMessageID, r.Gateway}
	case StatusFailed:
		q = `UPDATE queue_items SET status = 'failed', failed_at = ?, last_error = ?, last_error_class = 'async', updated_at = ?
WHERE provider_message_id = ? AND sent_gateway = ? AND status = 'sent'`
		args = []any{at, nullString(r.Error), now, r.ProviderMessageID, r.Gateway}
	case StatusSent:
		return false, nil
	default:
		return false, fmt.Errorf("receipt: status %q is not delivered, read or failed", r.Status)
	}
	changed := false
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if r.Status == StatusFailed && r.WindowClosed {
			requeued, err := db.windowClosedReceipt(ctx, tx, r, at, now)
			if err != nil || requeued {
				changed = requeued
				return err
			}
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		changed = n > 0
		if changed && r.Status == StatusFailed {
			_, err = tx.ExecContext(ctx, `INSERT INTO queue_events (queue_item_id, created_at, actor, event, from_status, to_status, attempt, detail)
SELECT id, ?, ?, 'failed', 'sent', 'failed', attempts, ? FROM queue_items WHERE provider_message_id = ? AND sent_gateway = ?`,
				now, r.Gateway, r.Error, r.ProviderMessageID, r.Gateway)
			if err == nil {
				err = addStaffNotice(ctx, tx, now, `q.provider_message_id = ? AND q.sent_gateway = ?`, r.ProviderMessageID, r.Gateway)
			}
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("receipt %s/%s: %w", r.Gateway, r.ProviderMessageID, err)
	}
	return changed, nil
}
