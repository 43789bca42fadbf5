-- The templates and flows tables of 00001 were never read or written: the
-- catalog (00004, catalog_entries) holds the flows and templates an admin
-- saves, and a campaign keeps the resolved provider id. Dropping them
-- leaves one home for flows and templates. Its twin is
-- mysql/00009_drop_unused_tables.sql. Down brings the empty tables back as
-- 00001 made them.

-- +goose Up
DROP TABLE flows;
DROP TABLE templates;

-- +goose Down
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
