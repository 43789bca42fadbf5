package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// keyCheckSetting holds a sealed random value; opening it at start proves the
// configured secret key is the one the database's secrets were sealed with.
const keyCheckSetting = "_secret_key_check"

// Setting is one runtime setting. For a secret setting Value is the
// decrypted plaintext: mask it before showing it anywhere.
type Setting struct {
	Name      string
	Value     string
	Secret    bool
	UpdatedAt time.Time
	UpdatedBy string
}

type settingRow struct {
	Name      string    `db:"name"`
	Value     string    `db:"value"`
	Secret    bool      `db:"is_secret"`
	UpdatedAt time.Time `db:"updated_at"`
	UpdatedBy string    `db:"updated_by"`
}

// PutSetting creates or replaces a setting. A secret value is sealed before it
// leaves the process; actor records who changed it.
func (db *DB) PutSetting(ctx context.Context, name, value string, secret bool, actor string) error {
	if name == "" || strings.HasPrefix(name, "_") {
		return fmt.Errorf("put setting %q: names must be non-empty and may not start with '_'", name)
	}
	return db.putSetting(ctx, name, value, secret, actor)
}

func (db *DB) putSetting(ctx context.Context, name, value string, secret bool, actor string) error {
	stored := value
	if secret {
		if db.secrets == nil {
			return fmt.Errorf("put setting %s: %w", name, ErrNoSecretKey)
		}
		sealed, err := db.secrets.Seal([]byte(value), settingAAD(name))
		if err != nil {
			return fmt.Errorf("put setting %s: %w", name, err)
		}
		stored = sealed
	}
	if _, err := db.x.ExecContext(ctx, db.sql.upsertSetting, name, stored, secret, db.timestamp(), actor); err != nil {
		return fmt.Errorf("put setting %s: %w", name, err)
	}
	return nil
}

// Setting returns one setting, decrypted. It returns ErrNotFound when unset.
func (db *DB) Setting(ctx context.Context, name string) (Setting, error) {
	r, err := getOne[settingRow](ctx, db.x,
		`SELECT name, value, is_secret, updated_at, updated_by FROM settings WHERE name = ?`, name)
	if err != nil {
		return Setting{}, fmt.Errorf("setting %s: %w", name, err)
	}
	return db.openSetting(r)
}

// Settings returns every setting, decrypted, ordered by name.
func (db *DB) Settings(ctx context.Context) ([]Setting, error) {
	var rows []settingRow
	err := db.x.SelectContext(ctx, &rows,
		`SELECT name, value, is_secret, updated_at, updated_by FROM settings WHERE SUBSTR(name, 1, 1) <> '_' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	out := make([]Setting, 0, len(rows))
	for _, r := range rows {
		s, err := db.openSetting(r)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// DeleteSetting removes a setting; removing an unset one is not an error.
func (db *DB) DeleteSetting(ctx context.Context, name string) error {
	if _, err := db.x.ExecContext(ctx, `DELETE FROM settings WHERE name = ?`, name); err != nil {
		return fmt.Errorf("delete setting %s: %w", name, err)
	}
	return nil
}

func (db *DB) openSetting(r settingRow) (Setting, error) {
	s := Setting{Name: r.Name, Value: r.Value, Secret: r.Secret, UpdatedAt: r.UpdatedAt.UTC(), UpdatedBy: r.UpdatedBy}
	if !r.Secret {
		return s, nil
	}
	if db.secrets == nil {
		return Setting{}, fmt.Errorf("setting %s: %w", r.Name, ErrNoSecretKey)
	}
	plain, err := db.secrets.Open(r.Value, settingAAD(r.Name))
	if err != nil {
		return Setting{}, fmt.Errorf("setting %s: %w", r.Name, ErrSecretKeyMismatch)
	}
	s.Value = string(plain)
	return s, nil
}

// VerifySecretKey proves at start that the configured key opens the secrets
// already stored. On a database without secrets it records a check value
// sealed with this key, so a later start with another key is caught before
// it could write secrets that no single key opens.
func (db *DB) VerifySecretKey(ctx context.Context) error {
	if db.secrets == nil {
		return fmt.Errorf("verify secret key: %w", ErrNoSecretKey)
	}
	r, err := getOne[settingRow](ctx, db.x,
		`SELECT name, value, is_secret, updated_at, updated_by FROM settings
		 WHERE is_secret = ? ORDER BY CASE WHEN name = ? THEN 0 ELSE 1 END, name LIMIT 1`, true, keyCheckSetting)
	switch {
	case errors.Is(err, ErrNotFound):
		if err := db.putSetting(ctx, keyCheckSetting, "ok", true, "system"); err != nil {
			return fmt.Errorf("verify secret key: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("verify secret key: %w", err)
	}
	if _, err := db.openSetting(r); err != nil {
		return ErrSecretKeyMismatch
	}
	return nil
}

func settingAAD(name string) []byte { return []byte("setting:" + name) }
