package store

import "context"

// RawSettingValue reads a setting's stored value as it lies in the table,
// without decrypting it.
func RawSettingValue(ctx context.Context, db *DB, name string) (string, error) {
	var v string
	err := db.x.GetContext(ctx, &v, `SELECT value FROM settings WHERE name = ?`, name)
	return v, err
}
