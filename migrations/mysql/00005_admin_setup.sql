-- One-time setup links: while no admin account exists, serve logs a link
-- whose token creates the first one. Only the SHA-256 of the token is kept;
-- using it deletes it. Its twin is sqlite/00005_admin_setup.sql.

-- +goose Up
CREATE TABLE admin_setup_tokens (
    token_hash VARCHAR(128) NOT NULL PRIMARY KEY,
    created_at DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE admin_setup_tokens;
