-- Chat identities an admin removed. "First use" of `messagebridge chat`
-- (which makes its console identity an operator) means an identity never
-- seen before, not one absent now: a removed identity stays removed across
-- restarts until an admin adds it again, which deletes its row here. Its
-- twin is sqlite/00007_removed_operators.sql.

-- +goose Up
CREATE TABLE removed_operators (
    identity   VARCHAR(190) NOT NULL PRIMARY KEY,
    removed_at DATETIME(6)  NOT NULL,
    removed_by VARCHAR(190) NOT NULL DEFAULT ''
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE removed_operators;
