-- One-time setup links: while no admin account exists, serve logs a link
-- whose token creates the first one. Only the SHA-256 of the token is kept;
-- using it deletes it. Its twin is mysql/00005_admin_setup.sql.

-- +goose Up
CREATE TABLE admin_setup_tokens (
    token_hash TEXT     NOT NULL PRIMARY KEY,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE admin_setup_tokens;
