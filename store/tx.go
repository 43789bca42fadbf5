package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// MySQL error numbers that mean "run the transaction again".
const (
	mysqlDeadlock        = 1213
	mysqlLockWaitTimeout = 1205
)

// maxTxAttempts bounds how often a deadlocked transaction is retried before
// the error surfaces.
const maxTxAttempts = 10

// inTx runs fn in a transaction (READ COMMITTED on MySQL), committing when fn
// returns nil. A deadlock is retried with the whole of fn.
func (db *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return db.retryDeadlocks(ctx, func() error {
		tx, err := db.x.BeginTxx(ctx, db.txOptions())
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	})
}

// txOptions is nil: MySQL sessions are READ COMMITTED already (see
// mysqlTarget), SQLite transactions are serializable by nature.
func (db *DB) txOptions() *sql.TxOptions { return nil }

// retryDeadlocks runs fn again when MySQL reports a deadlock or lock wait
// timeout, with a short jittered pause, so callers never see one unless it
// keeps happening.
func (db *DB) retryDeadlocks(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = fn()
		if err == nil || !isRetryableTxError(err) {
			return err
		}
		db.log.Debug("transaction retried after a lock conflict", "attempt", attempt, "err", err)
		pause := time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return err
}

func isRetryableTxError(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlDeadlock || me.Number == mysqlLockWaitTimeout
	}
	return false
}

// isDuplicate reports a unique-key violation.
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
