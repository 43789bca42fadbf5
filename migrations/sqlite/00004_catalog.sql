-- The catalog: flows and templates an admin saved under a name, so
-- operators pick them by name ("/campaign set 1 flow=welcome") instead of
-- typing provider ids. Its twin is mysql/00004_catalog.sql.
--
-- kind is 'flow' or 'template'. name is unique per kind and compared
-- without regard to case: the operations layer stores it lower-cased with
-- single spaces. external_id is the provider's id (a flow id, a template
-- name); language is a WhatsApp language code (en, en_US; '' for a flow
-- saved without one); param_count is how many parameters a template takes.
-- A campaign stores the resolved external id, never the name, so an entry
-- may change or go without touching campaigns.

-- +goose Up
CREATE TABLE catalog_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL CHECK (kind IN ('flow', 'template')),
    name        TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    language    TEXT    NOT NULL DEFAULT '',
    param_count INTEGER NOT NULL DEFAULT 0 CHECK (param_count >= 0),
    created_at  DATETIME NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT '',
    updated_at  DATETIME NOT NULL,
    updated_by  TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX catalog_entries_kind_name ON catalog_entries (kind, name);

-- +goose Down
DROP TABLE catalog_entries;
