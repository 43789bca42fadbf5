package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// AcquireLease takes or renews the named lease for holder until ttl from
// now. It succeeds when the lease is free, expired or already holder's.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := db.timestamp()
	got := false
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		type leaseRow struct {
			Holder    string    `db:"holder"`
			ExpiresAt time.Time `db:"expires_at"`
		}
		cur, err := getOne[leaseRow](ctx, tx, `SELECT holder, expires_at FROM leases WHERE name = ?`+db.dialect.forUpdate(), name)
		switch {
		case errors.Is(err, ErrNotFound):
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
