package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
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
	return db.savedMessage(ctx, "name", name, fmt.Sprintf("%q", name))
}

// SavedMessageByID returns a saved message that is not deleted, or
// ErrNotFound.
func (db *DB) SavedMessageByID(ctx context.Context, id int64) (SavedMessage, error) {
	return db.savedMessage(ctx, "id", id, fmt.Sprint(id))
}

// savedMessage looks a saved message up by one key column ("id" or "name",
// never user input).
func (db *DB) savedMessage(ctx context.Context, column string, key any, label string) (SavedMessage, error) {
	var m SavedMessage
	err := db.x.GetContext(ctx, &m, `SELECT id, name, kind, body, media_id, created_at, updated_at
FROM saved_messages WHERE `+column+` = ? AND deleted_at IS NULL`, key)
	if errors.Is(err, sql.ErrNoRows) {
		return SavedMessage{}, fmt.Errorf("saved message %s: %w", label, ErrNotFound)
	}
	if err != nil {
		return SavedMessage{}, fmt.Errorf("saved message %s: %w", label, err)
	}
	return m, nil
}

// MediaObject is a stored file of the media library.
type MediaObject struct {
	ID           int64     `db:"id"`
	SHA256       string    `db:"sha256"`
	MIME         string    `db:"mime_type"`
	Size         int64     `db:"size_bytes"`
	Storage      string    `db:"storage"` // local, s3
	StorageKey   string    `db:"storage_key"`
	OriginalName string    `db:"original_name"`
	CreatedAt    time.Time `db:"created_at"`
}

// MediaObject returns a media object that is not deleted, or ErrNotFound.
func (db *DB) MediaObject(ctx context.Context, id int64) (MediaObject, error) {
	var m MediaObject
	err := db.x.GetContext(ctx, &m, `SELECT id, sha256, mime_type, size_bytes, storage, storage_key, original_name, created_at
FROM media_objects WHERE id = ? AND deleted_at IS NULL`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return MediaObject{}, fmt.Errorf("media object %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return MediaObject{}, fmt.Errorf("media object %d: %w", id, err)
	}
	return m, nil
}

// CreateMediaObject records a stored file; an object with the same SHA-256
// is returned instead of a second row, so media is stored once.
func (db *DB) CreateMediaObject(ctx context.Context, m MediaObject, actor string) (int64, error) {
	var id int64
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &id, `SELECT id FROM media_objects WHERE sha256 = ?`, m.SHA256)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO media_objects (sha256, mime_type, size_bytes, storage, storage_key, original_name, created_at, created_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.SHA256, m.MIME, m.Size, m.Storage, m.StorageKey, m.OriginalName, db.timestamp(), actor)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create media object: %w", err)
	}
	return id, nil
}

// CreateSavedMessage adds a saved message; ErrExists when the name is taken.
func (db *DB) CreateSavedMessage(ctx context.Context, name, kind, body string, mediaID int64, actor string) (int64, error) {
	now := db.timestamp()
	res, err := db.x.ExecContext(ctx, `INSERT INTO saved_messages (name, kind, body, media_id, created_at, created_by, updated_at, updated_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, name, kind, body, nullInt(mediaID), now, actor, now, actor)
	if isDuplicate(err) {
		return 0, fmt.Errorf("saved message %q: %w", name, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("create saved message %q: %w", name, err)
	}
	return res.LastInsertId()
}
