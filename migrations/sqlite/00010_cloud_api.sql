-- The WhatsApp Cloud API as it really behaves: templates synced from the
-- account with their whole shape, customers' own messages, and the 24-hour
-- customer-service window. Its twin is mysql/00010_cloud_api.sql.
--
-- catalog_entries: a template now records its shape (JSON: header format,
-- body parameters positional or named, URL-button parameters), Meta's
-- status (APPROVED, PAUSED, REJECTED, …; '' for a hand-made entry, which is
-- trusted as approved), its category, and when it was last synced ('' /
-- NULL: typed in by hand).
--
-- inbound_messages: what customers wrote to the business, once per
-- provider message id (providers deliver again). body is bounded by the
-- application; kind is text, image, video, audio, document or other.
--
-- customer_windows: per gateway and customer, when the customer last
-- wrote (the window opens for 24 hours from then) and when the provider
-- said the window was closed (131047), which overrides an older message.
--
-- staff_notices: a notice may now forward a customer's message to a chat
-- (inbound_message_id); exactly one subject is set.

-- +goose Up
ALTER TABLE catalog_entries ADD COLUMN shape TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_entries ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_entries ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_entries ADD COLUMN synced_at DATETIME NULL;

CREATE TABLE inbound_messages (
    id                  INTEGER  PRIMARY KEY AUTOINCREMENT,
    gateway             TEXT     NOT NULL,
    account             TEXT     NOT NULL DEFAULT '',
    provider_message_id TEXT     NOT NULL,
    phone               TEXT     NOT NULL,
    profile_name        TEXT     NOT NULL DEFAULT '',
    kind                TEXT     NOT NULL,
    body                TEXT     NOT NULL DEFAULT '',
    received_at         DATETIME NOT NULL,
    created_at          DATETIME NOT NULL
);
CREATE UNIQUE INDEX inbound_messages_provider ON inbound_messages (gateway, provider_message_id);
CREATE INDEX inbound_messages_received ON inbound_messages (received_at, id);
CREATE INDEX inbound_messages_phone ON inbound_messages (phone, received_at);

CREATE TABLE customer_windows (
    gateway         TEXT     NOT NULL,
    phone           TEXT     NOT NULL,
    last_inbound_at DATETIME NULL,
    closed_at       DATETIME NULL,
    updated_at      DATETIME NOT NULL,
    PRIMARY KEY (gateway, phone)
);

CREATE TABLE staff_notices_new (
    id                 INTEGER  PRIMARY KEY AUTOINCREMENT,
    queue_item_id      INTEGER  NULL REFERENCES queue_items (id) ON DELETE CASCADE,
    campaign_id        INTEGER  NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    inbound_message_id INTEGER  NULL REFERENCES inbound_messages (id) ON DELETE CASCADE,
    recipient          TEXT     NOT NULL,
    failed_at          DATETIME NOT NULL,
    state              TEXT     NOT NULL CHECK (state IN ('pending', 'sent', 'dropped')),
    attempts           INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at    DATETIME NOT NULL,
    claim_token        TEXT     NULL,
    created_at         DATETIME NOT NULL,
    finished_at        DATETIME NULL,
    detail             TEXT     NOT NULL DEFAULT '',
    CHECK ((queue_item_id IS NOT NULL) + (campaign_id IS NOT NULL) + (inbound_message_id IS NOT NULL) = 1)
);
INSERT INTO staff_notices_new (id, queue_item_id, campaign_id, recipient, failed_at, state, attempts, next_attempt_at,
    claim_token, created_at, finished_at, detail)
SELECT id, queue_item_id, campaign_id, recipient, failed_at, state, attempts, next_attempt_at, claim_token, created_at,
    finished_at, detail
FROM staff_notices;
DROP TABLE staff_notices;
ALTER TABLE staff_notices_new RENAME TO staff_notices;
CREATE INDEX staff_notices_due ON staff_notices (state, next_attempt_at);
CREATE INDEX staff_notices_item ON staff_notices (queue_item_id);
CREATE INDEX staff_notices_campaign ON staff_notices (campaign_id);
CREATE INDEX staff_notices_inbound ON staff_notices (inbound_message_id);

-- +goose Down
CREATE TABLE staff_notices_old (
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
INSERT INTO staff_notices_old (id, queue_item_id, campaign_id, recipient, failed_at, state, attempts, next_attempt_at,
    claim_token, created_at, finished_at, detail)
SELECT id, queue_item_id, campaign_id, recipient, failed_at, state, attempts, next_attempt_at, claim_token, created_at,
    finished_at, detail
FROM staff_notices WHERE inbound_message_id IS NULL;
DROP TABLE staff_notices;
ALTER TABLE staff_notices_old RENAME TO staff_notices;
CREATE INDEX staff_notices_due ON staff_notices (state, next_attempt_at);
CREATE INDEX staff_notices_item ON staff_notices (queue_item_id);
CREATE INDEX staff_notices_campaign ON staff_notices (campaign_id);
DROP TABLE customer_windows;
DROP TABLE inbound_messages;
ALTER TABLE catalog_entries DROP COLUMN synced_at;
ALTER TABLE catalog_entries DROP COLUMN category;
ALTER TABLE catalog_entries DROP COLUMN status;
ALTER TABLE catalog_entries DROP COLUMN shape;
