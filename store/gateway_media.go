package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// GatewayMediaID returns the id a provider gave a media object when it was
// uploaded for account (e.g. a Meta phone-number id), while it is still
// valid at now.
func (db *DB) GatewayMediaID(ctx context.Context, mediaID int64, gateway, account string) (string, bool, error) {
	id, err := getOne[string](ctx, db.x, `SELECT provider_media_id FROM gateway_media
WHERE media_id = ? AND gateway = ? AND account = ? AND expires_at > ?`, mediaID, gateway, account, db.timestamp())
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("gateway media: %w", err)
	}
	return id, true, nil
}

// PutGatewayMediaID records a provider's id for an uploaded media object,
// valid until expiresAt.
func (db *DB) PutGatewayMediaID(ctx context.Context, mediaID int64, gateway, account, providerID string, expiresAt time.Time) error {
	_, err := db.x.ExecContext(ctx, db.sql.upsertGatewayMedia, mediaID, gateway, account, providerID, db.timestamp(),
		expiresAt.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("put gateway media: %w", err)
	}
	return nil
}

// MarkWebhookEvent records that a provider's webhook event was processed.
// It reports whether this is the first time; a replay returns false.
func (db *DB) MarkWebhookEvent(ctx context.Context, provider, eventID string) (bool, error) {
	_, err := db.x.ExecContext(ctx, `INSERT INTO webhook_events (provider, event_id, received_at) VALUES (?, ?, ?)`,
		provider, eventID, db.timestamp())
	if isDuplicate(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("webhook event: %w", err)
	}
	return true, nil
}

// ForgetWebhookEvent undoes MarkWebhookEvent when the event could not be
// applied, so the provider's redelivery is processed instead of skipped.
func (db *DB) ForgetWebhookEvent(ctx context.Context, provider, eventID string) error {
	if _, err := db.x.ExecContext(ctx, `DELETE FROM webhook_events WHERE provider = ? AND event_id = ?`, provider, eventID); err != nil {
		return fmt.Errorf("forget webhook event: %w", err)
	}
	return nil
}
