-- The catalog: flows and templates an admin saved under a name, so
-- operators pick them by name ("/campaign set 1 flow=welcome") instead of
-- typing provider ids. Its twin is sqlite/00004_catalog.sql.
--
-- kind is 'flow' or 'template'. name is unique per kind and compared
-- without regard to case: the operations layer stores it lower-cased with
-- single spaces (the table compares bytes, as SQLite does). external_id is
-- the provider's id (a flow id, a template name); language is a WhatsApp
-- language code (en, en_US; '' for a flow saved without one); param_count
-- is how many parameters a template takes. A campaign stores the resolved
-- external id, never the name, so an entry may change or go without
-- touching campaigns.

-- +goose Up
CREATE TABLE catalog_entries (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind        VARCHAR(16)  NOT NULL CHECK (kind IN ('flow', 'template')),
    name        VARCHAR(64)  NOT NULL,
    external_id VARCHAR(128) NOT NULL,
    language    VARCHAR(16)  NOT NULL DEFAULT '',
    param_count INT          NOT NULL DEFAULT 0 CHECK (param_count >= 0),
    created_at  DATETIME(6)  NOT NULL,
    created_by  VARCHAR(190) NOT NULL DEFAULT '',
    updated_at  DATETIME(6)  NOT NULL,
    updated_by  VARCHAR(190) NOT NULL DEFAULT ''
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE UNIQUE INDEX catalog_entries_kind_name ON catalog_entries (kind, name);

-- +goose Down
DROP TABLE catalog_entries;
