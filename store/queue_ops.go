package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/messagebridge/messagebridge/store/words"
)

// ErrConflict means the item is not in a state that allows the change.
var ErrConflict = errors.New("not allowed in the item's current state")

// Outcome is the result of handling one claimed item, applied only while the
// item is still processing under the same lock token.
type Outcome struct {
	ID    int64
	Token string
	// Status is sent, queued (try again at NextAttemptAt), failed or
	// cancelled (never to be sent: see OptedOutOutcome).
	Status            QueueStatus
	ProviderMessageID string
	// Gateway is the gateway that sent (or tried to send) the item.
	Gateway       string
	NextAttemptAt time.Time
	// RefundAttempt gives the claim's attempt back: the item was not really
	// tried (rate limited, sender blocked, released at shutdown).
	RefundAttempt bool
	Error         string
	ErrorClass    string
	// Event names the change in the item's history ("retry", "failed",
	// "rate_limited", "held", "released", "rescued"); empty records none.
	Event string
	Actor string
}

// CompleteQueueItems applies outcomes in one transaction. Each is guarded by
// id, lock token and status processing; applied[i] is false when outcome i
// was ignored because its lock had been recovered and given to another claim.
func (db *DB) CompleteQueueItems(ctx context.Context, outs []Outcome) (applied []bool, err error) {
	if len(outs) == 0 {
		return nil, nil
	}
	now := db.timestamp()
	applied = make([]bool, len(outs))
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		return db.applyOutcomes(ctx, tx, outs, applied, now)
	})
	if err != nil {
		return nil, fmt.Errorf("complete: %w", err)
	}
	return applied, nil
}

// applyOutcomes writes outcomes within tx and fills applied. Plain "sent"
// outcomes, the bulk of them, go in one statement; the rest one by one.
func (db *DB) applyOutcomes(ctx context.Context, tx *sqlx.Tx, outs []Outcome, applied []bool, now time.Time) error {
	clear(applied)
	var bulk []int
	for i, o := range outs {
		if o.Status == StatusSent && o.Event == "" {
			bulk = append(bulk, i)
		}
	}
	if len(bulk) > 0 {
		if err := db.completeSent(ctx, tx, outs, bulk, applied, now); err != nil {
			return err
		}
	}
	for i, o := range outs {
		if o.Status == StatusSent && o.Event == "" {
			continue
		}
		ok, err := completeOne(ctx, tx, o, now)
		if err != nil {
			return fmt.Errorf("item %d: %w", o.ID, err)
		}
		applied[i] = ok
	}
	return nil
}

// completeSent marks outs[idx...] sent with one UPDATE whose WHERE clause
// checks each item's own lock token. When every row passes the guard (the
// normal case) that is all; otherwise the rows this transaction marked are
// read back to tell which outcomes applied.
func (db *DB) completeSent(ctx context.Context, tx *sqlx.Tx, outs []Outcome, idx []int, applied []bool, now time.Time) error {
	seen := make(map[int64]bool, len(idx))
	var keep []int
	for _, i := range idx {
		if !seen[outs[i].ID] && outs[i].Token != "" { // a repeated outcome for one item applies once
			seen[outs[i].ID] = true
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	var cases strings.Builder
	pargs, gargs, targs, idArgs := make([]any, 0, 2*len(keep)), make([]any, 0, 2*len(keep)), make([]any, 0, 2*len(keep)), make([]any, 0, len(keep))
	for _, i := range keep {
		cases.WriteString(" WHEN ? THEN ?")
		pargs = append(pargs, outs[i].ID, nullString(outs[i].ProviderMessageID))
		gargs = append(gargs, outs[i].ID, nullString(outs[i].Gateway))
		targs = append(targs, outs[i].ID, outs[i].Token)
		idArgs = append(idArgs, outs[i].ID)
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(keep)), ", ")
	args := append([]any{now, now}, pargs...)
	args = append(append(append(args, gargs...), idArgs...), targs...)
	res, err := tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'sent', sent_at = ?, updated_at = ?, lock_token = NULL, locked_at = NULL, locked_by = NULL,
    provider_message_id = CASE id`+cases.String()+` END,
    sent_gateway = CASE id`+cases.String()+` END
WHERE status = 'processing' AND id IN (`+in+`) AND lock_token = CASE id`+cases.String()+` END`, args...)
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	if n == int64(len(keep)) {
		for _, i := range keep {
			applied[i] = true
		}
		return nil
	}
	// Some lost their lock: find the rows this statement changed.
	var marked []int64
	if err := tx.SelectContext(ctx, &marked, `SELECT id FROM queue_items
WHERE id IN (`+in+`) AND status = 'sent' AND sent_at = ? AND lock_token IS NULL AND provider_message_id = CASE id`+cases.String()+` END`,
		append(append(append([]any{}, idArgs...), now), pargs...)...); err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	done := make(map[int64]bool, len(marked))
	for _, id := range marked {
		done[id] = true
	}
	for _, i := range keep {
		applied[i] = done[outs[i].ID]
	}
	return nil
}

func completeOne(ctx context.Context, tx *sqlx.Tx, o Outcome, now time.Time) (bool, error) {
	var res sql.Result
	var err error
	refund := 0
	if o.RefundAttempt {
		refund = 1
	}
	switch o.Status {
	case StatusSent:
		res, err = tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'sent', provider_message_id = ?, sent_gateway = ?, sent_at = ?, updated_at = ?,
    lock_token = NULL, locked_at = NULL, locked_by = NULL
WHERE id = ? AND lock_token = ? AND status = 'processing'`,
			nullString(o.ProviderMessageID), nullString(o.Gateway), now, now, o.ID, o.Token)
	case StatusQueued:
		next := o.NextAttemptAt.UTC().Truncate(time.Microsecond)
		if next.IsZero() {
			next = now
		}
		res, err = tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'queued', attempts = attempts - ?, next_attempt_at = ?, updated_at = ?,
    last_error = COALESCE(?, last_error), last_error_class = COALESCE(?, last_error_class),
    lock_token = NULL, locked_at = NULL, locked_by = NULL
WHERE id = ? AND lock_token = ? AND status = 'processing'`,
			refund, next, now, nullString(o.Error), nullString(o.ErrorClass), o.ID, o.Token)
	case StatusFailed:
		res, err = tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'failed', attempts = attempts - ?, failed_at = ?, updated_at = ?, sent_gateway = COALESCE(?, sent_gateway),
    last_error = ?, last_error_class = ?, lock_token = NULL, locked_at = NULL, locked_by = NULL
WHERE id = ? AND lock_token = ? AND status = 'processing'`,
			refund, now, now, nullString(o.Gateway), nullString(o.Error), nullString(o.ErrorClass), o.ID, o.Token)
	case StatusCancelled:
		res, err = tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'cancelled', attempts = attempts - ?, cancelled_at = ?, updated_at = ?,
    last_error = ?, last_error_class = ?, lock_token = NULL, locked_at = NULL, locked_by = NULL
WHERE id = ? AND lock_token = ? AND status = 'processing'`,
			refund, now, now, nullString(o.Error), nullString(o.ErrorClass), o.ID, o.Token)
	default:
		return false, fmt.Errorf("outcome status %q is not sent, queued, failed or cancelled", o.Status)
	}
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	if o.Event != "" {
		if err := addEvent(ctx, tx, now, o.ID, o.Actor, o.Event, StatusProcessing, o.Status, o.Error); err != nil {
			return false, err
		}
	}
	if o.Status == StatusFailed {
		if err := addStaffNotice(ctx, tx, now, `q.id = ?`, o.ID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// addEvent records a change in an item's history. The attempt number is the
// item's own, read in the same statement. Actor and detail are made to fit
// their columns (VARCHAR(190) and VARCHAR(1024)), cut between characters.
func addEvent(ctx context.Context, tx *sqlx.Tx, now time.Time, id int64, actor, event string, from, to QueueStatus, detail string) error {
	actor, detail = words.Cut(actor, 190), words.Cut(detail, 1024)
	_, err := tx.ExecContext(ctx, `INSERT INTO queue_events (queue_item_id, created_at, actor, event, from_status, to_status, attempt, detail)
SELECT id, ?, ?, ?, ?, ?, attempts, ? FROM queue_items WHERE id = ?`,
		now, actor, event, nullString(string(from)), nullString(string(to)), detail, id)
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	return nil
}

// addEvents records the same change in the history of several items, in
// one statement.
func addEvents(ctx context.Context, tx *sqlx.Tx, now time.Time, ids []int64, actor, event string, from, to QueueStatus, detail string) error {
	if len(ids) == 0 {
		return nil
	}
	actor, detail = words.Cut(actor, 190), words.Cut(detail, 1024)
	in, args := inList(ids)
	_, err := tx.ExecContext(ctx, `INSERT INTO queue_events (queue_item_id, created_at, actor, event, from_status, to_status, attempt, detail)
SELECT id, ?, ?, ?, ?, ?, attempts, ? FROM queue_items WHERE id IN (`+in+`)`,
		append([]any{now, actor, event, nullString(string(from)), nullString(string(to)), detail}, args...)...)
	if err != nil {
		return fmt.Errorf("record events: %w", err)
	}
	return nil
}

// QueueEdit changes an item's phone and/or content; nil fields stay.
type QueueEdit struct {
	Phone   *string
	Content *QueueContent
}

// EditQueueItem changes a queued or failed item. A failed item stays failed
// until ResetQueueItem.
func (db *DB) EditQueueItem(ctx context.Context, id int64, e QueueEdit, actor string) (QueueItem, error) {
	if e.Phone == nil && e.Content == nil {
		return QueueItem{}, errors.New("edit: nothing to change")
	}
	if e.Content != nil {
		if err := e.Content.Validate(); err != nil {
			return QueueItem{}, fmt.Errorf("edit: %w", err)
		}
	}
	err := db.changeItem(ctx, id, actor, "edited", []QueueStatus{StatusQueued, StatusFailed}, func(tx *sqlx.Tx, it QueueItem, now time.Time) (string, QueueStatus, error) {
		detail := ""
		if e.Phone != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE queue_items SET phone = ?, updated_at = ? WHERE id = ?`, *e.Phone, now, id); err != nil {
				return "", "", err
			}
			detail = fmt.Sprintf("phone %s → %s", it.Phone, *e.Phone)
		}
		if e.Content != nil {
			args, err := contentArgs(*e.Content)
			if err != nil {
				return "", "", err
			}
			args = append(args, now, id)
			if _, err := tx.ExecContext(ctx, `UPDATE queue_items SET content_kind = ?, body = ?, saved_message_id = ?,
template_name = ?, template_language = ?, template_params = ?, flow_id = ?, flow_variables = ?, updated_at = ?
WHERE id = ?`, args...); err != nil {
				return "", "", err
			}
			detail = joinDetail(detail, "content changed to "+string(e.Content.Kind))
		}
		return detail, it.Status, nil
	})
	if err != nil {
		return QueueItem{}, fmt.Errorf("edit: %w", err)
	}
	return db.QueueItem(ctx, id)
}

// ResetQueueItem makes a failed (or queued) item due now with its attempts
// reset. Its last error stays on the item and in its history.
func (db *DB) ResetQueueItem(ctx context.Context, id int64, actor string) (QueueItem, error) {
	err := db.changeItem(ctx, id, actor, "reset", []QueueStatus{StatusQueued, StatusFailed}, func(tx *sqlx.Tx, it QueueItem, now time.Time) (string, QueueStatus, error) {
		_, err := tx.ExecContext(ctx, `UPDATE queue_items SET status = 'queued', attempts = 0, next_attempt_at = ?,
failed_at = NULL, updated_at = ? WHERE id = ?`, now, now, id)
		return fmt.Sprintf("attempts %d reset; last error: %s", it.Attempts, it.LastError), StatusQueued, err
	})
	if err != nil {
		return QueueItem{}, fmt.Errorf("reset: %w", err)
	}
	return db.QueueItem(ctx, id)
}

// CancelQueueItem cancels a queued or failed item.
func (db *DB) CancelQueueItem(ctx context.Context, id int64, actor string) (QueueItem, error) {
	err := db.changeItem(ctx, id, actor, "cancelled", []QueueStatus{StatusQueued, StatusFailed}, func(tx *sqlx.Tx, _ QueueItem, now time.Time) (string, QueueStatus, error) {
		_, err := tx.ExecContext(ctx, `UPDATE queue_items SET status = 'cancelled', cancelled_at = ?, updated_at = ? WHERE id = ?`, now, now, id)
		return "", StatusCancelled, err
	})
	if err != nil {
		return QueueItem{}, fmt.Errorf("cancel: %w", err)
	}
	return db.QueueItem(ctx, id)
}

// changeItem locks an item, checks its status is one of allowed, applies fn
// and records the change in the item's history.
func (db *DB) changeItem(ctx context.Context, id int64, actor, event string, allowed []QueueStatus,
	fn func(tx *sqlx.Tx, it QueueItem, now time.Time) (detail string, to QueueStatus, err error)) error {
	now := db.timestamp()
	return db.inTx(ctx, func(tx *sqlx.Tx) error {
		// FOR UPDATE on MySQL; SQLite's write transaction already excludes others.
		r, err := getOne[queueRow](ctx, tx, `SELECT `+queueColumns+` FROM queue_items WHERE id = ?`+db.dialect.forUpdate(), id)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("queue item %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		it, err := r.item()
		if err != nil {
			return err
		}
		if !slices.Contains(allowed, it.Status) {
			return fmt.Errorf("queue item %d is %s: %w", id, it.Status, ErrConflict)
		}
		detail, to, err := fn(tx, it, now)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, now, id, actor, event, it.Status, to, detail)
	})
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// QueueEvent is one entry of an item's history.
type QueueEvent struct {
	ID         int64     `db:"id"`
	ItemID     int64     `db:"queue_item_id"`
	CreatedAt  time.Time `db:"created_at"`
	Actor      string    `db:"actor"`
	Event      string    `db:"event"`
	FromStatus string    `db:"from_status"`
	ToStatus   string    `db:"to_status"`
	Attempt    int       `db:"attempt"`
	Detail     string    `db:"detail"`
}

// QueueItemEvents returns an item's history, oldest first.
func (db *DB) QueueItemEvents(ctx context.Context, id int64) ([]QueueEvent, error) {
	var evs []QueueEvent
	err := db.x.SelectContext(ctx, &evs, `SELECT id, queue_item_id, created_at, actor, event,
COALESCE(from_status, '') AS from_status, COALESCE(to_status, '') AS to_status, attempt, detail
FROM queue_events WHERE queue_item_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("item events: %w", err)
	}
	for i := range evs {
		evs[i].CreatedAt = evs[i].CreatedAt.UTC()
	}
	return evs, nil
}
