package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/store/words"
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

// The audit log's column sizes in characters (audit_log in the migrations;
// detail is TEXT, which holds 2,000 characters of any script).
const (
	auditActorChars     = 190
	auditRoleChars      = 16
	auditTransportChars = 16
	auditActionChars    = 64
	auditOutcomeChars   = 16
	// auditDetailChars is the most characters of an entry's detail that
	// the log keeps; a longer one is cut and ends in "…".
	auditDetailChars = 2000
)

// Audit appends to the audit log. Each field is made to fit its column
// (cut between characters, ending in "…"), so no text, however long or in
// whatever script, loses the row.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	e.Actor = words.Cut(e.Actor, auditActorChars)
	e.Role = words.Cut(e.Role, auditRoleChars)
	e.Transport = words.Cut(e.Transport, auditTransportChars)
	e.Action = words.Cut(e.Action, auditActionChars)
	e.Detail = words.Cut(e.Detail, auditDetailChars)
	e.Outcome = words.Cut(e.Outcome, auditOutcomeChars)
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

// AuditFilter selects a page of the audit log.
type AuditFilter struct {
	// Actor keeps entries whose actor contains it; Action those whose
	// action starts with it. Empty keeps all.
	Actor, Action string
	// Before keeps entries older than this id (0: from the newest); pages
	// continue from the last id shown.
	Before int64
	// Limit is the most entries (default 50).
	Limit int
}

// AuditPage returns the newest entries matching f first.
func (db *DB) AuditPage(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	q := `SELECT id, created_at, actor, role, transport, action, detail, outcome FROM audit_log WHERE 1 = 1`
	var args []any
	if f.Actor != "" {
		q += ` AND actor LIKE ? ESCAPE '!'`
		args = append(args, "%"+likeEscape(f.Actor)+"%")
	}
	if f.Action != "" {
		q += ` AND action LIKE ? ESCAPE '!'`
		args = append(args, likeEscape(f.Action)+"%")
	}
	if f.Before > 0 {
		q += ` AND id < ?`
		args = append(args, f.Before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	var es []AuditEntry
	if err := db.x.SelectContext(ctx, &es, q, args...); err != nil {
		return nil, fmt.Errorf("audit page: %w", err)
	}
	return es, nil
}

// likeEscape makes s match itself in a LIKE pattern with ESCAPE '!'.
func likeEscape(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}
