-- Indexes for the queue's warnings and reports: the oldest due item, recent
-- permanent failures, sends by gateway.

-- +goose Up
CREATE INDEX queue_items_due ON queue_items (status, next_attempt_at);
CREATE INDEX queue_items_failed ON queue_items (status, failed_at);
CREATE INDEX queue_items_sent ON queue_items (sent_at, sent_gateway);

-- +goose Down
DROP INDEX queue_items_sent;
DROP INDEX queue_items_failed;
DROP INDEX queue_items_due;
