package store

import (
	"context"
	"fmt"
	"time"
)

// RenewLocks stamps the lock of each of owner's processing items in ids
// with the current time: a live owner keeps the items it is working on,
// and only a stopped or stalled one's locks grow old. It returns how many
// locks it renewed.
func (db *DB) RenewLocks(ctx context.Context, owner string, ids []int64) (int64, error) {
	var total int64
	now := db.timestamp()
	for start := 0; start < len(ids); start += 500 {
		in, args := inList(ids[start:min(start+500, len(ids))])
		res, err := db.x.ExecContext(ctx, `UPDATE queue_items SET locked_at = ? WHERE status = 'processing' AND locked_by = ? AND id IN (`+in+`)`,
			append([]any{now, owner}, args...)...)
		if err != nil {
			return total, fmt.Errorf("renew locks: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// LockedBy returns up to limit of owner's processing items whose lock was
// last stamped before lockedBefore.
func (db *DB) LockedBy(ctx context.Context, owner string, lockedBefore time.Time, limit int) ([]QueueItem, error) {
	var rows []queueRow
	err := db.x.SelectContext(ctx, &rows, `SELECT `+queueColumns+` FROM queue_items
WHERE status = 'processing' AND locked_by = ? AND locked_at < ? ORDER BY id LIMIT ?`, owner, lockedBefore.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("locked items: %w", err)
	}
	return rowsToItems(rows)
}

// StaleLocks returns up to limit processing items whose lock was last
// stamped before lockedBefore, oldest first, leaving out the items of every
// processor whose heartbeat was seen at or after aliveSince: their owner is
// alive.
func (db *DB) StaleLocks(ctx context.Context, lockedBefore, aliveSince time.Time, limit int) ([]QueueItem, error) {
	var rows []queueRow
	err := db.x.SelectContext(ctx, &rows, `SELECT `+queueColumns+` FROM queue_items q
WHERE q.status = 'processing' AND q.locked_at < ?
AND NOT EXISTS (SELECT 1 FROM processor_heartbeats h WHERE h.processor_id = q.locked_by AND h.seen_at >= ?)
ORDER BY q.locked_at, q.id LIMIT ?`, lockedBefore.UTC(), aliveSince.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("stale locks: %w", err)
	}
	return rowsToItems(rows)
}
