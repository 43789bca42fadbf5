package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// QueueStatus is where a queue item is in its life:
// queued → processing → sent → delivered → read, or failed, or cancelled.
type QueueStatus string

// The queue item statuses.
const (
	StatusQueued     QueueStatus = "queued"
	StatusProcessing QueueStatus = "processing"
	StatusSent       QueueStatus = "sent"
	StatusDelivered  QueueStatus = "delivered"
	StatusRead       QueueStatus = "read"
	StatusFailed     QueueStatus = "failed"
	StatusCancelled  QueueStatus = "cancelled"
)

// OutcomeOptedOut is the last_error_class of a campaign item that was never
// sent because its phone had opted out (see opt-outs): the item is
// cancelled, and reports count it as opted out, never as sent, failed or
// cancelled. The dispatcher records a contact that opted out before its
// turn this way, and a claim so ends an item whose phone opted out after it
// was queued.
const OutcomeOptedOut = "opted_out"

// OutcomeWindowClosed is the last_error_class of an item held because the
// customer's service window on its gateway is closed and nothing else may
// be sent: it stays queued, with its attempt given back, until the
// customer writes (ReleaseHeld) or someone edits it.
const OutcomeWindowClosed = "window_closed"

// StatusOptedOut is not stored: it is the status campaign reports
// (CampaignStats, CampaignResults) give an item stored as cancelled with
// outcome OutcomeOptedOut, so that it counts as opted out, not cancelled.
const StatusOptedOut QueueStatus = OutcomeOptedOut

// QueueStatuses lists every status in lifecycle order.
func QueueStatuses() []QueueStatus {
	return []QueueStatus{StatusQueued, StatusProcessing, StatusSent, StatusDelivered, StatusRead, StatusFailed, StatusCancelled}
}

// Priorities: lower runs first. Staff intake goes ahead of campaigns.
const (
	PriorityIntake   = 0
	PriorityDefault  = 5
	PriorityCampaign = 10
)

// ContentKind says what a queue item sends.
type ContentKind string

// The content kinds.
const (
	ContentText         ContentKind = "text"
	ContentSavedMessage ContentKind = "saved_message"
	ContentTemplate     ContentKind = "template"
	ContentFlow         ContentKind = "flow"
)

// QueueContent is what to send: one of text, a saved message, a template with
// parameters, or a flow with variables.
type QueueContent struct {
	Kind             ContentKind
	Body             string
	SavedMessageID   int64
	TemplateName     string
	TemplateLanguage string
	// TemplateParams are the body's parameter values, in order;
	// TemplateParamNames their names when the template uses named
	// parameters (as long as TemplateParams, or empty).
	TemplateParams     []string
	TemplateParamNames []string
	// TemplateHeader is the header's value, for a template with one.
	TemplateHeader *TemplateHeader
	// TemplateButtons are the URL buttons' suffix values.
	TemplateButtons []TemplateButton
	FlowID          string
	FlowVariables   map[string]string
}

// Validate reports what is missing for the content's kind.
func (c QueueContent) Validate() error {
	switch c.Kind {
	case ContentText:
		if strings.TrimSpace(c.Body) == "" {
			return errors.New("text content needs a body")
		}
	case ContentSavedMessage:
		if c.SavedMessageID <= 0 {
			return errors.New("saved-message content needs a saved message id")
		}
	case ContentTemplate:
		if c.TemplateName == "" || c.TemplateLanguage == "" {
			return errors.New("template content needs a template name and language")
		}
	case ContentFlow:
		if c.FlowID == "" {
			return errors.New("flow content needs a flow id")
		}
	default:
		return fmt.Errorf("unknown content kind %q", c.Kind)
	}
	return nil
}

// NewQueueItem is an item to enqueue.
type NewQueueItem struct {
	Phone   string // E.164
	Content QueueContent
	// Gateway names the gateway to send through; empty means the active one.
	Gateway     string
	Priority    int
	CampaignID  int64 // 0: none
	ContactID   int64 // 0: none; a contact is enqueued at most once
	MaxAttempts int
	// NotBefore delays the first attempt; zero means now.
	NotBefore time.Time
	CreatedBy string
}

// QueueItem is one message to one phone and its delivery state.
type QueueItem struct {
	ID                int64
	Phone             string
	Content           QueueContent
	Gateway           string
	SentGateway       string
	Priority          int
	CampaignID        int64
	ContactID         int64
	Status            QueueStatus
	Attempts          int
	MaxAttempts       int
	NextAttemptAt     time.Time
	LockToken         string
	LockedAt          time.Time
	LockedBy          string
	LastError         string
	LastErrorClass    string
	ProviderMessageID string
	CreatedBy         string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	SentAt            time.Time
	DeliveredAt       time.Time
	ReadAt            time.Time
	FailedAt          time.Time
	CancelledAt       time.Time
}

// queueColumns are selected into queueRow, in its field order.
const queueColumns = `id, phone, content_kind, body, saved_message_id, template_name, template_language,
template_params, flow_id, flow_variables, gateway, sent_gateway, priority, campaign_id, contact_id, status,
attempts, max_attempts, next_attempt_at, lock_token, locked_at, locked_by, last_error, last_error_class,
provider_message_id, created_by, created_at, updated_at, sent_at, delivered_at, read_at, failed_at, cancelled_at`

type queueRow struct {
	ID    int64  `db:"id"`
	Phone string `db:"phone"`
	contentRow
	FlowVariables     sql.NullString `db:"flow_variables"`
	Gateway           string         `db:"gateway"`
	SentGateway       sql.NullString `db:"sent_gateway"`
	Priority          int            `db:"priority"`
	CampaignID        sql.NullInt64  `db:"campaign_id"`
	ContactID         sql.NullInt64  `db:"contact_id"`
	Status            string         `db:"status"`
	Attempts          int            `db:"attempts"`
	MaxAttempts       int            `db:"max_attempts"`
	NextAttemptAt     time.Time      `db:"next_attempt_at"`
	LockToken         sql.NullString `db:"lock_token"`
	LockedAt          sql.NullTime   `db:"locked_at"`
	LockedBy          sql.NullString `db:"locked_by"`
	LastError         sql.NullString `db:"last_error"`
	LastErrorClass    sql.NullString `db:"last_error_class"`
	ProviderMessageID sql.NullString `db:"provider_message_id"`
	CreatedBy         string         `db:"created_by"`
	CreatedAt         time.Time      `db:"created_at"`
	UpdatedAt         time.Time      `db:"updated_at"`
	SentAt            sql.NullTime   `db:"sent_at"`
	DeliveredAt       sql.NullTime   `db:"delivered_at"`
	ReadAt            sql.NullTime   `db:"read_at"`
	FailedAt          sql.NullTime   `db:"failed_at"`
	CancelledAt       sql.NullTime   `db:"cancelled_at"`
}

func (r queueRow) item() (QueueItem, error) {
	content, err := r.content()
	if err != nil {
		return QueueItem{}, fmt.Errorf("queue item %d: %w", r.ID, err)
	}
	it := QueueItem{
		ID:                r.ID,
		Phone:             r.Phone,
		Content:           content,
		Gateway:           r.Gateway,
		SentGateway:       r.SentGateway.String,
		Priority:          r.Priority,
		CampaignID:        r.CampaignID.Int64,
		ContactID:         r.ContactID.Int64,
		Status:            QueueStatus(r.Status),
		Attempts:          r.Attempts,
		MaxAttempts:       r.MaxAttempts,
		NextAttemptAt:     r.NextAttemptAt.UTC(),
		LockToken:         r.LockToken.String,
		LockedAt:          utc(r.LockedAt),
		LockedBy:          r.LockedBy.String,
		LastError:         r.LastError.String,
		LastErrorClass:    r.LastErrorClass.String,
		ProviderMessageID: r.ProviderMessageID.String,
		CreatedBy:         r.CreatedBy,
		CreatedAt:         r.CreatedAt.UTC(),
		UpdatedAt:         r.UpdatedAt.UTC(),
		SentAt:            utc(r.SentAt),
		DeliveredAt:       utc(r.DeliveredAt),
		ReadAt:            utc(r.ReadAt),
		FailedAt:          utc(r.FailedAt),
		CancelledAt:       utc(r.CancelledAt),
	}
	if r.FlowVariables.Valid && r.FlowVariables.String != "" {
		if err := json.Unmarshal([]byte(r.FlowVariables.String), &it.Content.FlowVariables); err != nil {
			return QueueItem{}, fmt.Errorf("queue item %d: flow variables: %w", r.ID, err)
		}
	}
	return it, nil
}

// contentRow holds the content columns that queue items and campaigns share.
type contentRow struct {
	ContentKind      sql.NullString `db:"content_kind"`
	Body             sql.NullString `db:"body"`
	SavedMessageID   sql.NullInt64  `db:"saved_message_id"`
	TemplateName     sql.NullString `db:"template_name"`
	TemplateLanguage sql.NullString `db:"template_language"`
	TemplateParams   sql.NullString `db:"template_params"`
	FlowID           sql.NullString `db:"flow_id"`
}

func (c contentRow) content() (QueueContent, error) {
	out := QueueContent{
		Kind:             ContentKind(c.ContentKind.String),
		Body:             c.Body.String,
		SavedMessageID:   c.SavedMessageID.Int64,
		TemplateName:     c.TemplateName.String,
		TemplateLanguage: c.TemplateLanguage.String,
		FlowID:           c.FlowID.String,
	}
	if c.TemplateParams.Valid {
		if err := decodeTemplateArgs(c.TemplateParams.String, &out); err != nil {
			return QueueContent{}, fmt.Errorf("template params: %w", err)
		}
	}
	return out, nil
}

func rowsToItems(rows []queueRow) ([]QueueItem, error) {
	out := make([]QueueItem, 0, len(rows))
	for _, r := range rows {
		it, err := r.item()
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func utc(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// contentArgs are the content columns of an insert or edit, in the order
// content_kind, body, saved_message_id, template_name, template_language,
// template_params, flow_id, flow_variables.
func contentArgs(c QueueContent) ([]any, error) {
	var vars sql.NullString
	encoded, err := encodeTemplateArgs(c)
	if err != nil {
		return nil, fmt.Errorf("template params: %w", err)
	}
	params := nullString(encoded)
	if len(c.FlowVariables) > 0 {
		b, err := json.Marshal(c.FlowVariables)
		if err != nil {
			return nil, fmt.Errorf("flow variables: %w", err)
		}
		vars = sql.NullString{String: string(b), Valid: true}
	}
	return []any{
		string(c.Kind), nullString(c.Body), nullInt(c.SavedMessageID), nullString(c.TemplateName),
		nullString(c.TemplateLanguage), params, nullString(c.FlowID), vars,
	}, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
func nullInt(n int64) sql.NullInt64      { return sql.NullInt64{Int64: n, Valid: n != 0} }
func nullTime(t time.Time) sql.NullTime  { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

// enqueueColumns are the columns an enqueue writes, in insertRow's order.
const enqueueColumns = `phone, content_kind, body, saved_message_id, template_name, template_language,
template_params, flow_id, flow_variables, gateway, priority, campaign_id, contact_id, status, attempts,
max_attempts, next_attempt_at, created_by, created_at, updated_at`

const enqueuePlaceholders = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?)`

// enqueueChunk bounds the rows of one multi-row INSERT.
const enqueueChunk = 500

// EnqueueQueueItems inserts items in one transaction and returns their ids in
// order. Nothing is inserted when one item is invalid.
func (db *DB) EnqueueQueueItems(ctx context.Context, items []NewQueueItem) ([]int64, error) {
	now := db.timestamp()
	rows := make([][]any, len(items))
	for i, it := range items {
		r, err := enqueueRow(it, now)
		if err != nil {
			return nil, fmt.Errorf("enqueue: item %d: %w", i, err)
		}
		rows[i] = r
	}
	ids := make([]int64, 0, len(items))
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		ids = ids[:0]
		if db.consecutiveIDs {
			return db.insertMultiRow(ctx, tx, rows, &ids)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO queue_items (`+enqueueColumns+`) VALUES `+enqueuePlaceholders)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, r := range rows {
			res, err := stmt.ExecContext(ctx, r...)
			if err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return ids, nil
}

// insertMultiRow inserts rows with multi-row INSERTs. It is used only where
// the server hands one statement consecutive ids (MySQL with
// innodb_autoinc_lock_mode 0 or 1), so the ids follow from the first.
func (db *DB) insertMultiRow(ctx context.Context, tx *sqlx.Tx, rows [][]any, ids *[]int64) error {
	for start := 0; start < len(rows); start += enqueueChunk {
		chunk := rows[start:min(start+enqueueChunk, len(rows))]
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for _, r := range chunk {
			args = append(args, r...)
		}
		q := `INSERT INTO queue_items (` + enqueueColumns + `) VALUES ` +
			strings.TrimSuffix(strings.Repeat(enqueuePlaceholders+", ", len(chunk)), ", ")
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("items %d-%d: %w", start, start+len(chunk)-1, err)
		}
		first, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return fmt.Errorf("items %d-%d: %d rows inserted (%v)", start, start+len(chunk)-1, n, err)
		}
		for i := range chunk {
			*ids = append(*ids, first+int64(i)*db.autoIncrementStep)
		}
	}
	return nil
}

// enqueueRow validates an item and returns its values for enqueueColumns.
func enqueueRow(it NewQueueItem, now time.Time) ([]any, error) {
	if err := it.Content.Validate(); err != nil {
		return nil, err
	}
	if it.Phone == "" || it.MaxAttempts < 1 {
		return nil, errors.New("needs a phone and max attempts >= 1")
	}
	next := now
	if !it.NotBefore.IsZero() {
		next = it.NotBefore.UTC().Truncate(time.Microsecond)
	}
	args, err := contentArgs(it.Content)
	if err != nil {
		return nil, err
	}
	args = append([]any{it.Phone}, args...)
	return append(args, it.Gateway, it.Priority, nullInt(it.CampaignID), nullInt(it.ContactID),
		it.MaxAttempts, next, it.CreatedBy, now, now), nil
}

// QueueItem returns one item.
func (db *DB) QueueItem(ctx context.Context, id int64) (QueueItem, error) {
	r, err := getOne[queueRow](ctx, db.x, `SELECT `+queueColumns+` FROM queue_items WHERE id = ?`, id)
	if err != nil {
		return QueueItem{}, fmt.Errorf("queue item %d: %w", id, err)
	}
	return r.item()
}

// ClaimParams say how many due items to claim and for whom.
type ClaimParams struct {
	// Limit is the most items to claim (the free worker slots).
	Limit int
	// Owner names the claiming processor, for operators.
	Owner string
	// Token is the fresh lock token stamped on every item of this claim.
	// Later changes must present it.
	Token string
}

// ClaimQueueItems claims up to p.Limit due items in one atomic step: each
// becomes processing with attempts+1, the lock time and p.Token. Items come in
// priority order (lower first), then by due time. Concurrent claimers, in
// this process or others, never get the same item. A campaign item whose
// phone is on the opt-out list is not returned: the claim ends it as opted
// out (see OutcomeOptedOut).
func (db *DB) ClaimQueueItems(ctx context.Context, p ClaimParams) ([]QueueItem, error) {
	_, items, err := db.CompleteAndClaim(ctx, nil, p)
	return items, err
}

// CompleteAndClaim applies outcomes (as CompleteQueueItems) and claims due
// items (as ClaimQueueItems) in one transaction, so a busy delivery loop pays
// one commit for both. applied[i] reports whether outs[i] passed its guard.
func (db *DB) CompleteAndClaim(ctx context.Context, outs []Outcome, p ClaimParams) (applied []bool, items []QueueItem, err error) {
	if p.Limit > 0 && p.Token == "" {
		return nil, nil, errors.New("claim: a lock token is required")
	}
	if p.Limit <= 0 && len(outs) == 0 {
		return nil, nil, nil
	}
	now := db.timestamp()
	applied = make([]bool, len(outs))
	var rows []queueRow
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.applyOutcomes(ctx, tx, outs, applied, now); err != nil {
			return err
		}
		if p.Limit <= 0 {
			return nil
		}
		var err error
		if rows, err = db.claimIn(ctx, tx, p, now); err != nil {
			return err
		}
		rows, err = dropOptedOut(ctx, tx, rows, p.Owner, now)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("claim: %w", err)
	}
	items, err = rowsToItems(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("claim: %w", err)
	}
	sortByClaimOrder(items)
	return applied, items, nil
}

// claimIn claims within tx. On MySQL it selects due items with FOR UPDATE
// SKIP LOCKED, so concurrent claimers pass over each other's rows instead of
// waiting, then stamps them (the session runs at READ COMMITTED). On SQLite,
// whose write transaction already excludes other writers, one UPDATE …
// RETURNING does both.
func (db *DB) claimIn(ctx context.Context, tx *sqlx.Tx, p ClaimParams, now time.Time) ([]queueRow, error) {
	var rows []queueRow
	if db.dialect != MySQL {
		err := tx.SelectContext(ctx, &rows, `UPDATE queue_items
SET status = 'processing', attempts = attempts + 1, lock_token = ?, locked_at = ?, locked_by = ?, updated_at = ?
WHERE id IN (SELECT id FROM queue_items WHERE status = 'queued' AND next_attempt_at <= ?
             ORDER BY priority, next_attempt_at, id LIMIT ?)
RETURNING `+queueColumns, p.Token, now, p.Owner, now, now, p.Limit)
		return rows, err
	}
	rows, err := lockDue(ctx, tx, p.Limit, now)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	in, args := inList(ids)
	upd := append([]any{p.Token, now, p.Owner, now}, args...)
	if _, err := tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'processing', attempts = attempts + 1, lock_token = ?, locked_at = ?, locked_by = ?, updated_at = ?
WHERE id IN (`+in+`)`, upd...); err != nil {
		return nil, err
	}
	// The rows as the UPDATE left them.
	for i := range rows {
		r := &rows[i]
		r.Status, r.Attempts, r.UpdatedAt = string(StatusProcessing), r.Attempts+1, now
		r.LockToken = sql.NullString{String: p.Token, Valid: true}
		r.LockedAt = sql.NullTime{Time: now, Valid: true}
		r.LockedBy = sql.NullString{String: p.Owner, Valid: true}
	}
	return rows, nil
}

// optedOutError is the last error of a campaign item ended because its
// phone opted out.
const optedOutError = "not sent: the number opted out of campaign messages"

// dropOptedOut ends, within the claim's transaction, the claimed campaign
// items whose phone is on the opt-out list (one lookup on its primary key
// for the whole batch): they become cancelled with outcome OutcomeOptedOut,
// their claim's attempt given back, and only the others are returned. Staff
// and other non-campaign items are transactional and always go.
func dropOptedOut(ctx context.Context, tx *sqlx.Tx, rows []queueRow, owner string, now time.Time) ([]queueRow, error) {
	var phones []string
	for _, r := range rows {
		if r.CampaignID.Valid {
			phones = append(phones, r.Phone)
		}
	}
	out, err := optedOut(ctx, tx, phones)
	if err != nil {
		return nil, fmt.Errorf("opt-out lookup: %w", err)
	}
	if len(out) == 0 {
		return rows, nil
	}
	var ids []int64
	keep := rows[:0:0]
	for _, r := range rows {
		if r.CampaignID.Valid && out[r.Phone] {
			ids = append(ids, r.ID)
			continue
		}
		keep = append(keep, r)
	}
	in, args := inList(ids)
	if _, err := tx.ExecContext(ctx, `UPDATE queue_items
SET status = 'cancelled', attempts = attempts - 1, cancelled_at = ?, updated_at = ?, last_error = ?, last_error_class = ?,
    lock_token = NULL, locked_at = NULL, locked_by = NULL
WHERE id IN (`+in+`)`, append([]any{now, now, optedOutError, OutcomeOptedOut}, args...)...); err != nil {
		return nil, fmt.Errorf("end opted-out items: %w", err)
	}
	if err := addEvents(ctx, tx, now, ids, owner, OutcomeOptedOut, StatusQueued, StatusCancelled, optedOutError); err != nil {
		return nil, err
	}
	return keep, nil
}

// OptedOut reports whether phone (E.164) is on the opt-out list: one
// lookup on the list's primary key.
func (db *DB) OptedOut(ctx context.Context, phone string) (bool, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, `SELECT COUNT(*) FROM opt_outs WHERE phone = ?`, phone); err != nil {
		return false, fmt.Errorf("opt-out lookup: %w", err)
	}
	return n > 0, nil
}

// OptedOutOutcome ends a claimed campaign item whose phone opted out after
// its claim, before it was sent: cancelled with outcome OutcomeOptedOut and
// its attempt given back, as a claim ends one (see dropOptedOut).
func OptedOutOutcome(it QueueItem, actor string) Outcome {
	return Outcome{ID: it.ID, Token: it.LockToken, Status: StatusCancelled, RefundAttempt: true,
		Error: optedOutError, ErrorClass: OutcomeOptedOut, Event: OutcomeOptedOut, Actor: actor}
}

// claimKey is an item's place in claim order: the claim index
// (status, priority, next_attempt_at) and the primary key after it.
type claimKey struct {
	Priority      int       `db:"priority"`
	NextAttemptAt time.Time `db:"next_attempt_at"`
	ID            int64     `db:"id"`
}

// Each round of lockDue reads 2×want + claimSlack candidates, the slack
// being room for the rows concurrent claimers hold (with four processes
// draining one queue it took the rounds from 1.8 to 1.0 a claim).
// claimRounds bounds the rounds; a round comes up short only when other
// claimers hold most of its candidates.
const (
	claimSlack  = 64
	claimRounds = 4
)

// lockDue locks (MySQL, FOR UPDATE SKIP LOCKED) up to limit due queued
// items in claim order and returns them.
//
// A locking read of the claim index from its start would be slow while the
// queue drains fast: ahead of the queued items the index keeps the entries
// of the items claimed moments ago until InnoDB purges them (thousands of
// them), and a locking read at READ COMMITTED visits the row of each. So a
// plain (consistent) read, which passes over them at almost no cost, first
// finds the keys of the first due items, and the locking read then
// scans only that stretch of the index, between the first and the last of
// them, skipping rows other claimers hold. The stretch has both ends so
// that the planner walks that range of the index rather than the whole
// queued part. When other claimers hold too many of its rows, the next
// stretch is read. Items committed meanwhile in a stretch already passed
// are claimed next time, as if they had come a moment later; the locking
// read, not the plain one, decides what is claimed, so each item is still
// claimed once.
func lockDue(ctx context.Context, tx *sqlx.Tx, limit int, now time.Time) ([]queueRow, error) {
	var rows []queueRow
	var after *claimKey
	for round := 0; round < claimRounds && len(rows) < limit; round++ {
		want := limit - len(rows)
		q := `SELECT priority, next_attempt_at, id FROM queue_items FORCE INDEX (queue_items_claim)
WHERE status = 'queued' AND next_attempt_at <= ?`
		args := []any{now}
		if after != nil {
			q += ` AND ` + keyAfter
			args = append(args, after.Priority, after.Priority, after.NextAttemptAt, after.NextAttemptAt, after.ID)
		}
		var keys []claimKey
		n := 2*want + claimSlack
		if err := tx.SelectContext(ctx, &keys, q+` ORDER BY priority, next_attempt_at, id LIMIT ?`, append(args, n)...); err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			break
		}
		first, last := keys[0], keys[len(keys)-1]
		var got []queueRow
		if err := tx.SelectContext(ctx, &got, `SELECT `+queueColumns+` FROM queue_items FORCE INDEX (queue_items_claim)
WHERE status = 'queued' AND next_attempt_at <= ? AND `+keyFrom+` AND `+keyTo+`
ORDER BY priority, next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
			now, first.Priority, first.Priority, first.NextAttemptAt, first.NextAttemptAt, first.ID,
			last.Priority, last.Priority, last.NextAttemptAt, last.NextAttemptAt, last.ID, want); err != nil {
			return nil, err
		}
		rows = append(rows, got...)
		if len(keys) < n {
			break // that was every due item
		}
		after = &last
	}
	return rows, nil
}

// Bounds on an item's claim key, written out so that the planner turns
// them into a range of the claim index. Each takes priority, priority,
// next_attempt_at, next_attempt_at, id.
const (
	keyFrom  = `(priority > ? OR (priority = ? AND (next_attempt_at > ? OR (next_attempt_at = ? AND id >= ?))))`
	keyAfter = `(priority > ? OR (priority = ? AND (next_attempt_at > ? OR (next_attempt_at = ? AND id > ?))))`
	keyTo    = `(priority < ? OR (priority = ? AND (next_attempt_at < ? OR (next_attempt_at = ? AND id <= ?))))`
)

func sortByClaimOrder(items []QueueItem) {
	slices.SortFunc(items, func(a, b QueueItem) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
}

// inList returns "?, ?, ?" and the arguments for an IN list of values.
func inList[T any](values []T) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", "), args
}
