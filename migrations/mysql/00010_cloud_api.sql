-- The WhatsApp Cloud API as it really behaves: templates synced from the
-- account with their whole shape, customers' own messages, and the 24-hour
-- customer-service window. Its twin is sqlite/00010_cloud_api.sql.
--
-- catalog_entries: a template now records its shape (JSON: header format,
-- body parameters positional or named, URL-button parameters), Meta's
-- status (APPROVED, PAUSED, REJECTED, …; '' for a hand-made entry, which is
-- trusted as approved), its category, and when it was last synced (NULL:
-- typed in by hand).
--
-- inbound_messages: what customers wrote to the business, once per
-- provider message id (providers deliver again). body is bounded by the
-- application; kind is text, image, video, audio, document or other.
--
-- customer_windows: per gateway and customer, when the customer last
-- wrote (the window opens for 24 hours from then) and when the provider
-- said the window was closed (131047), which overrides an older message.
--
-- staff_notices: a notice may now forward a customer's message to a chat
-- (inbound_message_id); exactly one subject is set.

-- +goose Up
ALTER TABLE catalog_entries
    ADD COLUMN shape VARCHAR(4000) NOT NULL DEFAULT '',
    ADD COLUMN status VARCHAR(32) NOT NULL DEFAULT '',
    ADD COLUMN category VARCHAR(32) NOT NULL DEFAULT '',
    ADD COLUMN synced_at DATETIME(6) NULL;

CREATE TABLE inbound_messages (
    id                  BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    gateway             VARCHAR(32)   NOT NULL,
    account             VARCHAR(64)   NOT NULL DEFAULT '',
    provider_message_id VARCHAR(190)  NOT NULL,
    phone               VARCHAR(32)   NOT NULL,
    profile_name        VARCHAR(190)  NOT NULL DEFAULT '',
    kind                VARCHAR(16)   NOT NULL,
    body                TEXT          NOT NULL,
    received_at         DATETIME(6)   NOT NULL,
    created_at          DATETIME(6)   NOT NULL,
    UNIQUE KEY inbound_messages_provider (gateway, provider_message_id),
    KEY inbound_messages_received (received_at, id),
    KEY inbound_messages_phone (phone, received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE customer_windows (
    gateway         VARCHAR(32) NOT NULL,
    phone           VARCHAR(32) NOT NULL,
    last_inbound_at DATETIME(6) NULL,
    closed_at       DATETIME(6) NULL,
    updated_at      DATETIME(6) NOT NULL,
    PRIMARY KEY (gateway, phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE staff_notices DROP CONSTRAINT staff_notices_one_subject;
ALTER TABLE staff_notices
    ADD COLUMN inbound_message_id BIGINT NULL AFTER campaign_id,
    ADD INDEX staff_notices_inbound (inbound_message_id),
    ADD CONSTRAINT staff_notices_inbound_ref FOREIGN KEY (inbound_message_id) REFERENCES inbound_messages (id) ON DELETE CASCADE,
    ADD CONSTRAINT staff_notices_one_subject
        CHECK ((queue_item_id IS NOT NULL) + (campaign_id IS NOT NULL) + (inbound_message_id IS NOT NULL) = 1);

-- +goose Down
DELETE FROM staff_notices WHERE inbound_message_id IS NOT NULL;
ALTER TABLE staff_notices
    DROP CONSTRAINT staff_notices_one_subject,
    DROP FOREIGN KEY staff_notices_inbound_ref;
ALTER TABLE staff_notices
    DROP INDEX staff_notices_inbound,
    DROP COLUMN inbound_message_id,
    ADD CONSTRAINT staff_notices_one_subject CHECK ((queue_item_id IS NULL) <> (campaign_id IS NULL));
DROP TABLE customer_windows;
DROP TABLE inbound_messages;
ALTER TABLE catalog_entries
    DROP COLUMN synced_at,
    DROP COLUMN category,
    DROP COLUMN status,
    DROP COLUMN shape;
