package store

import "context"

// RawSettingValue reads a setting's stored value as it lies in the table,
// without decrypting it.
func RawSettingValue(ctx context.Context, db *DB, name string) (string, error) {
	var v string
	err := db.x.GetContext(ctx, &v, `SELECT value FROM settings WHERE name = ?`, name)
	return v, err
}

// SessionIsolation returns the transaction isolation of a pooled MySQL
// connection.
func SessionIsolation(ctx context.Context, db *DB) (string, error) {
	var v string
	err := db.x.GetContext(ctx, &v, "SELECT @@"+legacyIsolationVarOr(db))
	return v, err
}

func legacyIsolationVarOr(db *DB) string {
	if _, err := db.x.ExecContext(context.Background(), "SELECT @@transaction_isolation"); err == nil {
		return "transaction_isolation"
	}
	return "tx_isolation"
}

// MixStatuses spreads the queue's items over statuses by id, for report
// benchmarks: a tenth failed, a tenth queued, the rest sent, delivered or read.
func MixStatuses(ctx context.Context, db *DB) error {
	_, err := db.x.ExecContext(ctx, `UPDATE queue_items SET
status = CASE id % 10 WHEN 0 THEN 'failed' WHEN 1 THEN 'queued' WHEN 2 THEN 'delivered' WHEN 3 THEN 'read' ELSE 'sent' END,
sent_at = CASE WHEN id % 10 IN (0, 1) THEN NULL ELSE created_at END,
sent_gateway = CASE WHEN id % 10 IN (0, 1) THEN NULL ELSE 'meta' END,
failed_at = CASE WHEN id % 10 = 0 THEN created_at ELSE NULL END`)
	return err
}
