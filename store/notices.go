package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/messagebridge/messagebridge/store/words"
)

// NoticeState is where a staff notice is: pending (to be told), sent, or
// dropped (no longer worth telling, or the chat kept refusing it).
type NoticeState string

// The notice states.
const (
	NoticePending NoticeState = "pending"
	NoticeSent    NoticeState = "sent"
	NoticeDropped NoticeState = "dropped"
)

// StaffNotice says that the person who queued an item from a chat must be
// told it failed. The failing transaction adds it (see addStaffNotice), so
// no failure is missed and none is added twice. A notice about a campaign
// (CampaignID set, ItemID 0) tells the one who scheduled it that it did not
// start (see CampaignTx.NotifyScheduler).
type StaffNotice struct {
	ID         int64 `db:"id"`
	ItemID     int64 `db:"queue_item_id"`
	CampaignID int64 `db:"campaign_id"`
	// InboundID, when set, makes the notice a forward of a customer's
	// message to a chat (ItemID and CampaignID 0; see AddInboundNotices).
	InboundID int64 `db:"inbound_message_id"`
	// Recipient is the chat identity that queued the item
	// ("telegram:123").
	Recipient string `db:"recipient"`
	// FailedAt is the failure this notice is about: an item retried and
	// failed again gets a new notice.
	FailedAt time.Time   `db:"failed_at"`
	State    NoticeState `db:"state"`
	// Attempts counts the claims, this one included.
	Attempts      int       `db:"attempts"`
	NextAttemptAt time.Time `db:"next_attempt_at"`
	// Token is the claim's token; FinishStaffNotice must present it.
	Token     string    `db:"claim_token"`
	CreatedAt time.Time `db:"created_at"`
	Detail    string    `db:"detail"`
}

// noticeColumns are selected into StaffNotice.
const noticeColumns = `id, COALESCE(queue_item_id, 0) AS queue_item_id, COALESCE(campaign_id, 0) AS campaign_id,
COALESCE(inbound_message_id, 0) AS inbound_message_id, recipient, failed_at, state, attempts, next_attempt_at,
COALESCE(claim_token, '') AS claim_token, created_at, detail`

// addStaffNotice adds, within the transaction that failed an item, a
// notice for the person who queued it: only for an item that is failed
// now, belongs to no campaign and was queued by someone in the operators
// table (a chat identity; the web page, the system and campaigns are not
// told). where selects the item in queue_items q; args fill it.
func addStaffNotice(ctx context.Context, tx *sqlx.Tx, now time.Time, where string, args ...any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO staff_notices
(queue_item_id, recipient, failed_at, state, attempts, next_attempt_at, created_at, detail)
SELECT q.id, q.created_by, q.failed_at, 'pending', 0, ?, ?, '' FROM queue_items q
WHERE `+where+` AND q.status = 'failed' AND q.failed_at IS NOT NULL AND q.campaign_id IS NULL
AND EXISTS (SELECT 1 FROM operators o WHERE o.identity = q.created_by)`,
		append([]any{now, now}, args...)...)
	if err != nil {
		return fmt.Errorf("add staff notice: %w", err)
	}
	return nil
}

// AddInboundNotices adds one notice per recipient (a chat identity,
// "telegram:123") that forwards the stored customer message inboundID to
// it; FailedAt is when the customer wrote. Recipients repeated are added
// once. The outbox tells each one once, whichever process claims it.
func (db *DB) AddInboundNotices(ctx context.Context, inboundID int64, at time.Time, recipients []string) error {
	now := db.timestamp()
	if at.IsZero() {
		at = now
	}
	at = at.UTC().Truncate(time.Microsecond)
	seen := map[string]bool{}
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, r := range recipients {
			if r == "" || seen[r] {
				continue
			}
			seen[r] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO staff_notices
(inbound_message_id, recipient, failed_at, state, attempts, next_attempt_at, created_at, detail)
VALUES (?, ?, ?, 'pending', 0, ?, ?, '')`, inboundID, r, at, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add forward notices for inbound message %d: %w", inboundID, err)
	}
	return nil
}

// InboundNotices returns the notices forwarding one customer message,
// oldest first.
func (db *DB) InboundNotices(ctx context.Context, inboundID int64) ([]StaffNotice, error) {
	var ns []StaffNotice
	if err := db.x.SelectContext(ctx, &ns, `SELECT `+noticeColumns+` FROM staff_notices WHERE inbound_message_id = ? ORDER BY id`, inboundID); err != nil {
		return nil, fmt.Errorf("inbound notices: %w", err)
	}
	for i := range ns {
		ns[i] = ns[i].utc()
	}
	return ns, nil
}

// LastQueuedBy returns the chat identity of the person in the operators
// table who most recently queued a message to phone at or after since,
// or ErrNotFound when nobody did (campaigns, the web page and the system
// are not people to forward to).
func (db *DB) LastQueuedBy(ctx context.Context, phone string, since time.Time) (string, error) {
	var who string
	err := db.x.GetContext(ctx, &who, `SELECT q.created_by FROM queue_items q
JOIN operators o ON o.identity = q.created_by
WHERE q.phone = ? AND q.created_at >= ?
ORDER BY q.created_at DESC, q.id DESC LIMIT 1`, phone, since.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("last sender to %s: %w", phone, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("last sender to %s: %w", phone, err)
	}
	return who, nil
}

// NoticeClaim says which pending notices to claim.
type NoticeClaim struct {
	// Transports limits the claim to recipients of these chat transports
	// ("telegram", "whatsapp"): the ones this process can send through
	// now. None claims nothing.
	Transports []string
	// Limit is the most notices to claim (default 20).
	Limit int
	// Token is stamped on each claimed notice; required.
	Token string
	// Lease is how long a claim keeps the notice from other claimers
	// (default 2m): a process that dies with it lets it go after that.
	Lease time.Duration
	// MaxAge drops pending notices older than this unsent, as stale
	// (default 24h): a failure told a day late helps nobody.
	MaxAge time.Duration
}

// ClaimStaffNotices claims due pending notices for p.Transports, oldest
// first, each with a guarded update: concurrent claimers, here or in other
// processes, never get the same notice while its lease runs. Each claim
// counts an attempt. Pending notices older than p.MaxAge are dropped first.
func (db *DB) ClaimStaffNotices(ctx context.Context, p NoticeClaim) ([]StaffNotice, error) {
	if p.Token == "" {
		return nil, errors.New("claim notices: a token is required")
	}
	if len(p.Transports) == 0 {
		return nil, nil
	}
	if p.Limit <= 0 {
		p.Limit = 20
	}
	if p.Lease <= 0 {
		p.Lease = 2 * time.Minute
	}
	if p.MaxAge <= 0 {
		p.MaxAge = 24 * time.Hour
	}
	now := db.timestamp()
	if _, err := db.exec(ctx, `UPDATE staff_notices SET state = 'dropped', claim_token = NULL, finished_at = ?,
detail = 'too old to be worth telling' WHERE state = 'pending' AND next_attempt_at <= ? AND created_at < ?`,
		now, now, now.Add(-p.MaxAge)); err != nil {
		return nil, fmt.Errorf("claim notices: %w", err)
	}
	var like []string
	args := []any{now}
	for _, t := range p.Transports {
		like = append(like, "recipient LIKE ?")
		args = append(args, t+":%")
	}
	var ids []int64
	if err := db.x.SelectContext(ctx, &ids, `SELECT id FROM staff_notices
WHERE state = 'pending' AND next_attempt_at <= ? AND (`+strings.Join(like, " OR ")+`)
ORDER BY next_attempt_at, id LIMIT ?`, append(args, p.Limit)...); err != nil {
		return nil, fmt.Errorf("claim notices: %w", err)
	}
	var out []StaffNotice
	for _, id := range ids {
		n, err := db.exec(ctx, `UPDATE staff_notices SET claim_token = ?, next_attempt_at = ?, attempts = attempts + 1
WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?`, p.Token, now.Add(p.Lease), id, now)
		if err != nil {
			return out, fmt.Errorf("claim notice %d: %w", id, err)
		}
		if n == 0 {
			continue // another claimer was first
		}
		var sn StaffNotice
		if err := db.x.GetContext(ctx, &sn, `SELECT `+noticeColumns+` FROM staff_notices WHERE id = ?`, id); err != nil {
			return out, fmt.Errorf("claim notice %d: %w", id, err)
		}
		out = append(out, sn.utc())
	}
	return out, nil
}

func (n StaffNotice) utc() StaffNotice {
	n.FailedAt, n.NextAttemptAt, n.CreatedAt = n.FailedAt.UTC(), n.NextAttemptAt.UTC(), n.CreatedAt.UTC()
	return n
}

// NoticeOutcome is what became of a claimed notice.
type NoticeOutcome struct {
	// State is sent, dropped, or pending (try again at RetryAt).
	State   NoticeState
	RetryAt time.Time
	// Detail says why, for operators (cut to 255 characters).
	Detail string
}

// FinishStaffNotice records the outcome of a claimed notice. It is guarded
// by the claim's token: false means the claim had expired and another
// claimer owns the notice now (or it was finished already).
func (db *DB) FinishStaffNotice(ctx context.Context, id int64, token string, o NoticeOutcome) (bool, error) {
	now := db.timestamp()
	detail := words.Cut(o.Detail, 255)
	var n int64
	var err error
	switch o.State {
	case NoticeSent, NoticeDropped:
		n, err = db.exec(ctx, `UPDATE staff_notices SET state = ?, claim_token = NULL, finished_at = ?, detail = ?
WHERE id = ? AND claim_token = ? AND state = 'pending'`, string(o.State), now, detail, id, token)
	case NoticePending:
		next := o.RetryAt.UTC().Truncate(time.Microsecond)
		if next.IsZero() {
			next = now
		}
		n, err = db.exec(ctx, `UPDATE staff_notices SET claim_token = NULL, next_attempt_at = ?, detail = ?
WHERE id = ? AND claim_token = ? AND state = 'pending'`, next, detail, id, token)
	default:
		return false, fmt.Errorf("finish notice %d: state %q is not sent, dropped or pending", id, o.State)
	}
	if err != nil {
		return false, fmt.Errorf("finish notice %d: %w", id, err)
	}
	return n > 0, nil
}

// exec runs one statement on its own, again after a deadlock (MySQL may
// report one between a claim and a concurrent sweep of old notices), and
// returns the rows it changed.
func (db *DB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := db.retryDeadlocks(ctx, func() error {
		res, err := db.x.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// CampaignNotices returns the notices about one campaign, oldest first.
func (db *DB) CampaignNotices(ctx context.Context, campaignID int64) ([]StaffNotice, error) {
	var ns []StaffNotice
	if err := db.x.SelectContext(ctx, &ns, `SELECT `+noticeColumns+` FROM staff_notices WHERE campaign_id = ? ORDER BY id`, campaignID); err != nil {
		return nil, fmt.Errorf("campaign notices: %w", err)
	}
	for i := range ns {
		ns[i] = ns[i].utc()
	}
	return ns, nil
}

// StaffNotices returns the notices about one item, oldest first.
func (db *DB) StaffNotices(ctx context.Context, itemID int64) ([]StaffNotice, error) {
	var ns []StaffNotice
	if err := db.x.SelectContext(ctx, &ns, `SELECT `+noticeColumns+` FROM staff_notices WHERE queue_item_id = ? ORDER BY id`, itemID); err != nil {
		return nil, fmt.Errorf("staff notices: %w", err)
	}
	for i := range ns {
		ns[i] = ns[i].utc()
	}
	return ns, nil
}
