package store

import (
	"context"
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
	o, err := getOne[Operator](ctx, db.x, `SELECT id, identity, transport, role, display_name, created_at, created_by, updated_at
FROM operators WHERE identity = ?`, identity)
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

// PutOperator creates an operator or changes its role. An identity
// removed before is no longer remembered as removed.
func (db *DB) PutOperator(ctx context.Context, identity, role, displayName, actor string) (Operator, error) {
	transport, _, ok := strings.Cut(identity, ":")
	if !ok {
		return Operator{}, fmt.Errorf("put operator: identity %q is not transport:id", identity)
	}
	now := db.timestamp()
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, db.sql.upsertOperator, identity, transport, role, displayName, now, actor, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM removed_operators WHERE identity = ?`, identity)
		return err
	})
	if err != nil {
		return Operator{}, fmt.Errorf("put operator %s: %w", identity, err)
	}
	return db.Operator(ctx, identity)
}

// OperatorRemoval records that an admin removed an identity: it stays
// removed (nothing sets it up again on its own) until an admin adds it.
type OperatorRemoval struct {
	Identity  string    `db:"identity"`
	RemovedAt time.Time `db:"removed_at"`
	RemovedBy string    `db:"removed_by"`
}

// OperatorRemoval returns the removal of an identity that is not an
// operator now, or ErrNotFound when it was never removed (or was added
// again since).
func (db *DB) OperatorRemoval(ctx context.Context, identity string) (OperatorRemoval, error) {
	return operatorRemoval(ctx, db.x, identity)
}

func operatorRemoval(ctx context.Context, q sqlx.QueryerContext, identity string) (OperatorRemoval, error) {
	r, err := getOne[OperatorRemoval](ctx, q, `SELECT identity, removed_at, removed_by FROM removed_operators WHERE identity = ?`, identity)
	if err != nil {
		return OperatorRemoval{}, fmt.Errorf("removal of operator %s: %w", identity, err)
	}
	r.RemovedAt = r.RemovedAt.UTC()
	return r, nil
}

// OperatorTx changes operators inside one transaction in which every admin
// row is locked, so a rule about admins (there must always be one) holds
// however many admins change roles at the same moment.
type OperatorTx struct {
	ctx    context.Context
	tx     *sqlx.Tx
	db     *DB
	admins int
}

// WithOperators runs fn in a transaction that first locks the admin rows
// (FOR UPDATE on MySQL; SQLite transactions are serialized), committing
// when fn returns nil.
func (db *DB) WithOperators(ctx context.Context, fn func(tx *OperatorTx) error) error {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var ids []int64
		if err := tx.SelectContext(ctx, &ids, `SELECT id FROM operators WHERE role = ?`+db.dialect.forUpdate(), RoleAdmin); err != nil {
			return err
		}
		return fn(&OperatorTx{ctx: ctx, tx: tx, db: db, admins: len(ids)})
	})
	if err != nil {
		return fmt.Errorf("operators: %w", err)
	}
	return nil
}

// Admins is how many admins there are in this transaction.
func (t *OperatorTx) Admins() int { return t.admins }

// Get returns an operator, or ErrNotFound.
func (t *OperatorTx) Get(identity string) (Operator, error) {
	o, err := getOne[Operator](t.ctx, t.tx, `SELECT id, identity, transport, role, display_name, created_at, created_by, updated_at
FROM operators WHERE identity = ?`+t.db.dialect.forUpdate(), identity)
	if err != nil {
		return Operator{}, fmt.Errorf("operator %s: %w", identity, err)
	}
	return o, nil
}

// Put creates an operator or changes its role.
func (t *OperatorTx) Put(identity, role, displayName, actor string) error {
	prev, err := t.Get(identity)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	transport, _, ok := strings.Cut(identity, ":")
	if !ok {
		return fmt.Errorf("put operator: identity %q is not transport:id", identity)
	}
	now := t.db.timestamp()
	if _, err := t.tx.ExecContext(t.ctx, t.db.sql.upsertOperator, identity, transport, role, displayName, now, actor, now); err != nil {
		return fmt.Errorf("put operator %s: %w", identity, err)
	}
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM removed_operators WHERE identity = ?`, identity); err != nil {
		return fmt.Errorf("put operator %s: %w", identity, err)
	}
	if prev.Role == RoleAdmin {
		t.admins--
	}
	if role == RoleAdmin {
		t.admins++
	}
	return nil
}

// Remove deletes an operator; ErrNotFound when there was none. See
// RemoveBy.
func (t *OperatorTx) Remove(identity string) error { return t.RemoveBy(identity, "") }

// RemoveBy deletes an operator, remembering that actor removed it (see
// OperatorRemoval); ErrNotFound when there was none.
func (t *OperatorTx) RemoveBy(identity, actor string) error {
	prev, err := t.Get(identity)
	if err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM operators WHERE identity = ?`, identity); err != nil {
		return fmt.Errorf("remove operator %s: %w", identity, err)
	}
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM removed_operators WHERE identity = ?`, identity); err != nil {
		return fmt.Errorf("remove operator %s: %w", identity, err)
	}
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO removed_operators (identity, removed_at, removed_by) VALUES (?, ?, ?)`,
		identity, t.db.timestamp(), actor); err != nil {
		return fmt.Errorf("remove operator %s: %w", identity, err)
	}
	if prev.Role == RoleAdmin {
		t.admins--
	}
	return nil
}

// Removal returns the removal of an identity that is not an operator now,
// or ErrNotFound when it was never removed (or was added again since).
func (t *OperatorTx) Removal(identity string) (OperatorRemoval, error) {
	return operatorRemoval(t.ctx, t.tx, identity)
}
