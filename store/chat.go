package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Roles an operator can have, from least to most powerful.
const (
	RoleStaff    = "staff"
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)

// ErrExists means a row with the same key exists already.
var ErrExists = errors.New("already exists")

// Operator is a chat identity allowed to use the bot, with its role.
type Operator struct {
	ID          int64     `db:"id"`
	Identity    string    `db:"identity"` // "telegram:123456", "whatsapp:+9198…", "console:local"
	Transport   string    `db:"transport"`
	Role        string    `db:"role"`
	DisplayName string    `db:"display_name"`
	CreatedAt   time.Time `db:"created_at"`
	CreatedBy   string    `db:"created_by"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// Operator returns the operator with an identity, or ErrNotFound.
func (db *DB) Operator(ctx context.Context, identity string) (Operator, error) {
	var o Operator
	err := db.x.GetContext(ctx, &o, `SELECT id, identity, transport, role, display_name, created_at, created_by, updated_at
FROM operators WHERE identity = ?`, identity)
	if errors.Is(err, sql.ErrNoRows) {
		return Operator{}, fmt.Errorf("operator %s: %w", identity, ErrNotFound)
	}
	if err != nil {
		return Operator{}, fmt.Errorf("operator %s: %w", identity, err)
	}
	return o, nil
}

// Operators lists every operator by identity.
func (db *DB) Operators(ctx context.Context) ([]Operator, error) {
	var os []Operator
	err := db.x.SelectContext(ctx, &os, `SELECT id, identity, transport, role, display_name, created_at, created_by, updated_at
FROM operators ORDER BY identity`)
	if err != nil {
		return nil, fmt.Errorf("operators: %w", err)
	}
	return os, nil
}

// PutOperator creates an operator or changes its role.
func (db *DB) PutOperator(ctx context.Context, identity, role, displayName, actor string) (Operator, error) {
	transport, _, ok := strings.Cut(identity, ":")
	if !ok {
		return Operator{}, fmt.Errorf("put operator: identity %q is not transport:id", identity)
	}
	now := db.timestamp()
	if _, err := db.x.ExecContext(ctx, db.sql.upsertOperator, identity, transport, role, displayName, now, actor, now); err != nil {
		return Operator{}, fmt.Errorf("put operator %s: %w", identity, err)
	}
	return db.Operator(ctx, identity)
}

// RemoveOperator deletes an operator; ErrNotFound when there was none.
func (db *DB) RemoveOperator(ctx context.Context, identity string) error {
	res, err := db.x.ExecContext(ctx, `DELETE FROM operators WHERE identity = ?`, identity)
	if err != nil {
		return fmt.Errorf("remove operator %s: %w", identity, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("remove operator %s: %w", identity, ErrNotFound)
	}
	return nil
}

// CountOperators counts operators with a role.
func (db *DB) CountOperators(ctx context.Context, role string) (int, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, `SELECT COUNT(*) FROM operators WHERE role = ?`, role); err != nil {
		return 0, fmt.Errorf("count operators: %w", err)
	}
	return n, nil
}

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

// Cursor returns a transport's saved position and whether one is saved.
func (db *DB) Cursor(ctx context.Context, name string) (int64, bool, error) {
	var pos int64
	err := db.x.GetContext(ctx, &pos, `SELECT position FROM cursors WHERE name = ?`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cursor %s: %w", name, err)
	}
	return pos, true, nil
}

// SetCursor saves a transport's position.
func (db *DB) SetCursor(ctx context.Context, name string, pos int64) error {
	if _, err := db.x.ExecContext(ctx, db.sql.upsertCursor, name, pos, db.timestamp()); err != nil {
		return fmt.Errorf("set cursor %s: %w", name, err)
	}
	return nil
}

// AcquireLease takes or renews the named lease for holder until ttl from
// now. It succeeds when the lease is free, expired or already holder's.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := db.timestamp()
	got := false
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur struct {
			Holder    string    `db:"holder"`
			ExpiresAt time.Time `db:"expires_at"`
		}
		err := tx.GetContext(ctx, &cur, `SELECT holder, expires_at FROM leases WHERE name = ?`+db.dialect.forUpdate(), name)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)`,
				name, holder, now, now.Add(ttl)); err != nil {
				if isDuplicate(err) {
					return nil // another holder inserted it first
				}
				return err
			}
			got = true
			return nil
		case err != nil:
			return err
		}
		if cur.Holder != holder && cur.ExpiresAt.After(now) {
			return nil
		}
		acquired := "acquired_at"
		if cur.Holder != holder {
			acquired = "?"
		}
		args := []any{holder}
		if acquired == "?" {
			args = append(args, now)
		}
		args = append(args, now.Add(ttl), name)
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET holder = ?, acquired_at = `+acquired+`, expires_at = ? WHERE name = ?`, args...); err != nil {
			return err
		}
		got = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return got, nil
}

// ReleaseLease gives up holder's lease so another can take it at once.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.x.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// RecentItemForPhone returns the newest item for phone created at or after
// since that is queued, processing or sent, or ErrNotFound.
func (db *DB) RecentItemForPhone(ctx context.Context, phone string, since time.Time) (QueueItem, error) {
	var r queueRow
	err := db.x.GetContext(ctx, &r, `SELECT `+queueColumns+` FROM queue_items
WHERE phone = ? AND created_at >= ? AND status IN ('queued', 'processing', 'sent', 'delivered', 'read')
ORDER BY created_at DESC, id DESC LIMIT 1`, phone, since.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return QueueItem{}, fmt.Errorf("recent item for %s: %w", phone, ErrNotFound)
	}
	if err != nil {
		return QueueItem{}, fmt.Errorf("recent item for %s: %w", phone, err)
	}
	return r.item()
}
