-- The whole product's schema, SQLite dialect. Its twin is mysql/00001_schema.sql:
-- the same tables, columns and indexes. Timestamps are UTC, written by the
-- application (never by column defaults) so both dialects compare them alike.
-- Phone numbers are E.164 ("+919876543210").

-- +goose Up

-- Runtime settings an admin edits. Secret values are AES-256-GCM sealed.
CREATE TABLE settings (
    name       TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    is_secret  INTEGER NOT NULL DEFAULT 0 CHECK (is_secret IN (0, 1)),
    updated_at DATETIME NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT ''
);

-- Who may use the bot, by chat identity ("telegram:123456", "whatsapp:+9198...").
CREATE TABLE operators (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    identity     TEXT    NOT NULL UNIQUE,
    transport    TEXT    NOT NULL CHECK (transport IN ('telegram', 'whatsapp', 'console')),
    role         TEXT    NOT NULL CHECK (role IN ('staff', 'operator', 'admin')),
    display_name TEXT    NOT NULL DEFAULT '',
    created_at   DATETIME NOT NULL,
    created_by   TEXT    NOT NULL DEFAULT '',
    updated_at   DATETIME NOT NULL
);

-- People who sign in to the admin web page.
CREATE TABLE admin_users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    DATETIME NOT NULL,
    last_login_at DATETIME NULL
);

CREATE TABLE web_sessions (
    token_hash    TEXT    NOT NULL PRIMARY KEY,
    admin_user_id INTEGER NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    created_at    DATETIME NOT NULL,
    expires_at    DATETIME NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- Media stored once (local folder or S3), addressed by content hash.
CREATE TABLE media_objects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256        TEXT    NOT NULL UNIQUE,
    mime_type     TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    storage       TEXT    NOT NULL CHECK (storage IN ('local', 's3')),
    storage_key   TEXT    NOT NULL,
    original_name TEXT    NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL,
    created_by    TEXT    NOT NULL DEFAULT '',
    last_used_at  DATETIME NULL,
    deleted_at    DATETIME NULL
);

-- A media object's id at a provider (e.g. Meta /media upload per phone-number id).
CREATE TABLE gateway_media (
    media_id          INTEGER NOT NULL REFERENCES media_objects (id) ON DELETE CASCADE,
    gateway           TEXT    NOT NULL,
    account           TEXT    NOT NULL,
    provider_media_id TEXT    NOT NULL,
    uploaded_at       DATETIME NOT NULL,
    expires_at        DATETIME NOT NULL,
    PRIMARY KEY (media_id, gateway, account)
);

-- The library of saved messages operators reuse.
CREATE TABLE saved_messages (
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

-- Provider template and flow identifiers an admin manages.
CREATE TABLE templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway     TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    category    TEXT    NOT NULL DEFAULT '',
    param_count INTEGER NOT NULL DEFAULT 0,
    description TEXT    NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    UNIQUE (gateway, name, language)
);

CREATE TABLE flows (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway     TEXT    NOT NULL,
    flow_id     TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    variables   TEXT    NOT NULL DEFAULT '[]',
    description TEXT    NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    UNIQUE (gateway, flow_id)
);

CREATE TABLE campaigns (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
    content_kind      TEXT    NULL CHECK (content_kind IN ('text', 'saved_message', 'template', 'flow')),
    body              TEXT    NULL,
    saved_message_id  INTEGER NULL REFERENCES saved_messages (id),
    template_name     TEXT    NULL,
    template_language TEXT    NULL,
    template_params   TEXT    NULL,
    flow_id           TEXT    NULL,
    gateway           TEXT    NULL,
    send_interval_ms  INTEGER NOT NULL DEFAULT 0,
    next_send_at      DATETIME NULL,
    scheduled_at      DATETIME NULL,
    started_at        DATETIME NULL,
    paused_at         DATETIME NULL,
    completed_at      DATETIME NULL,
    cancelled_at      DATETIME NULL,
    created_at        DATETIME NOT NULL,
    created_by        TEXT    NOT NULL DEFAULT '',
    updated_at        DATETIME NOT NULL,
    deleted_at        DATETIME NULL
);
CREATE INDEX campaigns_status ON campaigns (status);

CREATE TABLE campaign_contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    phone       TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    variables   TEXT    NOT NULL DEFAULT '{}',
    source_row  INTEGER NOT NULL DEFAULT 0,
    created_at  DATETIME NOT NULL,
    UNIQUE (campaign_id, phone)
);

-- One row per message to one phone. contact_id is unique: a campaign contact
-- becomes at most one queue item.
CREATE TABLE queue_items (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    phone               TEXT    NOT NULL,
    content_kind        TEXT    NOT NULL CHECK (content_kind IN ('text', 'saved_message', 'template', 'flow')),
    body                TEXT    NULL,
    saved_message_id    INTEGER NULL REFERENCES saved_messages (id),
    template_name       TEXT    NULL,
    template_language   TEXT    NULL,
    template_params     TEXT    NULL,
    flow_id             TEXT    NULL,
    flow_variables      TEXT    NULL,
    gateway             TEXT    NOT NULL DEFAULT '',
    sent_gateway        TEXT    NULL,
    priority            INTEGER NOT NULL DEFAULT 0,
    campaign_id         INTEGER NULL REFERENCES campaigns (id),
    contact_id          INTEGER NULL UNIQUE REFERENCES campaign_contacts (id),
    status              TEXT    NOT NULL CHECK (status IN ('queued', 'processing', 'sent', 'delivered', 'read', 'failed', 'cancelled')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    max_attempts        INTEGER NOT NULL,
    next_attempt_at     DATETIME NOT NULL,
    lock_token          TEXT    NULL,
    locked_at           DATETIME NULL,
    locked_by           TEXT    NULL,
    last_error          TEXT    NULL,
    last_error_class    TEXT    NULL,
    provider_message_id TEXT    NULL,
    created_by          TEXT    NOT NULL DEFAULT '',
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL,
    sent_at             DATETIME NULL,
    delivered_at        DATETIME NULL,
    read_at             DATETIME NULL,
    failed_at           DATETIME NULL,
    cancelled_at        DATETIME NULL
);
-- Every index holding status changes with each transition: keep them few.
-- The claim index also finds processing items (stale locks) and the oldest
-- queued one; failed_at and sent_at change once, so their indexes are cheap.
CREATE INDEX queue_items_claim ON queue_items (status, priority, next_attempt_at);
CREATE INDEX queue_items_created ON queue_items (created_at, status);
CREATE INDEX queue_items_phone ON queue_items (phone, created_at);
CREATE INDEX queue_items_campaign ON queue_items (campaign_id, status);
CREATE INDEX queue_items_provider_id ON queue_items (provider_message_id);

-- History of every change to a queue item, with who made it.
CREATE TABLE queue_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_item_id INTEGER NOT NULL REFERENCES queue_items (id) ON DELETE CASCADE,
    created_at    DATETIME NOT NULL,
    actor         TEXT    NOT NULL DEFAULT '',
    event         TEXT    NOT NULL,
    from_status   TEXT    NULL,
    to_status     TEXT    NULL,
    attempt       INTEGER NOT NULL DEFAULT 0,
    detail        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX queue_events_item ON queue_events (queue_item_id, id);

CREATE TABLE opt_outs (
    phone      TEXT    NOT NULL PRIMARY KEY,
    reason     TEXT    NOT NULL DEFAULT '',
    source     TEXT    NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    created_by TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at DATETIME NOT NULL,
    actor      TEXT    NOT NULL,
    role       TEXT    NOT NULL DEFAULT '',
    transport  TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    outcome    TEXT    NOT NULL CHECK (outcome IN ('ok', 'refused', 'error'))
);
CREATE INDEX audit_log_created ON audit_log (created_at);
CREATE INDEX audit_log_actor ON audit_log (actor, created_at);

-- Webhook deliveries already processed, so a replay changes nothing.
CREATE TABLE webhook_events (
    provider    TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    received_at DATETIME NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- One row per running delivery processor, refreshed while it runs.
CREATE TABLE processor_heartbeats (
    processor_id TEXT    NOT NULL PRIMARY KEY,
    hostname     TEXT    NOT NULL DEFAULT '',
    pid          INTEGER NOT NULL DEFAULT 0,
    version      TEXT    NOT NULL DEFAULT '',
    workers      INTEGER NOT NULL DEFAULT 0,
    started_at   DATETIME NOT NULL,
    seen_at      DATETIME NOT NULL
);

-- Per-gateway health: paused when the provider blocks the sender.
CREATE TABLE gateway_state (
    gateway        TEXT    NOT NULL PRIMARY KEY,
    paused_until   DATETIME NULL,
    blocked_reason TEXT    NULL,
    blocked_at     DATETIME NULL,
    updated_at     DATETIME NOT NULL
);

-- Leader leases for singletons across instances (Telegram polling, WhatsApp session).
CREATE TABLE leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    holder      TEXT    NOT NULL,
    acquired_at DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL
);

-- Resume points of transports (e.g. the last Telegram update id processed).
CREATE TABLE cursors (
    name       TEXT    NOT NULL PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE cursors;
DROP TABLE leases;
DROP TABLE gateway_state;
DROP TABLE processor_heartbeats;
DROP TABLE webhook_events;
DROP TABLE audit_log;
DROP TABLE opt_outs;
DROP TABLE queue_events;
DROP TABLE queue_items;
DROP TABLE campaign_contacts;
DROP TABLE campaigns;
DROP TABLE flows;
DROP TABLE templates;
DROP TABLE saved_messages;
DROP TABLE gateway_media;
DROP TABLE media_objects;
DROP TABLE web_sessions;
DROP TABLE admin_users;
DROP TABLE operators;
DROP TABLE settings;
