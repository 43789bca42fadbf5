-- Telling staff what became of their messages. Its twin is
-- sqlite/00006_staff_notices.sql.
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
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    queue_item_id   BIGINT       NOT NULL,
    recipient       VARCHAR(190) NOT NULL,
    failed_at       DATETIME(6)  NOT NULL,
    state           VARCHAR(16)  NOT NULL CHECK (state IN ('pending', 'sent', 'dropped')),
    attempts        INT          NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6)  NOT NULL,
    claim_token     VARCHAR(64)  NULL,
    created_at      DATETIME(6)  NOT NULL,
    finished_at     DATETIME(6)  NULL,
    detail          VARCHAR(255) NOT NULL DEFAULT '',
    INDEX staff_notices_due (state, next_attempt_at),
    INDEX staff_notices_item (queue_item_id),
    CONSTRAINT staff_notices_item_ref FOREIGN KEY (queue_item_id) REFERENCES queue_items (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX queue_items_creator ON queue_items (created_by, id);

-- +goose Down
DROP INDEX queue_items_creator ON queue_items;
DROP TABLE staff_notices;
