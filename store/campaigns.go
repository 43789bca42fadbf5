package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/messagebridge/messagebridge/store/words"
)

// Campaign states: draft → scheduled → running ⇄ paused → completed, or
// cancelled.
const (
	CampaignDraft     = "draft"
	CampaignScheduled = "scheduled"
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignCompleted = "completed"
	CampaignCancelled = "cancelled"
)

// Campaign is a message sent to a list of contacts, paced by an interval.
type Campaign struct {
	ID       int64
	Name     string
	Status   string
	Content  QueueContent // Kind empty until set
	Gateway  string       // empty: the active gateway
	Interval time.Duration
	// NextSendAt is the next send slot while running.
	NextSendAt  time.Time
	ScheduledAt time.Time
	StartedAt   time.Time
	PausedAt    time.Time
	CompletedAt time.Time
	CancelledAt time.Time
	// DeletedAt is set once an operator deleted the campaign: it is gone
	// from lists, and its results stay readable.
	DeletedAt time.Time
	CreatedBy string
	CreatedAt time.Time
	// PauseReason says why the campaign is paused when it was not an
	// operator's pause (a scheduled start it was not ready for); empty
	// otherwise.
	PauseReason string
	// ScheduledBy is who last scheduled it (a chat identity, or "web:…").
	ScheduledBy string
}

type campaignRow struct {
	ID     int64  `db:"id"`
	Name   string `db:"name"`
	Status string `db:"status"`
	contentRow
	Gateway     sql.NullString `db:"gateway"`
	IntervalMS  int64          `db:"send_interval_ms"`
	NextSendAt  sql.NullTime   `db:"next_send_at"`
	ScheduledAt sql.NullTime   `db:"scheduled_at"`
	StartedAt   sql.NullTime   `db:"started_at"`
	PausedAt    sql.NullTime   `db:"paused_at"`
	CompletedAt sql.NullTime   `db:"completed_at"`
	CancelledAt sql.NullTime   `db:"cancelled_at"`
	DeletedAt   sql.NullTime   `db:"deleted_at"`
	CreatedBy   string         `db:"created_by"`
	CreatedAt   time.Time      `db:"created_at"`
	PauseReason string         `db:"pause_reason"`
	ScheduledBy sql.NullString `db:"scheduled_by"`
}

const campaignColumns = `id, name, status, content_kind, body, saved_message_id, template_name, template_language,
template_params, flow_id, gateway, send_interval_ms, next_send_at, scheduled_at, started_at, paused_at, completed_at,
cancelled_at, deleted_at, created_by, created_at, pause_reason, scheduled_by`

func (r campaignRow) campaign() Campaign {
	c := Campaign{
		ID: r.ID, Name: r.Name, Status: r.Status, Gateway: r.Gateway.String,
		Interval:   time.Duration(r.IntervalMS) * time.Millisecond,
		NextSendAt: utc(r.NextSendAt), ScheduledAt: utc(r.ScheduledAt), StartedAt: utc(r.StartedAt),
		PausedAt: utc(r.PausedAt), CompletedAt: utc(r.CompletedAt), CancelledAt: utc(r.CancelledAt),
		DeletedAt: utc(r.DeletedAt), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		PauseReason: r.PauseReason, ScheduledBy: r.ScheduledBy.String,
	}
	// A campaign's content was validated when it was set; a broken
	// parameter list reads as none rather than hiding the campaign.
	c.Content, _ = r.content()
	return c
}

// CreateCampaign adds a draft campaign.
func (db *DB) CreateCampaign(ctx context.Context, name, actor string) (Campaign, error) {
	now := db.timestamp()
	res, err := db.x.ExecContext(ctx, `INSERT INTO campaigns (name, status, send_interval_ms, created_at, created_by, updated_at)
VALUES (?, 'draft', 0, ?, ?, ?)`, name, now, actor, now)
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Campaign{}, fmt.Errorf("create campaign: %w", err)
	}
	return db.Campaign(ctx, id)
}

// Campaign returns a campaign, deleted ones included (see DeletedAt), or
// ErrNotFound.
func (db *DB) Campaign(ctx context.Context, id int64) (Campaign, error) {
	r, err := getOne[campaignRow](ctx, db.x, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("campaign %d: %w", id, err)
	}
	return r.campaign(), nil
}

// Campaigns lists campaigns that are not deleted, newest first.
func (db *DB) Campaigns(ctx context.Context, limit int) ([]Campaign, error) {
	var rows []campaignRow
	if err := db.x.SelectContext(ctx, &rows, `SELECT `+campaignColumns+` FROM campaigns WHERE deleted_at IS NULL ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, fmt.Errorf("campaigns: %w", err)
	}
	out := make([]Campaign, len(rows))
	for i, r := range rows {
		out[i] = r.campaign()
	}
	return out, nil
}

// CampaignUpdate changes a campaign's columns; nil fields stay. A pointer
// to the zero time clears a time column.
type CampaignUpdate struct {
	Status      *string
	Content     *QueueContent
	Gateway     *string
	Interval    *time.Duration
	NextSendAt  *time.Time
	ScheduledAt *time.Time
	// StartedAt is written only when the campaign has not started before.
	StartedAt   *time.Time
	PausedAt    *time.Time
	CompletedAt *time.Time
	CancelledAt *time.Time
	DeletedAt   *time.Time
	// PauseReason is written as given ("" clears it; cut to 1000
	// characters).
	PauseReason *string
	ScheduledBy *string
}

// CampaignTx is one campaign, its row locked, inside a transaction: the
// campaign rules (package queue/campaign and the operations layer) read it
// and decide, and the store writes what they decided before the lock is
// let go.
type CampaignTx struct {
	ctx context.Context
	tx  *sqlx.Tx
	db  *DB
	c   Campaign
}

// WithCampaign locks campaign id (FOR UPDATE on MySQL; SQLite
// transactions are serialized), runs fn and commits when fn returns nil. It
// returns the campaign as it is afterwards.
func (db *DB) WithCampaign(ctx context.Context, id int64, fn func(tx *CampaignTx) error) (Campaign, error) {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := getOne[campaignRow](ctx, tx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`+db.dialect.forUpdate(), id)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("campaign %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("lock campaign %d: %w", id, err)
		}
		return fn(&CampaignTx{ctx: ctx, tx: tx, db: db, c: r.campaign()})
	})
	if err != nil {
		return Campaign{}, err
	}
	return db.Campaign(ctx, id)
}

// Campaign is the locked campaign as it was read.
func (t *CampaignTx) Campaign() Campaign { return t.c }

// Now is the store's clock, as written to the campaign's columns.
func (t *CampaignTx) Now() time.Time { return t.db.timestamp() }

// Contacts counts the campaign's contacts.
func (t *CampaignTx) Contacts() (int, error) {
	var n int
	if err := t.tx.GetContext(t.ctx, &n, `SELECT COUNT(*) FROM campaign_contacts WHERE campaign_id = ?`, t.c.ID); err != nil {
		return 0, fmt.Errorf("count contacts: %w", err)
	}
	return n, nil
}

// OpenItems counts the campaign's queue items still queued or processing.
func (t *CampaignTx) OpenItems() (int, error) {
	var n int
	if err := t.tx.GetContext(t.ctx, &n, `SELECT COUNT(*) FROM queue_items WHERE campaign_id = ? AND status IN ('queued', 'processing')`, t.c.ID); err != nil {
		return 0, fmt.Errorf("count open items: %w", err)
	}
	return n, nil
}

// Setting returns a plain (not secret) setting's stored value, read
// inside the campaign's transaction; ok is false when it is unset.
func (t *CampaignTx) Setting(name string) (value string, ok bool, err error) {
	r, err := getOne[settingRow](t.ctx, t.tx, `SELECT name, value, is_secret, updated_at, updated_by FROM settings WHERE name = ?`, name)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("setting %s: %w", name, err)
	}
	if r.Secret {
		return "", false, fmt.Errorf("setting %s is secret; read it with DB.Setting", name)
	}
	return r.Value, true, nil
}

// SavedMessage returns a saved message by id, read inside the campaign's
// transaction, or ErrNotFound.
func (t *CampaignTx) SavedMessage(id int64) (SavedMessage, error) {
	r, err := getOne[savedRow](t.ctx, t.tx, `SELECT `+savedColumns+` FROM saved_messages WHERE id = ?`, id)
	if err != nil {
		return SavedMessage{}, fmt.Errorf("saved message %d: %w", id, err)
	}
	return r.message(), nil
}

// NotifyScheduler adds a staff notice about the locked campaign for the
// one who scheduled it, when that is someone in the operators table (a
// chat identity; the web page is not told in chat). It reports whether a
// notice was added.
func (t *CampaignTx) NotifyScheduler() (bool, error) {
	if t.c.ScheduledBy == "" {
		return false, nil
	}
	now := t.db.timestamp()
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO staff_notices
(campaign_id, recipient, failed_at, state, attempts, next_attempt_at, created_at, detail)
SELECT ?, o.identity, ?, 'pending', 0, ?, ?, '' FROM operators o WHERE o.identity = ?`,
		t.c.ID, now, now, now, t.c.ScheduledBy)
	if err != nil {
		return false, fmt.Errorf("notify the scheduler of campaign %d: %w", t.c.ID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Update writes the changed columns.
func (t *CampaignTx) Update(u CampaignUpdate) error {
	var sets []string
	var args []any
	set := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
	}
	if u.Status != nil {
		set("status", *u.Status)
	}
	if u.Content != nil {
		if err := u.Content.Validate(); err != nil {
			return err
		}
		cargs, err := contentArgs(*u.Content)
		if err != nil {
			return err
		}
		// campaigns has no flow_variables column: the last argument.
		for i, col := range []string{"content_kind", "body", "saved_message_id", "template_name", "template_language", "template_params", "flow_id"} {
			set(col, cargs[i])
		}
	}
	if u.Gateway != nil {
		set("gateway", nullString(*u.Gateway))
	}
	if u.Interval != nil {
		set("send_interval_ms", u.Interval.Milliseconds())
	}
	if u.PauseReason != nil {
		set("pause_reason", words.Cut(*u.PauseReason, 1000))
	}
	if u.ScheduledBy != nil {
		set("scheduled_by", nullString(*u.ScheduledBy))
	}
	for _, tc := range []struct {
		col string
		v   *time.Time
	}{{"next_send_at", u.NextSendAt}, {"scheduled_at", u.ScheduledAt}, {"paused_at", u.PausedAt},
		{"completed_at", u.CompletedAt}, {"cancelled_at", u.CancelledAt}, {"deleted_at", u.DeletedAt}} {
		if tc.v != nil {
			set(tc.col, nullTime(tc.v.UTC().Truncate(time.Microsecond)))
		}
	}
	if u.StartedAt != nil {
		sets = append(sets, "started_at = COALESCE(started_at, ?)")
		args = append(args, u.StartedAt.UTC().Truncate(time.Microsecond))
	}
	if len(sets) == 0 {
		return nil
	}
	set("updated_at", t.db.timestamp())
	args = append(args, t.c.ID)
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE campaigns SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
		return fmt.Errorf("update campaign %d: %w", t.c.ID, err)
	}
	return nil
}

// TakeBackUntried deletes the campaign's queue items that are queued and
// were never tried, so their contacts are pending again (a pause holds at
// once; resume queues them again). It returns how many it took back.
func (t *CampaignTx) TakeBackUntried() (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `DELETE FROM queue_items WHERE campaign_id = ? AND status = 'queued' AND attempts = 0`, t.c.ID)
	if err != nil {
		return 0, fmt.Errorf("take back items: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// CancelQueued cancels the campaign's queued items.
func (t *CampaignTx) CancelQueued() (int64, error) {
	now := t.db.timestamp()
	res, err := t.tx.ExecContext(t.ctx, `UPDATE queue_items SET status = 'cancelled', cancelled_at = ?, updated_at = ?
WHERE campaign_id = ? AND status = 'queued'`, now, now, t.c.ID)
	if err != nil {
		return 0, fmt.Errorf("cancel items: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Contact is a campaign contact.
type Contact struct {
	ID    int64
	Phone string
	Name  string
	Vars  map[string]string
	// OptedOut says the phone is on the opt-out list now: the contact
	// must get no campaign message (see CampaignTx.EndOptedOut).
	OptedOut bool
}

// PendingContacts returns up to limit contacts that have no queue item yet,
// in import order, each with whether its phone opted out.
func (t *CampaignTx) PendingContacts(limit int) ([]Contact, error) {
	var rows []struct {
		ID       int64  `db:"id"`
		Phone    string `db:"phone"`
		Name     string `db:"name"`
		Vars     string `db:"variables"`
		OptedOut bool   `db:"opted_out"`
	}
	if err := t.tx.SelectContext(t.ctx, &rows, `SELECT c.id, c.phone, c.name, c.variables, o.phone IS NOT NULL AS opted_out
FROM campaign_contacts c
LEFT JOIN queue_items q ON q.contact_id = c.id
LEFT JOIN opt_outs o ON o.phone = c.phone
WHERE c.campaign_id = ? AND q.id IS NULL ORDER BY c.id LIMIT ?`, t.c.ID, limit); err != nil {
		return nil, fmt.Errorf("pending contacts: %w", err)
	}
	out := make([]Contact, len(rows))
	for i, r := range rows {
		out[i] = Contact{ID: r.ID, Phone: r.Phone, Name: r.Name, OptedOut: r.OptedOut}
		_ = json.Unmarshal([]byte(r.Vars), &out[i].Vars)
	}
	return out, nil
}

// EndOptedOut records items for contacts whose phone opted out, never to
// be sent: each is written cancelled with outcome OutcomeOptedOut, so its
// contact is no longer pending, nothing is left open to hold the campaign
// back, and reports count it as opted out.
func (t *CampaignTx) EndOptedOut(items []NewQueueItem) error {
	now := t.db.timestamp()
	for _, it := range items {
		row, err := enqueueRow(it, now)
		if err != nil {
			return err
		}
		res, err := t.tx.ExecContext(t.ctx, `INSERT INTO queue_items (`+optedOutColumns+`) VALUES `+optedOutPlaceholders,
			append(row, optedOutError, OutcomeOptedOut, now)...)
		if err != nil {
			return fmt.Errorf("record opted-out contact: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("record opted-out contact: %w", err)
		}
		if err := addEvent(t.ctx, t.tx, now, id, it.CreatedBy, OutcomeOptedOut, "", StatusCancelled, optedOutError); err != nil {
			return err
		}
	}
	return nil
}

// optedOutColumns and optedOutPlaceholders insert an item already ended
// as opted out: enqueueColumns' values (status cancelled, no attempt),
// then last_error, last_error_class and cancelled_at.
const (
	optedOutColumns      = enqueueColumns + `, last_error, last_error_class, cancelled_at`
	optedOutPlaceholders = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'cancelled', 0, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// Enqueue adds queue items inside the campaign's transaction.
func (t *CampaignTx) Enqueue(items []NewQueueItem) error {
	now := t.db.timestamp()
	for _, it := range items {
		row, err := enqueueRow(it, now)
		if err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO queue_items (`+enqueueColumns+`) VALUES `+enqueuePlaceholders, row...); err != nil {
			return fmt.Errorf("enqueue campaign item: %w", err)
		}
	}
	return nil
}

// NewContact is a contact to add to a campaign.
type NewContact struct {
	Phone string
	Name  string
	Vars  map[string]string
	Row   int
}

// AddCampaignContacts adds contacts, skipping phones the campaign has
// already and phones that opted out. It returns how many were added, how
// many were already there, and how many were suppressed.
func (db *DB) AddCampaignContacts(ctx context.Context, campaignID int64, contacts []NewContact) (added, duplicates, suppressed int, err error) {
	now := db.timestamp()
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		added, duplicates, suppressed = 0, 0, 0
		for start := 0; start < len(contacts); start += 500 {
			chunk := contacts[start:min(start+500, len(contacts))]
			phones := make([]string, len(chunk))
			for i, c := range chunk {
				phones[i] = c.Phone
			}
			out, err := optedOut(ctx, tx, phones)
			if err != nil {
				return err
			}
			var args []any
			n := 0
			for _, c := range chunk {
				if out[c.Phone] {
					suppressed++
					continue
				}
				vars := "{}"
				if len(c.Vars) > 0 {
					b, err := json.Marshal(c.Vars)
					if err != nil {
						return err
					}
					vars = string(b)
				}
				args = append(args, campaignID, c.Phone, c.Name, vars, c.Row, now)
				n++
			}
			if n == 0 {
				continue
			}
			q := db.sql.insertContactsIgnore + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?), ", n), ", ")
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			got, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += int(got)
			duplicates += n - int(got)
		}
		return nil
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("add contacts: %w", err)
	}
	return added, duplicates, suppressed, nil
}

func optedOut(ctx context.Context, tx *sqlx.Tx, phones []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(phones) == 0 {
		return out, nil
	}
	in, args := inList(phones)
	var got []string
	if err := tx.SelectContext(ctx, &got, `SELECT phone FROM opt_outs WHERE phone IN (`+in+`)`, args...); err != nil {
		return nil, err
	}
	for _, p := range got {
		out[p] = true
	}
	return out, nil
}

// LastContactID is the highest contact id of a campaign (0 when none): the
// mark to roll an import back to.
func (db *DB) LastContactID(ctx context.Context, campaignID int64) (int64, error) {
	var id sql.NullInt64
	if err := db.x.GetContext(ctx, &id, `SELECT MAX(id) FROM campaign_contacts WHERE campaign_id = ?`, campaignID); err != nil {
		return 0, fmt.Errorf("last contact: %w", err)
	}
	return id.Int64, nil
}

// RemoveContactsAfter deletes a campaign's contacts added after the mark
// that have no queue item yet: the undo of an import that failed halfway.
func (db *DB) RemoveContactsAfter(ctx context.Context, campaignID, afterID int64) error {
	_, err := db.x.ExecContext(ctx, `DELETE FROM campaign_contacts WHERE campaign_id = ? AND id > ?
AND NOT EXISTS (SELECT 1 FROM queue_items q WHERE q.contact_id = campaign_contacts.id)`, campaignID, afterID)
	if err != nil {
		return fmt.Errorf("remove contacts: %w", err)
	}
	return nil
}

// CampaignContacts returns a campaign's contacts in order (for copies).
func (db *DB) CampaignContacts(ctx context.Context, campaignID int64) ([]NewContact, error) {
	var rows []struct {
		Phone string `db:"phone"`
		Name  string `db:"name"`
		Vars  string `db:"variables"`
		Row   int    `db:"source_row"`
	}
	if err := db.x.SelectContext(ctx, &rows, `SELECT phone, name, variables, source_row FROM campaign_contacts WHERE campaign_id = ? ORDER BY id`, campaignID); err != nil {
		return nil, fmt.Errorf("campaign contacts: %w", err)
	}
	out := make([]NewContact, len(rows))
	for i, r := range rows {
		out[i] = NewContact{Phone: r.Phone, Name: r.Name, Row: r.Row}
		_ = json.Unmarshal([]byte(r.Vars), &out[i].Vars)
	}
	return out, nil
}

// AddOptOut records that a phone asked not to get campaign messages.
func (db *DB) AddOptOut(ctx context.Context, phone, reason, actor string) error {
	_, err := db.x.ExecContext(ctx, db.sql.insertOptOutIgnore, phone, reason, "chat", db.timestamp(), actor)
	if err != nil {
		return fmt.Errorf("opt out: %w", err)
	}
	return nil
}

// DueCampaigns returns the ids of campaigns in status (deleted ones
// left out) whose time column is at or before a moment: scheduled ones by
// scheduled_at, running ones by next_send_at (a running campaign that has
// no next slot yet counts as due).
func (db *DB) DueCampaigns(ctx context.Context, status string, before time.Time) ([]int64, error) {
	col := "next_send_at"
	if status == CampaignScheduled {
		col = "scheduled_at"
	}
	var ids []int64
	if err := db.x.SelectContext(ctx, &ids, `SELECT id FROM campaigns WHERE status = ? AND deleted_at IS NULL
AND (`+col+` IS NULL OR `+col+` <= ?) ORDER BY id`, status, before.UTC()); err != nil {
		return nil, fmt.Errorf("due campaigns: %w", err)
	}
	return ids, nil
}

// ContactColumns counts, for each variable (column) of a campaign's
// contacts, how many contacts have a non-empty value, and returns the
// number of contacts.
func (db *DB) ContactColumns(ctx context.Context, campaignID int64) (map[string]int, int, error) {
	return contactColumns(ctx, db.x, campaignID)
}

// ContactColumns is DB.ContactColumns for the locked campaign, read
// inside its transaction.
func (t *CampaignTx) ContactColumns() (map[string]int, int, error) {
	return contactColumns(t.ctx, t.tx, t.c.ID)
}

// CatalogEntries is DB.CatalogEntries read inside the campaign's
// transaction: the readiness check finds its template's status and shape.
func (t *CampaignTx) CatalogEntries(kind string) ([]CatalogEntry, error) {
	var list []CatalogEntry
	if err := sqlx.SelectContext(t.ctx, t.tx, &list, `SELECT `+catalogColumns+` FROM catalog_entries WHERE kind = ? ORDER BY name`, kind); err != nil {
		return nil, fmt.Errorf("%s catalog: %w", kind, err)
	}
	for i := range list {
		list[i] = list[i].utc()
	}
	return list, nil
}

func contactColumns(ctx context.Context, q sqlx.QueryerContext, campaignID int64) (map[string]int, int, error) {
	rows, err := q.QueryContext(ctx, `SELECT variables FROM campaign_contacts WHERE campaign_id = ?`, campaignID)
	if err != nil {
		return nil, 0, fmt.Errorf("contact columns: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	total := 0
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, 0, fmt.Errorf("contact columns: %w", err)
		}
		total++
		var vars map[string]string
		_ = json.Unmarshal([]byte(raw), &vars)
		for k, v := range vars {
			if strings.TrimSpace(v) != "" {
				counts[k]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("contact columns: %w", err)
	}
	return counts, total, nil
}

// CampaignStats counts a campaign's contacts by the state of their message.
type CampaignStats struct {
	Total, Pending                            int64
	Queued, Processing, Sent, Delivered, Read int64
	Failed, Cancelled                         int64
	// OptedOut counts contacts never sent to because their phone opted
	// out (items cancelled with outcome OutcomeOptedOut); they are not in
	// Cancelled.
	OptedOut int64
}

// CampaignStats returns a campaign's counts. Sent includes delivered and
// read; Pending counts contacts not yet queued.
func (db *DB) CampaignStats(ctx context.Context, id int64) (CampaignStats, error) {
	var s CampaignStats
	if err := db.x.GetContext(ctx, &s.Total, `SELECT COUNT(*) FROM campaign_contacts WHERE campaign_id = ?`, id); err != nil {
		return s, fmt.Errorf("campaign stats: %w", err)
	}
	var rows []struct {
		Status string `db:"status"`
		N      int64  `db:"n"`
	}
	if err := db.x.SelectContext(ctx, &rows, `SELECT `+reportedStatus("")+` AS status, COUNT(*) AS n FROM queue_items
WHERE campaign_id = ? GROUP BY `+reportedStatus(""), id); err != nil {
		return s, fmt.Errorf("campaign stats: %w", err)
	}
	var items int64
	for _, r := range rows {
		items += r.N
		switch QueueStatus(r.Status) {
		case StatusQueued:
			s.Queued = r.N
		case StatusProcessing:
			s.Processing = r.N
		case StatusSent:
			s.Sent += r.N
		case StatusDelivered:
			s.Sent += r.N
			s.Delivered += r.N
		case StatusRead:
			s.Sent += r.N
			s.Delivered += r.N
			s.Read = r.N
		case StatusFailed:
			s.Failed = r.N
		case StatusCancelled:
			s.Cancelled = r.N
		case StatusOptedOut:
			s.OptedOut = r.N
		}
	}
	s.Pending = s.Total - items
	return s, nil
}

// reportedStatus is the SQL for a queue item's status as campaign reports
// show it, q naming the item's table ("" or an alias with its dot): its
// stored status, except StatusOptedOut for an item cancelled because its
// phone opted out.
func reportedStatus(q string) string {
	return `CASE WHEN ` + q + `status = 'cancelled' AND ` + q + `last_error_class = '` + OutcomeOptedOut + `' THEN '` +
		string(StatusOptedOut) + `' ELSE ` + q + `status END`
}

// CampaignResult is one contact's outcome.
type CampaignResult struct {
	Phone string `db:"phone"`
	Name  string `db:"name"`
	// Status is the reported status of the contact's message
	// (StatusOptedOut for one never sent because the phone opted out);
	// NULL while the contact has none.
	Status      sql.NullString `db:"status"`
	Attempts    sql.NullInt64  `db:"attempts"`
	LastError   sql.NullString `db:"last_error"`
	SentAt      sql.NullTime   `db:"sent_at"`
	DeliveredAt sql.NullTime   `db:"delivered_at"`
	// OptOutSource and OptedOutAt are the number's entry on the opt-out
	// list now ("chat", "customer reply"), NULL when it has none.
	OptOutSource sql.NullString `db:"optout_source"`
	OptedOutAt   sql.NullTime   `db:"optout_at"`
}

// CampaignResults returns one row per contact, in import order.
func (db *DB) CampaignResults(ctx context.Context, id int64) ([]CampaignResult, error) {
	var rows []CampaignResult
	err := db.x.SelectContext(ctx, &rows, `SELECT c.phone, c.name, `+reportedStatus("q.")+` AS status, q.attempts, q.last_error, q.sent_at, q.delivered_at,
o.source AS optout_source, o.created_at AS optout_at
FROM campaign_contacts c LEFT JOIN queue_items q ON q.contact_id = c.id LEFT JOIN opt_outs o ON o.phone = c.phone
WHERE c.campaign_id = ? ORDER BY c.id`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign results: %w", err)
	}
	return rows, nil
}
