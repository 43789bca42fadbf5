package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
)

// QueueStatusCounts counts items created at or after since by status; a zero
// since counts all items. Every status is present in the result.
func (db *DB) QueueStatusCounts(ctx context.Context, since time.Time) (map[QueueStatus]int64, error) {
	type row struct {
		Status string `db:"status"`
		N      int64  `db:"n"`
	}
	var rows []row
	var err error
	if since.IsZero() {
		err = db.x.SelectContext(ctx, &rows, `SELECT status, COUNT(*) AS n FROM queue_items GROUP BY status`)
	} else {
		err = db.x.SelectContext(ctx, &rows, db.sql.countByStatusSince, since.UTC())
	}
	if err != nil {
		return nil, fmt.Errorf("status counts: %w", err)
	}
	out := make(map[QueueStatus]int64, len(QueueStatuses()))
	for _, s := range QueueStatuses() {
		out[s] = 0
	}
	for _, r := range rows {
		out[QueueStatus(r.Status)] = r.N
	}
	return out, nil
}

// OptedOutCount counts the items created at or after since (zero: all)
// that were ended because their phone opted out: stored as cancelled with
// outcome OutcomeOptedOut, so they are part of QueueStatusCounts'
// cancelled.
func (db *DB) OptedOutCount(ctx context.Context, since time.Time) (int64, error) {
	q := `SELECT COUNT(*) FROM queue_items WHERE status = 'cancelled' AND last_error_class = ?`
	args := []any{OutcomeOptedOut}
	if !since.IsZero() {
		q += ` AND created_at >= ?`
		args = append(args, since.UTC())
	}
	var n int64
	if err := db.x.GetContext(ctx, &n, q, args...); err != nil {
		return 0, fmt.Errorf("opted-out count: %w", err)
	}
	return n, nil
}

// QueueSendsByGateway counts items sent at or after since, per gateway that
// sent them (including those since delivered or read).
func (db *DB) QueueSendsByGateway(ctx context.Context, since time.Time) (map[string]int64, error) {
	type row struct {
		Gateway string `db:"gateway"`
		N       int64  `db:"n"`
	}
	var rows []row
	err := db.x.SelectContext(ctx, &rows, `SELECT COALESCE(sent_gateway, '') AS gateway, COUNT(*) AS n FROM queue_items
WHERE sent_at >= ? GROUP BY sent_gateway`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("sends by gateway: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Gateway] = r.N
	}
	return out, nil
}

// RecentFilter selects rows for RecentQueueItems.
type RecentFilter struct {
	// Status limits the rows to one status; empty means any.
	Status QueueStatus
	// Limit is the most rows (default 20).
	Limit int
	// CreatedBy limits the rows to the items one identity queued itself
	// (not campaign items), newest first; empty means anyone's.
	CreatedBy string
}

// RecentQueueItems returns the newest items (failed ones: the latest
// failures) first.
func (db *DB) RecentQueueItems(ctx context.Context, f RecentFilter) ([]QueueItem, error) {
	if f.Limit <= 0 {
		f.Limit = 20
	}
	var rows []queueRow
	var err error
	switch {
	case f.CreatedBy != "":
		// The creator index, newest first.
		q := `SELECT ` + queueColumns + ` FROM queue_items WHERE created_by = ? AND campaign_id IS NULL`
		args := []any{f.CreatedBy}
		if f.Status != "" {
			q += ` AND status = ?`
			args = append(args, string(f.Status))
		}
		err = db.x.SelectContext(ctx, &rows, q+` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	case f.Status == "":
		err = db.x.SelectContext(ctx, &rows, `SELECT `+queueColumns+` FROM queue_items ORDER BY id DESC LIMIT ?`, f.Limit)
	case f.Status == StatusFailed:
		err = db.x.SelectContext(ctx, &rows, db.sql.recentFailed, f.Limit)
	default:
		// Newest items first: walks the primary key back until it has enough.
		err = db.x.SelectContext(ctx, &rows, `SELECT `+queueColumns+` FROM queue_items WHERE status = ?
ORDER BY id DESC LIMIT ?`, string(f.Status), f.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("recent items: %w", err)
	}
	return rowsToItems(rows)
}

// OldestDueQueued returns the due time of the queued item that has waited
// longest, and false when nothing is queued. It skips through the claim
// index one priority at a time, reading one entry per priority rather than
// every queued item.
func (db *DB) OldestDueQueued(ctx context.Context) (time.Time, bool, error) {
	var oldest time.Time
	found := false
	prio := math.MinInt32
	for range 100 { // priorities in use are few; the bound guards the loop
		var next sql.NullInt64
		if err := db.x.GetContext(ctx, &next, `SELECT MIN(priority) FROM queue_items WHERE status = 'queued' AND priority > ?`, prio); err != nil {
			return time.Time{}, false, fmt.Errorf("oldest due item: %w", err)
		}
		if !next.Valid {
			break
		}
		prio = int(next.Int64)
		var first aggregateTime
		if err := db.x.GetContext(ctx, &first, `SELECT MIN(next_attempt_at) FROM queue_items WHERE status = 'queued' AND priority = ?`, prio); err != nil {
			return time.Time{}, false, fmt.Errorf("oldest due item: %w", err)
		}
		if !found || first.Before(oldest) {
			oldest, found = first.Time, true
		}
	}
	return oldest.UTC(), found, nil
}

// aggregateTime scans a time computed by SQL (MIN, MAX). MySQL returns a
// time; SQLite returns the stored text, since an aggregate has no declared
// column type for its driver to parse by.
type aggregateTime struct{ time.Time }

func (t *aggregateTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("cannot scan %T into a time", src)
	}
}

func (t *aggregateTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p
			return nil
		}
	}
	return fmt.Errorf("cannot parse time %q", s)
}

// CountFailedSince counts items that failed at or after since.
func (db *DB) CountFailedSince(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := db.x.GetContext(ctx, &n, db.sql.countFailedSince, since.UTC())
	if err != nil {
		return 0, fmt.Errorf("count failed: %w", err)
	}
	return n, nil
}

// Heartbeat says a delivery processor is alive.
type Heartbeat struct {
	ProcessorID string    `db:"processor_id"`
	Hostname    string    `db:"hostname"`
	PID         int       `db:"pid"`
	Version     string    `db:"version"`
	Workers     int       `db:"workers"`
	StartedAt   time.Time `db:"started_at"`
	SeenAt      time.Time `db:"seen_at"`
}

// PutHeartbeat records that a processor is alive now.
func (db *DB) PutHeartbeat(ctx context.Context, h Heartbeat) error {
	now := db.timestamp()
	_, err := db.x.ExecContext(ctx, db.sql.upsertHeartbeat, h.ProcessorID, h.Hostname, h.PID, h.Version, h.Workers,
		h.StartedAt.UTC().Truncate(time.Microsecond), now)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// DeleteHeartbeat removes a processor that stopped cleanly.
func (db *DB) DeleteHeartbeat(ctx context.Context, processorID string) error {
	if _, err := db.x.ExecContext(ctx, `DELETE FROM processor_heartbeats WHERE processor_id = ?`, processorID); err != nil {
		return fmt.Errorf("delete heartbeat: %w", err)
	}
	return nil
}

// Heartbeats returns processors seen at or after since, latest first.
func (db *DB) Heartbeats(ctx context.Context, since time.Time) ([]Heartbeat, error) {
	var hs []Heartbeat
	err := db.x.SelectContext(ctx, &hs, `SELECT processor_id, hostname, pid, version, workers, started_at, seen_at
FROM processor_heartbeats WHERE seen_at >= ? ORDER BY seen_at DESC`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("heartbeats: %w", err)
	}
	for i := range hs {
		hs[i].StartedAt, hs[i].SeenAt = hs[i].StartedAt.UTC(), hs[i].SeenAt.UTC()
	}
	return hs, nil
}

// GatewayState is a gateway's health as recorded by the delivery loop.
type GatewayState struct {
	Gateway       string
	Blocked       bool
	BlockedReason string
	BlockedAt     time.Time
	UpdatedAt     time.Time
}

// BlockGateway marks a gateway sender-blocked: the loop stops sending
// through it until UnblockGateway. reason must be free of secrets.
func (db *DB) BlockGateway(ctx context.Context, gateway, reason string) error {
	now := db.timestamp()
	if _, err := db.x.ExecContext(ctx, db.sql.upsertGatewayState, gateway, nullString(reason), nullTime(now), now); err != nil {
		return fmt.Errorf("block gateway %s: %w", gateway, err)
	}
	return nil
}

// UnblockGateway lets the loop send through a gateway again, and makes
// the items held for a paused gateway that may now go due at once rather
// than at their next recheck: those naming this gateway, and those
// naming none (they follow the active gateway, which is this one or was
// just chosen instead of a paused one; if it is still paused, the loop
// holds them again).
func (db *DB) UnblockGateway(ctx context.Context, gateway string) error {
	now := db.timestamp()
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, db.sql.upsertGatewayState, gateway, sql.NullString{}, sql.NullTime{}, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE queue_items SET next_attempt_at = ?, updated_at = ?
WHERE status = 'queued' AND next_attempt_at > ? AND last_error_class = 'sender_blocked' AND gateway IN ('', ?)`,
			now, now, now, gateway)
		return err
	})
	if err != nil {
		return fmt.Errorf("unblock gateway %s: %w", gateway, err)
	}
	return nil
}

// GatewayInUse reports whether anything still sends through gateway by
// name: a queued or processing item, or a running or scheduled campaign.
// (Items and campaigns naming no gateway follow the active one.)
func (db *DB) GatewayInUse(ctx context.Context, gateway string) (bool, error) {
	var n int
	err := db.x.GetContext(ctx, &n, `SELECT
  (SELECT COUNT(*) FROM (SELECT 1 FROM queue_items WHERE status IN ('queued', 'processing') AND gateway = ? LIMIT 1) i)
+ (SELECT COUNT(*) FROM (SELECT 1 FROM campaigns WHERE status IN ('running', 'scheduled') AND deleted_at IS NULL AND gateway = ? LIMIT 1) c)`,
		gateway, gateway)
	if err != nil {
		return false, fmt.Errorf("gateway %s in use: %w", gateway, err)
	}
	return n > 0, nil
}

// GatewayStates returns every gateway with a recorded state.
func (db *DB) GatewayStates(ctx context.Context) ([]GatewayState, error) {
	type row struct {
		Gateway   string         `db:"gateway"`
		Reason    sql.NullString `db:"blocked_reason"`
		BlockedAt sql.NullTime   `db:"blocked_at"`
		UpdatedAt time.Time      `db:"updated_at"`
	}
	var rows []row
	if err := db.x.SelectContext(ctx, &rows, `SELECT gateway, blocked_reason, blocked_at, updated_at FROM gateway_state ORDER BY gateway`); err != nil {
		return nil, fmt.Errorf("gateway states: %w", err)
	}
	out := make([]GatewayState, 0, len(rows))
	for _, r := range rows {
		out = append(out, GatewayState{Gateway: r.Gateway, Blocked: r.BlockedAt.Valid, BlockedReason: r.Reason.String,
			BlockedAt: utc(r.BlockedAt), UpdatedAt: r.UpdatedAt.UTC()})
	}
	return out, nil
}

// QueueLatencies returns, for the sent items with ids in [fromID, toID], the
// time from enqueue to sent.
func (db *DB) QueueLatencies(ctx context.Context, fromID, toID int64) ([]time.Duration, error) {
	type row struct {
		CreatedAt time.Time `db:"created_at"`
		SentAt    time.Time `db:"sent_at"`
	}
	var rows []row
	err := db.x.SelectContext(ctx, &rows, `SELECT created_at, sent_at FROM queue_items
WHERE id BETWEEN ? AND ? AND sent_at IS NOT NULL`, fromID, toID)
	if err != nil {
		return nil, fmt.Errorf("latencies: %w", err)
	}
	out := make([]time.Duration, len(rows))
	for i, r := range rows {
		out[i] = r.SentAt.Sub(r.CreatedAt)
	}
	return out, nil
}

// RecentItemForPhone returns the newest item for phone created at or after
// since that is queued, processing or sent, or ErrNotFound: the staff
// dedupe. Campaign items do not count, since a campaign message does not
// make a staff notification to the same number redundant.
func (db *DB) RecentItemForPhone(ctx context.Context, phone string, since time.Time) (QueueItem, error) {
	r, err := getOne[queueRow](ctx, db.x, `SELECT `+queueColumns+` FROM queue_items
WHERE phone = ? AND created_at >= ? AND campaign_id IS NULL AND status IN ('queued', 'processing', 'sent', 'delivered', 'read')
ORDER BY created_at DESC, id DESC LIMIT 1`, phone, since.UTC())
	if err != nil {
		return QueueItem{}, fmt.Errorf("recent item for %s: %w", phone, err)
	}
	return r.item()
}
