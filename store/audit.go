package store

import (
	"context"
	"fmt"
	"time"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID        int64     `db:"id"`
	CreatedAt time.Time `db:"created_at"`
	Actor     string    `db:"actor"`
	Role      string    `db:"role"`
	Transport string    `db:"transport"`
	Action    string    `db:"action"`
	Detail    string    `db:"detail"`
	Outcome   string    `db:"outcome"` // ok, refused, error
}

// Audit appends to the audit log.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	if len(e.Detail) > 2000 {
		e.Detail = e.Detail[:2000]
	}
	_, err := db.x.ExecContext(ctx, `INSERT INTO audit_log (created_at, actor, role, transport, action, detail, outcome)
VALUES (?, ?, ?, ?, ?, ?, ?)`, db.timestamp(), e.Actor, e.Role, e.Transport, e.Action, e.Detail, e.Outcome)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest audit entries first.
func (db *DB) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	var es []AuditEntry
	err := db.x.SelectContext(ctx, &es, `SELECT id, created_at, actor, role, transport, action, detail, outcome
FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return es, nil
}
