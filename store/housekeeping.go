package store

import (
	"context"
	"fmt"
	"time"
)

// Retention says how long bookkeeping rows are kept.
type Retention struct {
	// WebhookEvents: processed-event ids, kept long enough to recognise a
	// provider's redelivery (30 days).
	WebhookEvents time.Duration
	// Heartbeats of processors that stopped without removing theirs (1 day).
	Heartbeats time.Duration
}

// PurgeResult counts the rows a purge removed.
type PurgeResult struct {
	WebhookEvents, Heartbeats, GatewayMedia, WebSessions, Leases int64
}

// Total is the number of rows removed.
func (p PurgeResult) Total() int64 {
	return p.WebhookEvents + p.Heartbeats + p.GatewayMedia + p.WebSessions + p.Leases
}

// Purge removes bookkeeping rows that no longer serve: old processed
// webhook events and heartbeats, expired provider media ids, web sessions
// and leases. Queue items, campaigns and the audit log are never purged here.
func (db *DB) Purge(ctx context.Context, r Retention) (PurgeResult, error) {
	if r.WebhookEvents <= 0 {
		r.WebhookEvents = 30 * 24 * time.Hour
	}
	if r.Heartbeats <= 0 {
		r.Heartbeats = 24 * time.Hour
	}
	now := db.timestamp()
	var res PurgeResult
	for _, step := range []struct {
		n    *int64
		sql  string
		args []any
	}{
		{&res.WebhookEvents, `DELETE FROM webhook_events WHERE received_at < ?`, []any{now.Add(-r.WebhookEvents)}},
		{&res.Heartbeats, `DELETE FROM processor_heartbeats WHERE seen_at < ?`, []any{now.Add(-r.Heartbeats)}},
		{&res.GatewayMedia, `DELETE FROM gateway_media WHERE expires_at < ?`, []any{now}},
		{&res.WebSessions, `DELETE FROM web_sessions WHERE expires_at < ?`, []any{now}},
		{&res.Leases, `DELETE FROM leases WHERE expires_at < ?`, []any{now.Add(-time.Hour)}},
	} {
		out, err := db.x.ExecContext(ctx, step.sql, step.args...)
		if err != nil {
			return res, fmt.Errorf("purge: %w", err)
		}
		if *step.n, err = out.RowsAffected(); err != nil {
			return res, fmt.Errorf("purge: %w", err)
		}
	}
	return res, nil
}
