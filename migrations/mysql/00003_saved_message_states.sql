-- Saved messages get a state (active, archived, deleted) and names unique
-- only among the messages not deleted, so a deleted message's name can be
-- used again. Its twin is sqlite/00003_saved_message_states.sql.
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
-- MySQL commits DDL implicitly, so this migration cannot roll back halfway.

-- +goose Up
ALTER TABLE saved_messages
    ADD COLUMN state       VARCHAR(16)  NOT NULL DEFAULT 'active',
    ADD COLUMN active_name VARCHAR(190) NULL;
UPDATE saved_messages SET state = 'deleted' WHERE deleted_at IS NOT NULL;
UPDATE saved_messages SET active_name = name WHERE deleted_at IS NULL;
ALTER TABLE saved_messages
    DROP INDEX name,
    ADD CONSTRAINT saved_messages_state CHECK (state IN ('active', 'archived', 'deleted')),
    ADD CONSTRAINT saved_messages_state_deleted CHECK ((state = 'deleted') = (deleted_at IS NOT NULL)),
    ADD CONSTRAINT saved_messages_active_name_live CHECK (active_name IS NULL OR state <> 'deleted');
CREATE UNIQUE INDEX saved_messages_active_name ON saved_messages (active_name);
-- Media cleanup looks references up by media object: through saved
-- messages, then their queue items. The indexes InnoDB made for the
-- foreign keys saved_messages_media and queue_items_saved_message serve;
-- SQLite gets indexes of those names.

-- +goose Down
DROP INDEX saved_messages_active_name ON saved_messages;
-- Deleted and unnamed messages may share names; they get unique ones back.
-- An archived message becomes an active one.
UPDATE saved_messages SET name = CONCAT(name, ' (#', id, ')') WHERE active_name IS NULL;
ALTER TABLE saved_messages
    DROP CONSTRAINT saved_messages_active_name_live,
    DROP CONSTRAINT saved_messages_state_deleted,
    DROP CONSTRAINT saved_messages_state,
    DROP COLUMN active_name,
    DROP COLUMN state,
    ADD UNIQUE INDEX name (name);
