-- The templates and flows tables of 00001 were never read or written: the
-- catalog (00004, catalog_entries) holds the flows and templates an admin
-- saves, and a campaign keeps the resolved provider id. Dropping them
-- leaves one home for flows and templates. Its twin is
-- sqlite/00009_drop_unused_tables.sql. Down brings the empty tables back as
-- 00001 made them.

-- +goose Up
DROP TABLE flows;
DROP TABLE templates;

-- +goose Down
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
