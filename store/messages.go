package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SavedMessage is a reusable message from the library: text, or an image or
// video with a caption.
type SavedMessage struct {
	ID        int64         `db:"id"`
	Name      string        `db:"name"`
	Kind      string        `db:"kind"` // text, image, video
	Body      string        `db:"body"`
	MediaID   sql.NullInt64 `db:"media_id"`
	CreatedAt time.Time     `db:"created_at"`
	UpdatedAt time.Time     `db:"updated_at"`
}

// SavedMessageByName returns a saved message that is not deleted, or
// ErrNotFound.
func (db *DB) SavedMessageByName(ctx context.Context, name string) (SavedMessage, error) {
	var m SavedMessage
	err := db.x.GetContext(ctx, &m, `SELECT id, name, kind, body, media_id, created_at, updated_at
FROM saved_messages WHERE name = ? AND deleted_at IS NULL`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return SavedMessage{}, fmt.Errorf("saved message %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return SavedMessage{}, fmt.Errorf("saved message %q: %w", name, err)
	}
	return m, nil
}
