-- The whole product's schema, MySQL/MariaDB dialect. Its twin is
-- sqlite/00001_schema.sql: the same tables, columns and indexes. Timestamps are
-- UTC DATETIME(6), written by the application (never by column defaults).
-- Phone numbers are E.164 ("+919876543210"). Tables use utf8mb4_bin so text
-- compares byte-wise, as in SQLite.
-- MySQL commits DDL implicitly, so this migration cannot roll back halfway;
-- goose records it only when every statement succeeded.

-- +goose Up

CREATE TABLE settings (
    name       VARCHAR(128)  NOT NULL PRIMARY KEY,
    value      MEDIUMTEXT    NOT NULL,
    is_secret  TINYINT(1)    NOT NULL DEFAULT 0 CHECK (is_secret IN (0, 1)),
    updated_at DATETIME(6)   NOT NULL,
    updated_by VARCHAR(190)  NOT NULL DEFAULT ''
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE operators (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    identity     VARCHAR(190) NOT NULL UNIQUE,
    transport    VARCHAR(16)  NOT NULL CHECK (transport IN ('telegram', 'whatsapp', 'console')),
    role         VARCHAR(16)  NOT NULL CHECK (role IN ('staff', 'operator', 'admin')),
    display_name VARCHAR(190) NOT NULL DEFAULT '',
    created_at   DATETIME(6)  NOT NULL,
    created_by   VARCHAR(190) NOT NULL DEFAULT '',
    updated_at   DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE admin_users (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    username      VARCHAR(190) NOT NULL UNIQUE,
    password_hash VARCHAR(255) NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    last_login_at DATETIME(6)  NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE web_sessions (
    token_hash    VARCHAR(128) NOT NULL PRIMARY KEY,
    admin_user_id BIGINT       NOT NULL,
    created_at    DATETIME(6)  NOT NULL,
    expires_at    DATETIME(6)  NOT NULL,
    CONSTRAINT web_sessions_user FOREIGN KEY (admin_user_id) REFERENCES admin_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

CREATE TABLE media_objects (
    id            BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    sha256        CHAR(64)      NOT NULL UNIQUE,
    mime_type     VARCHAR(127)  NOT NULL,
    size_bytes    BIGINT        NOT NULL,
    storage       VARCHAR(16)   NOT NULL CHECK (storage IN ('local', 's3')),
    storage_key   VARCHAR(512)  NOT NULL,
    original_name VARCHAR(255)  NOT NULL DEFAULT '',
    created_at    DATETIME(6)   NOT NULL,
    created_by    VARCHAR(190)  NOT NULL DEFAULT '',
    last_used_at  DATETIME(6)   NULL,
    deleted_at    DATETIME(6)   NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE gateway_media (
    media_id          BIGINT       NOT NULL,
    gateway           VARCHAR(32)  NOT NULL,
    account           VARCHAR(64)  NOT NULL,
    provider_media_id VARCHAR(255) NOT NULL,
    uploaded_at       DATETIME(6)  NOT NULL,
    expires_at        DATETIME(6)  NOT NULL,
    PRIMARY KEY (media_id, gateway, account),
    CONSTRAINT gateway_media_object FOREIGN KEY (media_id) REFERENCES media_objects (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE saved_messages (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(190) NOT NULL UNIQUE,
    kind       VARCHAR(16)  NOT NULL CHECK (kind IN ('text', 'image', 'video')),
    body       TEXT         NOT NULL,
    media_id   BIGINT       NULL,
    created_at DATETIME(6)  NOT NULL,
    created_by VARCHAR(190) NOT NULL DEFAULT '',
    updated_at DATETIME(6)  NOT NULL,
    updated_by VARCHAR(190) NOT NULL DEFAULT '',
    deleted_at DATETIME(6)  NULL,
    CONSTRAINT saved_messages_media FOREIGN KEY (media_id) REFERENCES media_objects (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE templates (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    gateway     VARCHAR(32)  NOT NULL,
    name        VARCHAR(190) NOT NULL,
    language    VARCHAR(16)  NOT NULL,
    category    VARCHAR(32)  NOT NULL DEFAULT '',
    param_count INT          NOT NULL DEFAULT 0,
    description TEXT         NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    UNIQUE (gateway, name, language)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE flows (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    gateway     VARCHAR(32)  NOT NULL,
    flow_id     VARCHAR(190) NOT NULL,
    name        VARCHAR(190) NOT NULL DEFAULT '',
    variables   TEXT         NOT NULL,
    description TEXT         NOT NULL,
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    UNIQUE (gateway, flow_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE campaigns (
    id                BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name              VARCHAR(190) NOT NULL,
    status            VARCHAR(16)  NOT NULL CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
    content_kind      VARCHAR(16)  NULL CHECK (content_kind IN ('text', 'saved_message', 'template', 'flow')),
    body              TEXT         NULL,
    saved_message_id  BIGINT       NULL,
    template_name     VARCHAR(190) NULL,
    template_language VARCHAR(16)  NULL,
    template_params   TEXT         NULL,
    flow_id           VARCHAR(190) NULL,
    gateway           VARCHAR(32)  NULL,
    send_interval_ms  BIGINT       NOT NULL DEFAULT 0,
    next_send_at      DATETIME(6)  NULL,
    scheduled_at      DATETIME(6)  NULL,
    started_at        DATETIME(6)  NULL,
    paused_at         DATETIME(6)  NULL,
    completed_at      DATETIME(6)  NULL,
    cancelled_at      DATETIME(6)  NULL,
    created_at        DATETIME(6)  NOT NULL,
    created_by        VARCHAR(190) NOT NULL DEFAULT '',
    updated_at        DATETIME(6)  NOT NULL,
    deleted_at        DATETIME(6)  NULL,
    CONSTRAINT campaigns_saved_message FOREIGN KEY (saved_message_id) REFERENCES saved_messages (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX campaigns_status ON campaigns (status);

CREATE TABLE campaign_contacts (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    campaign_id BIGINT       NOT NULL,
    phone       VARCHAR(20)  NOT NULL,
    name        VARCHAR(190) NOT NULL DEFAULT '',
    variables   TEXT         NOT NULL,
    source_row  INT          NOT NULL DEFAULT 0,
    created_at  DATETIME(6)  NOT NULL,
    UNIQUE (campaign_id, phone),
    CONSTRAINT campaign_contacts_campaign FOREIGN KEY (campaign_id) REFERENCES campaigns (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE queue_items (
    id                  BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    phone               VARCHAR(20)   NOT NULL,
    content_kind        VARCHAR(16)   NOT NULL CHECK (content_kind IN ('text', 'saved_message', 'template', 'flow')),
    body                TEXT          NULL,
    saved_message_id    BIGINT        NULL,
    template_name       VARCHAR(190)  NULL,
    template_language   VARCHAR(16)   NULL,
    template_params     TEXT          NULL,
    flow_id             VARCHAR(190)  NULL,
    flow_variables      TEXT          NULL,
    gateway             VARCHAR(32)   NOT NULL DEFAULT '',
    sent_gateway        VARCHAR(32)   NULL,
    priority            INT           NOT NULL DEFAULT 0,
    campaign_id         BIGINT        NULL,
    contact_id          BIGINT        NULL UNIQUE,
    status              VARCHAR(16)   NOT NULL CHECK (status IN ('queued', 'processing', 'sent', 'delivered', 'read', 'failed', 'cancelled')),
    attempts            INT           NOT NULL DEFAULT 0,
    max_attempts        INT           NOT NULL,
    next_attempt_at     DATETIME(6)   NOT NULL,
    lock_token          VARCHAR(64)   NULL,
    locked_at           DATETIME(6)   NULL,
    locked_by           VARCHAR(128)  NULL,
    last_error          VARCHAR(1024) NULL,
    last_error_class    VARCHAR(32)   NULL,
    provider_message_id VARCHAR(255)  NULL,
    created_by          VARCHAR(190)  NOT NULL DEFAULT '',
    created_at          DATETIME(6)   NOT NULL,
    updated_at          DATETIME(6)   NOT NULL,
    sent_at             DATETIME(6)   NULL,
    delivered_at        DATETIME(6)   NULL,
    read_at             DATETIME(6)   NULL,
    failed_at           DATETIME(6)   NULL,
    cancelled_at        DATETIME(6)   NULL,
    CONSTRAINT queue_items_saved_message FOREIGN KEY (saved_message_id) REFERENCES saved_messages (id),
    CONSTRAINT queue_items_campaign_ref FOREIGN KEY (campaign_id) REFERENCES campaigns (id),
    CONSTRAINT queue_items_contact FOREIGN KEY (contact_id) REFERENCES campaign_contacts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- Every index holding status changes with each transition: keep them few.
-- The claim index also finds processing items (stale locks) and the oldest
-- queued one; failed_at and sent_at change once, so their indexes are cheap.
CREATE INDEX queue_items_claim ON queue_items (status, priority, next_attempt_at);
CREATE INDEX queue_items_created ON queue_items (created_at, status);
CREATE INDEX queue_items_phone ON queue_items (phone, created_at);
CREATE INDEX queue_items_campaign ON queue_items (campaign_id, status);
CREATE INDEX queue_items_provider_id ON queue_items (provider_message_id);

CREATE TABLE queue_events (
    id            BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    queue_item_id BIGINT        NOT NULL,
    created_at    DATETIME(6)   NOT NULL,
    actor         VARCHAR(190)  NOT NULL DEFAULT '',
    event         VARCHAR(32)   NOT NULL,
    from_status   VARCHAR(16)   NULL,
    to_status     VARCHAR(16)   NULL,
    attempt       INT           NOT NULL DEFAULT 0,
    detail        VARCHAR(1024) NOT NULL DEFAULT '',
    CONSTRAINT queue_events_item_ref FOREIGN KEY (queue_item_id) REFERENCES queue_items (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX queue_events_item ON queue_events (queue_item_id, id);

CREATE TABLE opt_outs (
    phone      VARCHAR(20)  NOT NULL PRIMARY KEY,
    reason     VARCHAR(255) NOT NULL DEFAULT '',
    source     VARCHAR(32)  NOT NULL DEFAULT '',
    created_at DATETIME(6)  NOT NULL,
    created_by VARCHAR(190) NOT NULL DEFAULT ''
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_log (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    created_at DATETIME(6)  NOT NULL,
    actor      VARCHAR(190) NOT NULL,
    role       VARCHAR(16)  NOT NULL DEFAULT '',
    transport  VARCHAR(16)  NOT NULL DEFAULT '',
    action     VARCHAR(64)  NOT NULL,
    detail     TEXT         NOT NULL,
    outcome    VARCHAR(16)  NOT NULL CHECK (outcome IN ('ok', 'refused', 'error'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX audit_log_created ON audit_log (created_at);
CREATE INDEX audit_log_actor ON audit_log (actor, created_at);

CREATE TABLE webhook_events (
    provider    VARCHAR(32)  NOT NULL,
    event_id    VARCHAR(255) NOT NULL,
    received_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (provider, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE processor_heartbeats (
    processor_id VARCHAR(128) NOT NULL PRIMARY KEY,
    hostname     VARCHAR(255) NOT NULL DEFAULT '',
    pid          INT          NOT NULL DEFAULT 0,
    version      VARCHAR(64)  NOT NULL DEFAULT '',
    workers      INT          NOT NULL DEFAULT 0,
    started_at   DATETIME(6)  NOT NULL,
    seen_at      DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE gateway_state (
    gateway        VARCHAR(32)   NOT NULL PRIMARY KEY,
    paused_until   DATETIME(6)   NULL,
    blocked_reason VARCHAR(1024) NULL,
    blocked_at     DATETIME(6)   NULL,
    updated_at     DATETIME(6)   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE leases (
    name        VARCHAR(64)  NOT NULL PRIMARY KEY,
    holder      VARCHAR(128) NOT NULL,
    acquired_at DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE cursors (
    name       VARCHAR(64) NOT NULL PRIMARY KEY,
    position   BIGINT      NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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
