-- Why a campaign is paused, who scheduled it, and staff notices about
-- campaigns. Its twin is sqlite/00008_campaign_pause_reason.sql.
--
-- A scheduled campaign that is not ready at its time (its gateway cannot
-- send its content, its interval is too fast, its contacts are gone) does
-- not start: the dispatcher pauses it, writes the reason to pause_reason
-- and tells scheduled_by (the chat identity that scheduled it) through the
-- staff_notices outbox. A staff notice is now about a failed queue item or
-- about a campaign (exactly one of queue_item_id and campaign_id).

-- +goose Up
ALTER TABLE campaigns
    ADD COLUMN pause_reason VARCHAR(1000) NOT NULL DEFAULT '',
    ADD COLUMN scheduled_by VARCHAR(190) NULL;
ALTER TABLE staff_notices
    MODIFY queue_item_id BIGINT NULL,
    ADD COLUMN campaign_id BIGINT NULL AFTER queue_item_id,
    ADD INDEX staff_notices_campaign (campaign_id),
    ADD CONSTRAINT staff_notices_campaign_ref FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE,
    ADD CONSTRAINT staff_notices_one_subject CHECK ((queue_item_id IS NULL) <> (campaign_id IS NULL));

-- +goose Down
DELETE FROM staff_notices WHERE queue_item_id IS NULL;
ALTER TABLE staff_notices
    DROP CONSTRAINT staff_notices_one_subject,
    DROP FOREIGN KEY staff_notices_campaign_ref;
ALTER TABLE staff_notices
    DROP INDEX staff_notices_campaign,
    DROP COLUMN campaign_id,
    MODIFY queue_item_id BIGINT NOT NULL;
ALTER TABLE campaigns
    DROP COLUMN scheduled_by,
    DROP COLUMN pause_reason;
