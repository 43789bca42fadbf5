-- Indexes for the queue's warnings and reports: recent permanent failures
-- and sends by gateway. Neither holds status, so claims do not touch them.

-- +goose Up
CREATE INDEX queue_items_failed ON queue_items (failed_at);
CREATE INDEX queue_items_sent ON queue_items (sent_at, sent_gateway);

-- +goose Down
DROP INDEX queue_items_sent;
DROP INDEX queue_items_failed;
