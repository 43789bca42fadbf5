package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// The saved-message library (migration 00003 describes the columns).
//
// A saved message has a unique name, a kind, a text or caption (body), for
// images and videos a media object, and a state: active (offered for use),
// archived (kept, but not offered) or deleted. Names are unique among the
// messages not deleted: active_name holds the name while the message is
// active or archived and is NULL once it is deleted, under a UNIQUE index,
// so a deleted message's name can be given to a new one. name keeps the
// name for good.
//
// An attachment sent once ("/send <phone>" with a photo) is stored as an
// unnamed saved message (Name "", active_name NULL, state active) that its
// queue items reference like any saved message; it never appears in the
// library. See EnqueueAttachment.
//
// Media objects are stored once per content (sha256 UNIQUE). One may be
// deleted (its file removed) when it meets all of:
//   - no saved message references it while active or archived (a deleted
//     or unnamed saved message does not keep its media);
//   - no queued or processing queue item references it through its saved
//     message (whatever that message's state);
//   - it was stored, or stored again, before the grace period began.
//
// See UnreferencedMedia and MarkMediaDeleted.

// SavedMessageState is where a saved message is in its life.
type SavedMessageState string

// The saved message states: active ⇄ archived, either → deleted (final).
const (
	SavedActive   SavedMessageState = "active"
	SavedArchived SavedMessageState = "archived"
	SavedDeleted  SavedMessageState = "deleted"
)

// The saved message kinds.
const (
	SavedKindText  = "text"
	SavedKindImage = "image"
	SavedKindVideo = "video"
)

// maxSavedNameLen is the longest name, in characters (MySQL's VARCHAR(190)).
const maxSavedNameLen = 190

// SavedMessage is a reusable message from the library: text, or an image or
// video with a caption.
type SavedMessage struct {
	ID int64
	// Name is "" for an unnamed attachment (see EnqueueAttachment).
	Name      string
	Kind      string // text, image, video
	Body      string
	MediaID   sql.NullInt64
	State     SavedMessageState
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	UpdatedBy string
	// DeletedAt is zero unless State is SavedDeleted.
	DeletedAt time.Time
}

// Usable reports whether the message may be picked for new sends: it is
// active and named.
func (m SavedMessage) Usable() bool { return m.State == SavedActive && m.Name != "" }

// savedColumns are selected into savedRow.
const savedColumns = `id, name, kind, body, media_id, state, created_at, created_by, updated_at, updated_by, deleted_at`

type savedRow struct {
	ID        int64         `db:"id"`
	Name      string        `db:"name"`
	Kind      string        `db:"kind"`
	Body      string        `db:"body"`
	MediaID   sql.NullInt64 `db:"media_id"`
	State     string        `db:"state"`
	CreatedAt time.Time     `db:"created_at"`
	CreatedBy string        `db:"created_by"`
	UpdatedAt time.Time     `db:"updated_at"`
	UpdatedBy string        `db:"updated_by"`
	DeletedAt sql.NullTime  `db:"deleted_at"`
}

func (r savedRow) message() SavedMessage {
	return SavedMessage{
		ID: r.ID, Name: r.Name, Kind: r.Kind, Body: r.Body, MediaID: r.MediaID, State: SavedMessageState(r.State),
		CreatedAt: r.CreatedAt.UTC(), CreatedBy: r.CreatedBy, UpdatedAt: r.UpdatedAt.UTC(), UpdatedBy: r.UpdatedBy,
		DeletedAt: utc(r.DeletedAt),
	}
}

// SavedMessages lists the library by name: the active messages, and with
// includeArchived the archived ones too. Deleted and unnamed messages are
// never listed.
func (db *DB) SavedMessages(ctx context.Context, includeArchived bool) ([]SavedMessage, error) {
	archived := SavedActive
	if includeArchived {
		archived = SavedArchived
	}
	var rows []savedRow
	err := db.x.SelectContext(ctx, &rows, `SELECT `+savedColumns+` FROM saved_messages
WHERE active_name IS NOT NULL AND state IN (?, ?) ORDER BY active_name`, string(SavedActive), string(archived))
	if err != nil {
		return nil, fmt.Errorf("saved messages: %w", err)
	}
	out := make([]SavedMessage, len(rows))
	for i, r := range rows {
		out[i] = r.message()
	}
	return out, nil
}

// SavedMessageByName returns the saved message called name in whatever
// state it is, so that callers can refuse an archived or deleted one with
// the reason (check State, or Usable). The message that holds the name
// (active or archived) comes first; when none does, the one deleted last
// under that name is returned with State SavedDeleted. ErrNotFound when no
// message ever had the name.
func (db *DB) SavedMessageByName(ctx context.Context, name string) (SavedMessage, error) {
	if name == "" {
		return SavedMessage{}, fmt.Errorf("saved message %q: %w", name, ErrNotFound)
	}
	r, err := getOne[savedRow](ctx, db.x, `SELECT `+savedColumns+` FROM saved_messages WHERE active_name = ?`, name)
	if errors.Is(err, ErrNotFound) {
		r, err = getOne[savedRow](ctx, db.x, `SELECT `+savedColumns+` FROM saved_messages
WHERE name = ? AND state = 'deleted' ORDER BY id DESC LIMIT 1`, name)
	}
	if err != nil {
		return SavedMessage{}, fmt.Errorf("saved message %q: %w", name, err)
	}
	return r.message(), nil
}

// SavedMessageByID returns a saved message in whatever state it is, unnamed
// ones included, or ErrNotFound. Queue items keep the id of the message
// they send, so an item queued before its message was archived or deleted
// is still delivered (its media is kept while the item is queued or
// processing); callers choosing a message for a new send must check State.
func (db *DB) SavedMessageByID(ctx context.Context, id int64) (SavedMessage, error) {
	r, err := getOne[savedRow](ctx, db.x, `SELECT `+savedColumns+` FROM saved_messages WHERE id = ?`, id)
	if err != nil {
		return SavedMessage{}, fmt.Errorf("saved message %d: %w", id, err)
	}
	return r.message(), nil
}

// NewSavedMessage is a saved message to create.
type NewSavedMessage struct {
	// Name is unique among the messages not deleted; spaces are allowed
	// inside it, not around it. Empty only for EnqueueAttachment.
	Name string
	Kind string // text, image, video
	// Body is the text, or the caption of an image or video.
	Body string
	// MediaID is the media object of an image or video; 0 for text.
	MediaID int64
	// Actor is who creates it, recorded as created_by and updated_by.
	Actor string
}

// validate checks m; named says whether m needs a name (a library message)
// or must have none (an attachment).
func (m NewSavedMessage) validate(named bool) error {
	if named {
		if err := ValidateSavedMessageName(m.Name); err != nil {
			return err
		}
	} else if m.Name != "" {
		return errors.New("an attachment has no name")
	}
	switch m.Kind {
	case SavedKindText:
		if strings.TrimSpace(m.Body) == "" {
			return errors.New("a text message needs a text")
		}
		if m.MediaID != 0 {
			return errors.New("a text message has no media")
		}
	case SavedKindImage, SavedKindVideo:
		if m.MediaID <= 0 {
			return fmt.Errorf("an %s message needs a media object", m.Kind)
		}
	default:
		return fmt.Errorf("unknown saved message kind %q (text, image or video)", m.Kind)
	}
	return nil
}

// ValidateSavedMessageName reports why name cannot name a saved message:
// it is empty, longer than 190 characters, starts or ends with a space
// (MySQL would not tell "a" from "a "), or holds control characters.
func ValidateSavedMessageName(name string) error {
	switch {
	case name == "":
		return errors.New("a saved message needs a name")
	case !utf8.ValidString(name):
		return errors.New("a saved message name must be UTF-8")
	case utf8.RuneCountInString(name) > maxSavedNameLen:
		return fmt.Errorf("a saved message name has at most %d characters", maxSavedNameLen)
	case strings.TrimSpace(name) != name:
		return errors.New("a saved message name cannot start or end with a space")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("a saved message name cannot hold control characters")
	}
	return nil
}

// CreateSavedMessage adds an active saved message; ErrExists when the name
// is taken. It is AddSavedMessage with positional arguments (mediaID 0:
// none).
func (db *DB) CreateSavedMessage(ctx context.Context, name, kind, body string, mediaID int64, actor string) (int64, error) {
	return db.AddSavedMessage(ctx, NewSavedMessage{Name: name, Kind: kind, Body: body, MediaID: mediaID, Actor: actor})
}

// AddSavedMessage adds an active saved message and returns its id:
// ErrExists when an active or archived message has the name (a deleted
// one's name is free), ErrNotFound when the media object does not exist or
// is deleted.
func (db *DB) AddSavedMessage(ctx context.Context, m NewSavedMessage) (int64, error) {
	if err := m.validate(true); err != nil {
		return 0, fmt.Errorf("create saved message %q: %w", m.Name, err)
	}
	var id int64
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = db.insertSavedMessage(ctx, tx, m)
		return err
	})
	if isDuplicate(err) {
		return 0, fmt.Errorf("saved message %q: %w", m.Name, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("create saved message %q: %w", m.Name, err)
	}
	return id, nil
}

// insertSavedMessage inserts a validated message within tx, locking its
// media object first so that a concurrent MarkMediaDeleted either sees the
// new reference or has marked the object, which is then refused here.
func (db *DB) insertSavedMessage(ctx context.Context, tx *sqlx.Tx, m NewSavedMessage) (int64, error) {
	now := db.timestamp()
	if m.MediaID != 0 {
		if err := db.useMedia(ctx, tx, m.MediaID, now); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO saved_messages
(name, kind, body, media_id, created_at, created_by, updated_at, updated_by, state, active_name)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)`, m.Name, m.Kind, m.Body, nullInt(m.MediaID), now, m.Actor, now, m.Actor,
		nullString(m.Name))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// useMedia locks a media object for the rest of tx and records its use;
// ErrNotFound when it does not exist or is deleted.
func (db *DB) useMedia(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	deleted, err := getOne[sql.NullTime](ctx, tx, `SELECT deleted_at FROM media_objects WHERE id = ?`+db.dialect.forUpdate(), id)
	if errors.Is(err, ErrNotFound) || (err == nil && deleted.Valid) {
		return fmt.Errorf("media object %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("media object %d: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE media_objects SET last_used_at = ? WHERE id = ?`, now, id); err != nil {
		return fmt.Errorf("media object %d: %w", id, err)
	}
	return nil
}

// lockSavedByName locks, for the rest of tx, the message holding name
// (active or archived). Without one it returns ErrConflict when a message
// of that name was deleted, ErrNotFound when none ever had it.
func (db *DB) lockSavedByName(ctx context.Context, tx *sqlx.Tx, name string) (savedRow, error) {
	r, err := getOne[savedRow](ctx, tx, `SELECT `+savedColumns+` FROM saved_messages WHERE active_name = ?`+db.dialect.forUpdate(), name)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return savedRow{}, err
	}
	var n int
	if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM saved_messages WHERE name = ? AND state = 'deleted'`, name); err != nil {
		return savedRow{}, err
	}
	if n > 0 {
		return savedRow{}, fmt.Errorf("it was deleted: %w", ErrConflict)
	}
	return savedRow{}, ErrNotFound
}

// SetSavedMessageState archives (active → archived), restores (archived →
// active) or deletes (active or archived → deleted) the message called
// name, recording actor and the time, and returns it as it now is.
// Deleting frees the name and stops the message from keeping its media
// object (queue items still queued keep it until they are done).
// ErrNotFound when no message has the name; ErrConflict when the message is
// in state already, or was deleted (deletion is final).
func (db *DB) SetSavedMessageState(ctx context.Context, name string, state SavedMessageState, actor string) (SavedMessage, error) {
	switch state {
	case SavedActive, SavedArchived, SavedDeleted:
	default:
		return SavedMessage{}, fmt.Errorf("saved message %q: unknown state %q", name, state)
	}
	var out SavedMessage
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := db.lockSavedByName(ctx, tx, name)
		if err != nil {
			return err
		}
		if SavedMessageState(r.State) == state {
			return fmt.Errorf("it is %s already: %w", state, ErrConflict)
		}
		now := db.timestamp()
		if state == SavedDeleted {
			_, err = tx.ExecContext(ctx, `UPDATE saved_messages
SET state = 'deleted', deleted_at = ?, active_name = NULL, updated_at = ?, updated_by = ? WHERE id = ?`, now, now, actor, r.ID)
			r.DeletedAt = sql.NullTime{Time: now, Valid: true}
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE saved_messages SET state = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
				string(state), now, actor, r.ID)
		}
		if err != nil {
			return err
		}
		r.State, r.UpdatedAt, r.UpdatedBy = string(state), now, actor
		out = r.message()
		return nil
	})
	if err != nil {
		return SavedMessage{}, fmt.Errorf("saved message %q: set %s: %w", name, state, err)
	}
	return out, nil
}

// ReplaceSavedMessageMedia gives the message called name (active or
// archived) the media object mediaID and the kind (image or video), keeping
// its caption, and returns the media object it had (0: none). The old
// object is no longer referenced by the message, so cleanup removes it once
// no queued item needs it and its grace period is over. ErrNotFound when no
// message holds the name or the media object does not exist or is deleted;
// ErrConflict when the message was deleted.
func (db *DB) ReplaceSavedMessageMedia(ctx context.Context, name string, mediaID int64, kind, actor string) (int64, error) {
	if kind != SavedKindImage && kind != SavedKindVideo {
		return 0, fmt.Errorf("saved message %q: replace media: kind %q is not image or video", name, kind)
	}
	if mediaID <= 0 {
		return 0, fmt.Errorf("saved message %q: replace media: no media object", name)
	}
	var previous int64
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := db.lockSavedByName(ctx, tx, name)
		if err != nil {
			return err
		}
		now := db.timestamp()
		if err := db.useMedia(ctx, tx, mediaID, now); err != nil {
			return err
		}
		previous = r.MediaID.Int64
		_, err = tx.ExecContext(ctx, `UPDATE saved_messages SET kind = ?, media_id = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
			kind, mediaID, now, actor, r.ID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("saved message %q: replace media: %w", name, err)
	}
	return previous, nil
}

// EnqueueAttachment sends a media object that is not in the library (an
// attachment on "/send <phone>"): in one transaction it stores m as an
// unnamed saved message (m.Name must be empty) and enqueues items, each
// sending that message (their Content is set here), and returns the
// message's id and the items' ids in order. The queue items keep the
// media object while queued or processing, as they do for named messages;
// the unnamed message alone does not. ErrNotFound when the media object
// does not exist or is deleted.
func (db *DB) EnqueueAttachment(ctx context.Context, m NewSavedMessage, items []NewQueueItem) (int64, []int64, error) {
	if err := m.validate(false); err != nil {
		return 0, nil, fmt.Errorf("enqueue attachment: %w", err)
	}
	if len(items) == 0 {
		return 0, nil, errors.New("enqueue attachment: no items")
	}
	var msgID int64
	ids := make([]int64, 0, len(items))
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		ids = ids[:0]
		var err error
		if msgID, err = db.insertSavedMessage(ctx, tx, m); err != nil {
			return err
		}
		now := db.timestamp()
		for i, it := range items {
			it.Content = QueueContent{Kind: ContentSavedMessage, SavedMessageID: msgID}
			row, err := enqueueRow(it, now)
			if err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO queue_items (`+enqueueColumns+`) VALUES `+enqueuePlaceholders, row...)
			if err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("enqueue attachment: %w", err)
	}
	return msgID, ids, nil
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
	CreatedBy    string    `db:"created_by"`
}

// mediaColumns are selected into MediaObject.
const mediaColumns = `id, sha256, mime_type, size_bytes, storage, storage_key, original_name, created_at, created_by`

// MediaObject returns a media object that is not deleted, or ErrNotFound.
func (db *DB) MediaObject(ctx context.Context, id int64) (MediaObject, error) {
	m, err := getOne[MediaObject](ctx, db.x, `SELECT `+mediaColumns+` FROM media_objects WHERE id = ? AND deleted_at IS NULL`, id)
	if err != nil {
		return MediaObject{}, fmt.Errorf("media object %d: %w", id, err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m, nil
}

// MediaObjectBySHA returns the media object holding the content with this
// SHA-256 (lower-case hex), or ErrNotFound, also when it was deleted: its
// file may be gone, so the content must be stored again (CreateMediaObject
// then brings the object back).
func (db *DB) MediaObjectBySHA(ctx context.Context, sha256 string) (MediaObject, error) {
	m, err := getOne[MediaObject](ctx, db.x, `SELECT `+mediaColumns+` FROM media_objects WHERE sha256 = ? AND deleted_at IS NULL`, sha256)
	if err != nil {
		return MediaObject{}, fmt.Errorf("media object sha256 %s: %w", sha256, err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m, nil
}

// CreateMediaObject records a stored file and returns its id; media is
// stored once per content. When an object with the same SHA-256 exists its
// id is returned and m's storage is not recorded (the caller may remove its
// copy when the returned object's StorageKey differs); when that object was
// deleted, it comes back with m's storage, type, size and name, since the
// caller has just stored the file again. Either way the object's grace
// period starts over (last_used_at), so cleanup leaves it alone while the
// caller goes on to reference it.
func (db *DB) CreateMediaObject(ctx context.Context, m MediaObject, actor string) (int64, error) {
	switch {
	case m.SHA256 == "":
		return 0, errors.New("create media object: no sha256")
	case m.Storage != "local" && m.Storage != "s3":
		return 0, fmt.Errorf("create media object: unknown storage %q (local or s3)", m.Storage)
	case m.StorageKey == "":
		return 0, errors.New("create media object: no storage key")
	}
	var id int64
	create := func(tx *sqlx.Tx) error {
		now := db.timestamp()
		type mediaRow struct {
			ID        int64        `db:"id"`
			DeletedAt sql.NullTime `db:"deleted_at"`
		}
		cur, err := getOne[mediaRow](ctx, tx, `SELECT id, deleted_at FROM media_objects WHERE sha256 = ?`+db.dialect.forUpdate(), m.SHA256)
		switch {
		case err == nil && !cur.DeletedAt.Valid:
			id = cur.ID
			_, err = tx.ExecContext(ctx, `UPDATE media_objects SET last_used_at = ? WHERE id = ?`, now, id)
			return err
		case err == nil:
			id = cur.ID
			_, err = tx.ExecContext(ctx, `UPDATE media_objects SET deleted_at = NULL, last_used_at = ?, mime_type = ?,
size_bytes = ?, storage = ?, storage_key = ?, original_name = ? WHERE id = ?`,
				now, m.MIME, m.Size, m.Storage, m.StorageKey, m.OriginalName, id)
			return err
		case !errors.Is(err, ErrNotFound):
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO media_objects
(sha256, mime_type, size_bytes, storage, storage_key, original_name, created_at, created_by, last_used_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.SHA256, m.MIME, m.Size, m.Storage, m.StorageKey, m.OriginalName, now, actor, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	}
	err := db.inTx(ctx, create)
	if isDuplicate(err) {
		// Another transaction stored the same content meanwhile (MySQL
		// locks no gap at READ COMMITTED): use that object.
		err = db.inTx(ctx, create)
	}
	if err != nil {
		return 0, fmt.Errorf("create media object: %w", err)
	}
	return id, nil
}

// mediaUnreferenced is the cleanup condition on media object m; its
// arguments are olderThan twice.
const mediaUnreferenced = `m.deleted_at IS NULL AND m.created_at < ? AND (m.last_used_at IS NULL OR m.last_used_at < ?)
AND NOT EXISTS (SELECT 1 FROM saved_messages s WHERE s.media_id = m.id AND s.active_name IS NOT NULL)
AND NOT EXISTS (SELECT 1 FROM saved_messages s JOIN queue_items q ON q.saved_message_id = s.id
                WHERE s.media_id = m.id AND q.status IN ('queued', 'processing'))`

// UnreferencedMedia returns up to limit media objects, oldest first, that
// cleanup may delete: not deleted, stored (or stored again) before
// olderThan, referenced by no active or archived saved message and by no
// queued or processing queue item through its saved message. Delete each
// with MarkMediaDeleted, which checks again, before removing its file.
func (db *DB) UnreferencedMedia(ctx context.Context, olderThan time.Time, limit int) ([]MediaObject, error) {
	if limit <= 0 {
		return nil, nil
	}
	before := olderThan.UTC().Truncate(time.Microsecond)
	var out []MediaObject
	err := db.x.SelectContext(ctx, &out, `SELECT `+mediaColumns+` FROM media_objects m WHERE `+mediaUnreferenced+`
ORDER BY m.id LIMIT ?`, before, before, limit)
	if err != nil {
		return nil, fmt.Errorf("unreferenced media: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}

// MarkMediaDeleted marks media object id deleted when, checked again in the
// transaction that marks it, it still meets UnreferencedMedia's conditions
// for olderThan, and reports whether it did. It locks the object first, as
// everything that adds a reference to it does (AddSavedMessage,
// ReplaceSavedMessageMedia, EnqueueAttachment, CreateMediaObject), so a
// reference made concurrently is either seen here or refused there. It
// reports false for an object deleted already; ErrNotFound when there is
// none. Remove the object's file only after it reported true.
func (db *DB) MarkMediaDeleted(ctx context.Context, id int64, olderThan time.Time) (bool, error) {
	before := olderThan.UTC().Truncate(time.Microsecond)
	var marked bool
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		marked = false
		deleted, err := getOne[sql.NullTime](ctx, tx, `SELECT deleted_at FROM media_objects WHERE id = ?`+db.dialect.forUpdate(), id)
		if err != nil || deleted.Valid {
			return err
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM media_objects m WHERE m.id = ? AND `+mediaUnreferenced,
			id, before, before); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE media_objects SET deleted_at = ? WHERE id = ?`, db.timestamp(), id); err != nil {
			return err
		}
		marked = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("mark media object %d deleted: %w", id, err)
	}
	return marked, nil
}
