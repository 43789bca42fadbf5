-- Saved messages get a state (active, archived, deleted) and names unique
-- only among the messages not deleted, so a deleted message's name can be
-- used again. Its twin is mysql/00003_saved_message_states.sql.
--
-- active_name holds the name while the message is active or archived and is
-- NULL once it is deleted; its UNIQUE index (NULLs never collide, in either
-- dialect) keeps the names of the library unique. name keeps the name for
-- good, deleted or not, and is no longer unique. An attachment sent once
-- ("/send <phone>" with a photo) is an unnamed saved message: name '' and
-- active_name NULL. A saved message keeps its media object from cleanup
-- only while active_name is set; queue items keep it through their saved
-- message while queued or processing. deleted_at is set exactly when the
-- state is 'deleted'.
--
-- SQLite cannot drop the UNIQUE of name in place, so the table is rebuilt
-- (https://sqlite.org/lang_altertable.html#otheralter). Queue items and
-- campaigns reference it, and a DROP TABLE with foreign keys on would
-- delete through them, so the rebuild runs with foreign keys off, in its
-- own transaction; goose runs the statements on one connection.

-- +goose NO TRANSACTION
-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE saved_messages_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'video')),
    body        TEXT    NOT NULL DEFAULT '',
    media_id    INTEGER NULL REFERENCES media_objects (id),
    created_at  DATETIME NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT '',
    updated_at  DATETIME NOT NULL,
    updated_by  TEXT    NOT NULL DEFAULT '',
    deleted_at  DATETIME NULL,
    state       TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'archived', 'deleted')),
    active_name TEXT    NULL,
    CONSTRAINT saved_messages_state_deleted CHECK ((state = 'deleted') = (deleted_at IS NOT NULL)),
    CONSTRAINT saved_messages_active_name_live CHECK (active_name IS NULL OR state <> 'deleted')
);
INSERT INTO saved_messages_new (id, name, kind, body, media_id, created_at, created_by, updated_at, updated_by,
    deleted_at, state, active_name)
SELECT id, name, kind, body, media_id, created_at, created_by, updated_at, updated_by, deleted_at,
    CASE WHEN deleted_at IS NULL THEN 'active' ELSE 'deleted' END,
    CASE WHEN deleted_at IS NULL THEN name END
FROM saved_messages;
DROP TABLE saved_messages;
ALTER TABLE saved_messages_new RENAME TO saved_messages;
CREATE UNIQUE INDEX saved_messages_active_name ON saved_messages (active_name);
-- Media cleanup looks references up by media object: through saved
-- messages, then their queue items. Neither index holds status. On MySQL
-- the indexes backing the foreign keys of the same names serve.
CREATE INDEX saved_messages_media ON saved_messages (media_id);
CREATE INDEX queue_items_saved_message ON queue_items (saved_message_id);
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP INDEX queue_items_saved_message;
CREATE TABLE saved_messages_old (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'video')),
    body       TEXT    NOT NULL DEFAULT '',
    media_id   INTEGER NULL REFERENCES media_objects (id),
    created_at DATETIME NOT NULL,
    created_by TEXT    NOT NULL DEFAULT '',
    updated_at DATETIME NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    deleted_at DATETIME NULL
);
-- Deleted and unnamed messages may share names; they get unique ones back.
-- An archived message becomes an active one.
INSERT INTO saved_messages_old (id, name, kind, body, media_id, created_at, created_by, updated_at, updated_by, deleted_at)
SELECT id, CASE WHEN active_name IS NULL THEN name || ' (#' || id || ')' ELSE name END,
    kind, body, media_id, created_at, created_by, updated_at, updated_by, deleted_at
FROM saved_messages;
DROP TABLE saved_messages;
ALTER TABLE saved_messages_old RENAME TO saved_messages;
COMMIT;
PRAGMA foreign_keys = ON;
