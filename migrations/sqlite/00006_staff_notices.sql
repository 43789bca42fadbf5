-- Telling staff what became of their messages. Its twin is
-- mysql/00006_staff_notices.sql.
--
-- staff_notices is an outbox: when a message someone queued from a chat
-- (no campaign) fails for good, the same transaction adds a row here for
-- the chat identity that queued it. A notifier claims a pending row by
-- stamping claim_token and moving next_attempt_at past a lease, sends it
-- and marks it sent or dropped, so each failure is told once however many
-- instances run; a claim whose process died is taken again once its lease
-- has passed. state is pending, sent or dropped (the item was retried
-- meanwhile, the person may no longer use the bot, or the chat kept
-- refusing); detail says why, for operators.
--
-- queue_items_creator lets /mine find a person's own messages without
-- reading the whole queue; created_by never changes, so claims and
-- outcomes do not touch it.

-- +goose Up
CREATE TABLE staff_notices (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    queue_item_id   INTEGER  NOT NULL REFERENCES queue_items (id) ON DELETE CASCADE,
    recipient       TEXT     NOT NULL,
    failed_at       DATETIME NOT NULL,
    state           TEXT     NOT NULL CHECK (state IN ('pending', 'sent', 'dropped')),
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    claim_token     TEXT     NULL,
    created_at      DATETIME NOT NULL,
    finished_at     DATETIME NULL,
    detail          TEXT     NOT NULL DEFAULT ''
);
CREATE INDEX staff_notices_due ON staff_notices (state, next_attempt_at);
CREATE INDEX staff_notices_item ON staff_notices (queue_item_id);
CREATE INDEX queue_items_creator ON queue_items (created_by, id);

-- +goose Down
DROP INDEX queue_items_creator;
DROP TABLE staff_notices;
