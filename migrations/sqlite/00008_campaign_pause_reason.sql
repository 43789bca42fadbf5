-- Why a campaign is paused, who scheduled it, and staff notices about
-- campaigns. Its twin is mysql/00008_campaign_pause_reason.sql.
--
-- A scheduled campaign that is not ready at its time (its gateway cannot
-- send its content, its interval is too fast, its contacts are gone) does
-- not start: the dispatcher pauses it, writes the reason to pause_reason
-- and tells scheduled_by (the chat identity that scheduled it) through the
-- staff_notices outbox. A staff notice is now about a failed queue item or
-- about a campaign (exactly one of queue_item_id and campaign_id); SQLite
-- cannot drop a NOT NULL, so the table is rebuilt with its rows.

-- +goose Up
ALTER TABLE campaigns ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN scheduled_by TEXT NULL;

CREATE TABLE staff_notices_new (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    queue_item_id   INTEGER  NULL REFERENCES queue_items (id) ON DELETE CASCADE,
    campaign_id     INTEGER  NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    recipient       TEXT     NOT NULL,
    failed_at       DATETIME NOT NULL,
    state           TEXT     NOT NULL CHECK (state IN ('pending', 'sent', 'dropped')),
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    claim_token     TEXT     NULL,
    created_at      DATETIME NOT NULL,
    finished_at     DATETIME NULL,
    detail          TEXT     NOT NULL DEFAULT '',
    CHECK ((queue_item_id IS NULL) <> (campaign_id IS NULL))
);
INSERT INTO staff_notices_new (id, queue_item_id, recipient, failed_at, state, attempts, next_attempt_at, claim_token,
    created_at, finished_at, detail)
SELECT id, queue_item_id, recipient, failed_at, state, attempts, next_attempt_at, claim_token, created_at, finished_at, detail
FROM staff_notices;
DROP TABLE staff_notices;
ALTER TABLE staff_notices_new RENAME TO staff_notices;
CREATE INDEX staff_notices_due ON staff_notices (state, next_attempt_at);
CREATE INDEX staff_notices_item ON staff_notices (queue_item_id);
CREATE INDEX staff_notices_campaign ON staff_notices (campaign_id);

-- +goose Down
CREATE TABLE staff_notices_old (
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
INSERT INTO staff_notices_old (id, queue_item_id, recipient, failed_at, state, attempts, next_attempt_at, claim_token,
    created_at, finished_at, detail)
SELECT id, queue_item_id, recipient, failed_at, state, attempts, next_attempt_at, claim_token, created_at, finished_at, detail
FROM staff_notices WHERE queue_item_id IS NOT NULL;
DROP TABLE staff_notices;
ALTER TABLE staff_notices_old RENAME TO staff_notices;
CREATE INDEX staff_notices_due ON staff_notices (state, next_attempt_at);
CREATE INDEX staff_notices_item ON staff_notices (queue_item_id);
ALTER TABLE campaigns DROP COLUMN scheduled_by;
ALTER TABLE campaigns DROP COLUMN pause_reason;
