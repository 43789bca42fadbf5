-- Chat identities an admin removed. "First use" of `messagebridge chat`
-- (which makes its console identity an operator) means an identity never
-- seen before, not one absent now: a removed identity stays removed across
-- restarts until an admin adds it again, which deletes its row here. Its
-- twin is mysql/00007_removed_operators.sql.

-- +goose Up
CREATE TABLE removed_operators (
    identity   TEXT     NOT NULL PRIMARY KEY,
    removed_at DATETIME NOT NULL,
    removed_by TEXT     NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE removed_operators;
