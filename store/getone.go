package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jmoiron/sqlx"
)

// getOne reads the one row query selects into a T: a struct scanned by
// column name (db tags), or a single column. No row is ErrNotFound; any
// other error comes back as the driver gave it. Callers wrap either with
// what they looked for ("campaign 12: not found"), so errors.Is finds
// ErrNotFound through every layer. q is the pool or a transaction.
func getOne[T any](ctx context.Context, q sqlx.QueryerContext, query string, args ...any) (T, error) {
	var v T
	err := sqlx.GetContext(ctx, q, &v, query, args...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var zero T
		return zero, ErrNotFound
	case err != nil:
		var zero T
		return zero, err
	}
	return v, nil
}
