package store

import (
	"context"
	"errors"
	"fmt"
)

// Cursor returns a transport's saved position and whether one is saved.
func (db *DB) Cursor(ctx context.Context, name string) (int64, bool, error) {
	pos, err := getOne[int64](ctx, db.x, `SELECT position FROM cursors WHERE name = ?`, name)
	if errors.Is(err, ErrNotFound) {
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
