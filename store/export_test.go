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
