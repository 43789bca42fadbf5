package store

import (
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
	CreatedBy   string
	CreatedAt   time.Time
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
	CreatedBy   string         `db:"created_by"`
	CreatedAt   time.Time      `db:"created_at"`
}

const campaignColumns = `id, name, status, content_kind, body, saved_message_id, template_name, template_language,
template_params, flow_id, gateway, send_interval_ms, next_send_at, scheduled_at, started_at, paused_at, completed_at,
created_by, created_at`

func (r campaignRow) campaign() Campaign {
	c := Campaign{
		ID: r.ID, Name: r.Name, Status: r.Status, Gateway: r.Gateway.String,
		Interval:   time.Duration(r.IntervalMS) * time.Millisecond,
		NextSendAt: utc(r.NextSendAt), ScheduledAt: utc(r.ScheduledAt), StartedAt: utc(r.StartedAt),
		PausedAt: utc(r.PausedAt), CompletedAt: utc(r.CompletedAt), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
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

// Campaign returns a campaign that is not deleted, or ErrNotFound.
func (db *DB) Campaign(ctx context.Context, id int64) (Campaign, error) {
	var r campaignRow
	err := db.x.GetContext(ctx, &r, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ? AND deleted_at IS NULL`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
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

// CampaignUpdate changes a campaign's settings; nil fields stay.
type CampaignUpdate struct {
	Content  *QueueContent
	Gateway  *string
	Interval *time.Duration
}

// UpdateCampaign changes a campaign that is not running, completed or
// cancelled.
func (db *DB) UpdateCampaign(ctx context.Context, id int64, u CampaignUpdate) (Campaign, error) {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := lockCampaign(ctx, tx, db.dialect, id)
		if err != nil {
			return err
		}
		if !slices.Contains([]string{CampaignDraft, CampaignScheduled, CampaignPaused}, c.Status) {
			return fmt.Errorf("campaign %d is %s: %w", id, c.Status, ErrConflict)
		}
		now := db.timestamp()
		if u.Content != nil {
			if err := u.Content.Validate(); err != nil {
				return err
			}
			args, err := contentArgs(*u.Content)
			if err != nil {
				return err
			}
			// campaigns has no flow_variables column: drop it from the args.
			args = args[:len(args)-1]
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET content_kind = ?, body = ?, saved_message_id = ?,
template_name = ?, template_language = ?, template_params = ?, flow_id = ?, updated_at = ? WHERE id = ?`,
				append(args, now, id)...); err != nil {
				return err
			}
		}
		if u.Gateway != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET gateway = ?, updated_at = ? WHERE id = ?`, nullString(*u.Gateway), now, id); err != nil {
				return err
			}
		}
		if u.Interval != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET send_interval_ms = ?, updated_at = ? WHERE id = ?`, u.Interval.Milliseconds(), now, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("update campaign: %w", err)
	}
	return db.Campaign(ctx, id)
}

func lockCampaign(ctx context.Context, tx *sqlx.Tx, d Dialect, id int64) (Campaign, error) {
	var r campaignRow
	err := tx.GetContext(ctx, &r, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ? AND deleted_at IS NULL`+d.forUpdate(), id)
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, fmt.Errorf("campaign %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Campaign{}, err
	}
	return r.campaign(), nil
}

// CampaignAction is a state change an operator asks for.
type CampaignAction string

// The campaign actions.
const (
	ActionStart    CampaignAction = "start"
	ActionPause    CampaignAction = "pause"
	ActionResume   CampaignAction = "resume"
	ActionCancel   CampaignAction = "cancel"
	ActionDelete   CampaignAction = "delete"
	ActionSchedule CampaignAction = "schedule"
)

// ChangeCampaign applies an action. Start and resume set the next send slot
// to now; pause takes back the items queued for coming slots that were never
// tried; schedule sets the start time (at); cancel also cancels the
// campaign's queued items; delete (not while running) hides the campaign
// but keeps its results. It returns ErrConflict when the campaign's state
// does not allow the action, and an error when a campaign without content or
// contacts is started.
func (db *DB) ChangeCampaign(ctx context.Context, id int64, action CampaignAction, at time.Time, actor string) (Campaign, error) {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := lockCampaign(ctx, tx, db.dialect, id)
		if err != nil {
			return err
		}
		now := db.timestamp()
		allowed := map[CampaignAction][]string{
			ActionStart:    {CampaignDraft, CampaignScheduled},
			ActionSchedule: {CampaignDraft, CampaignScheduled},
			ActionPause:    {CampaignRunning},
			ActionResume:   {CampaignPaused},
			ActionCancel:   {CampaignDraft, CampaignScheduled, CampaignRunning, CampaignPaused},
			ActionDelete:   {CampaignDraft, CampaignScheduled, CampaignPaused, CampaignCompleted, CampaignCancelled},
		}[action]
		if !slices.Contains(allowed, c.Status) {
			return fmt.Errorf("campaign %d is %s: %w", id, c.Status, ErrConflict)
		}
		if action == ActionStart || action == ActionSchedule {
			if c.Content.Kind == "" {
				return fmt.Errorf("campaign %d has nothing to send yet: %w", id, ErrIncomplete)
			}
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM campaign_contacts WHERE campaign_id = ?`, id); err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("campaign %d has no contacts: %w", id, ErrIncomplete)
			}
		}
		var q string
		var args []any
		switch action {
		case ActionStart:
			q, args = `UPDATE campaigns SET status = 'running', started_at = COALESCE(started_at, ?), next_send_at = ?, updated_at = ? WHERE id = ?`, []any{now, now, now, id}
		case ActionSchedule:
			q, args = `UPDATE campaigns SET status = 'scheduled', scheduled_at = ?, updated_at = ? WHERE id = ?`, []any{at.UTC().Truncate(time.Microsecond), now, id}
		case ActionPause:
			// Items queued ahead for coming slots and never tried go back to
			// being pending contacts, so the pause holds at once; resume
			// queues them again.
			if _, err := tx.ExecContext(ctx, `DELETE FROM queue_items WHERE campaign_id = ? AND status = 'queued' AND attempts = 0`, id); err != nil {
				return err
			}
			q, args = `UPDATE campaigns SET status = 'paused', paused_at = ?, updated_at = ? WHERE id = ?`, []any{now, now, id}
		case ActionResume:
			q, args = `UPDATE campaigns SET status = 'running', paused_at = NULL, next_send_at = ?, updated_at = ? WHERE id = ?`, []any{now, now, id}
		case ActionCancel:
			if _, err := tx.ExecContext(ctx, `UPDATE queue_items SET status = 'cancelled', cancelled_at = ?, updated_at = ?
WHERE campaign_id = ? AND status = 'queued'`, now, now, id); err != nil {
				return err
			}
			q, args = `UPDATE campaigns SET status = 'cancelled', cancelled_at = ?, updated_at = ? WHERE id = ?`, []any{now, now, id}
		case ActionDelete:
			q, args = `UPDATE campaigns SET deleted_at = ?, updated_at = ? WHERE id = ?`, []any{now, now, id}
		default:
			return fmt.Errorf("unknown campaign action %q", action)
		}
		_, err = tx.ExecContext(ctx, q, args...)
		return err
	})
	if err != nil {
		return Campaign{}, fmt.Errorf("campaign %s: %w", action, err)
	}
	if action == ActionDelete {
		return Campaign{ID: id, Status: "deleted"}, nil
	}
	return db.Campaign(ctx, id)
}

// ErrIncomplete means a campaign lacks content or contacts to start.
var ErrIncomplete = errors.New("campaign is not ready")

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
	args := make([]any, len(phones))
	for i, p := range phones {
		args[i] = p
	}
	var got []string
	if err := tx.SelectContext(ctx, &got, `SELECT phone FROM opt_outs WHERE phone IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(phones)), ", ")+`)`, args...); err != nil {
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

// DispatchCampaigns queues the next contacts of every running campaign whose
// send slots fall before now+horizon, one queue item per slot with the slot
// as its due time, so the interval holds however many processes dispatch
// and however many workers send. The campaign row is locked while its slots
// are handed out. Scheduled campaigns whose start time has come start. A
// running campaign with no contacts left and nothing pending completes. It
// returns how many items it queued.
func (db *DB) DispatchCampaigns(ctx context.Context, horizon time.Duration, maxAttempts int) (int, error) {
	now := db.timestamp()
	if _, err := db.x.ExecContext(ctx, `UPDATE campaigns SET status = 'running', started_at = COALESCE(started_at, ?),
next_send_at = scheduled_at, updated_at = ? WHERE status = 'scheduled' AND scheduled_at <= ? AND deleted_at IS NULL`, now, now, now); err != nil {
		return 0, fmt.Errorf("dispatch: start scheduled: %w", err)
	}
	var ids []int64
	if err := db.x.SelectContext(ctx, &ids, `SELECT id FROM campaigns WHERE status = 'running' AND deleted_at IS NULL
AND (next_send_at IS NULL OR next_send_at <= ?)`, now.Add(horizon)); err != nil {
		return 0, fmt.Errorf("dispatch: %w", err)
	}
	total := 0
	for _, id := range ids {
		n, err := db.dispatchCampaign(ctx, id, now, horizon, maxAttempts)
		if err != nil {
			return total, fmt.Errorf("dispatch campaign %d: %w", id, err)
		}
		total += n
	}
	return total, nil
}

func (db *DB) dispatchCampaign(ctx context.Context, id int64, now time.Time, horizon time.Duration, maxAttempts int) (int, error) {
	queued := 0
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		queued = 0
		c, err := lockCampaign(ctx, tx, db.dialect, id)
		if err != nil || c.Status != CampaignRunning {
			return err
		}
		next := c.NextSendAt
		if next.IsZero() || next.Before(now.Add(-c.Interval)) {
			// Never catch up on slots missed while nobody dispatched.
			next = now
		}
		limit := 500
		if c.Interval > 0 {
			limit = min(limit, int(now.Add(horizon).Sub(next)/c.Interval)+1)
		}
		if limit <= 0 {
			return nil
		}
		var contacts []struct {
			ID    int64  `db:"id"`
			Phone string `db:"phone"`
			Name  string `db:"name"`
			Vars  string `db:"variables"`
		}
		if err := tx.SelectContext(ctx, &contacts, `SELECT c.id, c.phone, c.name, c.variables FROM campaign_contacts c
LEFT JOIN queue_items q ON q.contact_id = c.id
WHERE c.campaign_id = ? AND q.id IS NULL ORDER BY c.id LIMIT ?`, id, limit); err != nil {
			return err
		}
		if len(contacts) == 0 {
			var pending int
			if err := tx.GetContext(ctx, &pending, `SELECT COUNT(*) FROM queue_items WHERE campaign_id = ? AND status IN ('queued', 'processing')`, id); err != nil {
				return err
			}
			if pending == 0 {
				_, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = 'completed', completed_at = ?, updated_at = ? WHERE id = ?`, now, now, id)
				return err
			}
			return nil
		}
		for _, ct := range contacts {
			content := c.Content
			var vars map[string]string
			_ = json.Unmarshal([]byte(ct.Vars), &vars)
			switch content.Kind {
			case ContentFlow:
				content.FlowVariables = vars
			case ContentTemplate:
				content.TemplateParams = fillParams(content.TemplateParams, ct.Name, vars)
			}
			row, err := enqueueRow(NewQueueItem{Phone: ct.Phone, Content: content, Gateway: c.Gateway, Priority: PriorityCampaign,
				CampaignID: id, ContactID: ct.ID, MaxAttempts: maxAttempts, NotBefore: next, CreatedBy: "campaign:" + fmt.Sprint(id)}, now)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO queue_items (`+enqueueColumns+`) VALUES `+enqueuePlaceholders, row...); err != nil {
				return err
			}
			queued++
			next = next.Add(c.Interval)
		}
		_, err = tx.ExecContext(ctx, `UPDATE campaigns SET next_send_at = ?, updated_at = ? WHERE id = ?`, next, now, id)
		return err
	})
	return queued, err
}

// CampaignStats counts a campaign's contacts by the state of their message.
type CampaignStats struct {
	Total, Pending                            int64
	Queued, Processing, Sent, Delivered, Read int64
	Failed, Cancelled                         int64
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
	if err := db.x.SelectContext(ctx, &rows, `SELECT status, COUNT(*) AS n FROM queue_items WHERE campaign_id = ? GROUP BY status`, id); err != nil {
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
		}
	}
	s.Pending = s.Total - items
	return s, nil
}

// CampaignResult is one contact's outcome.
type CampaignResult struct {
	Phone       string         `db:"phone"`
	Name        string         `db:"name"`
	Status      sql.NullString `db:"status"`
	Attempts    sql.NullInt64  `db:"attempts"`
	LastError   sql.NullString `db:"last_error"`
	SentAt      sql.NullTime   `db:"sent_at"`
	DeliveredAt sql.NullTime   `db:"delivered_at"`
}

// CampaignResults returns one row per contact, in import order.
func (db *DB) CampaignResults(ctx context.Context, id int64) ([]CampaignResult, error) {
	var rows []CampaignResult
	err := db.x.SelectContext(ctx, &rows, `SELECT c.phone, c.name, q.status, q.attempts, q.last_error, q.sent_at, q.delivered_at
FROM campaign_contacts c LEFT JOIN queue_items q ON q.contact_id = c.id
WHERE c.campaign_id = ? ORDER BY c.id`, id)
	if err != nil {
		return nil, fmt.Errorf("campaign results: %w", err)
	}
	return rows, nil
}

// fillParams replaces "{name}" and "{Column}" in template parameters with the
// contact's name and columns; other parameters are sent as written.
func fillParams(params []string, name string, vars map[string]string) []string {
	out := make([]string, len(params))
	for i, p := range params {
		key, ok := strings.CutPrefix(p, "{")
		if key, ok2 := strings.CutSuffix(key, "}"); ok && ok2 {
			switch {
			case strings.EqualFold(key, "name"):
				out[i] = name
			case vars[key] != "":
				out[i] = vars[key]
			default:
				for k, v := range vars {
					if strings.EqualFold(k, key) {
						out[i] = v
					}
				}
			}
			continue
		}
		out[i] = p
	}
	return out
}
