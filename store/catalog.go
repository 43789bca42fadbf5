package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The catalog kinds.
const (
	CatalogFlow     = "flow"
	CatalogTemplate = "template"
)

// CatalogEntry is a flow or template saved under a name (migration 00004
// describes the columns). The store keeps names as given; the operations
// layer normalizes them so that they compare without regard to case.
type CatalogEntry struct {
	ID         int64  `db:"id"`
	Kind       string `db:"kind"`
	Name       string `db:"name"`
	ExternalID string `db:"external_id"`
	Language   string `db:"language"`
	ParamCount int    `db:"param_count"`
	// Shape, Status and Category are a template's as Meta lists them
	// (migration 00010); a hand-made entry has a zero shape with
	// ParamCount body parameters and no status.
	Shape    TemplateShape `db:"shape"`
	Status   string        `db:"status"`
	Category string        `db:"category"`
	// SyncedAt is when the entry last came from the account's template
	// list; zero for an entry typed in by hand.
	SyncedAt  sql.NullTime `db:"synced_at"`
	CreatedAt time.Time    `db:"created_at"`
	CreatedBy string       `db:"created_by"`
	UpdatedAt time.Time    `db:"updated_at"`
	UpdatedBy string       `db:"updated_by"`
}

const catalogColumns = `id, kind, name, external_id, language, param_count, shape, status, category, synced_at, created_at, created_by, updated_at, updated_by`

func (e CatalogEntry) utc() CatalogEntry {
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e
}

// PutCatalogEntry saves e under (e.Kind, e.Name): a new entry, or new
// values for an existing one, which keeps its id and creation.
func (db *DB) PutCatalogEntry(ctx context.Context, e CatalogEntry, actor string) (CatalogEntry, error) {
	now := db.timestamp()
	if _, err := db.x.ExecContext(ctx, db.sql.upsertCatalogEntry, e.Kind, e.Name, e.ExternalID, e.Language, e.ParamCount,
		e.Shape, e.Status, e.Category, e.SyncedAt, now, actor, now, actor); err != nil {
		return CatalogEntry{}, fmt.Errorf("put %s %q: %w", e.Kind, e.Name, err)
	}
	return db.CatalogEntry(ctx, e.Kind, e.Name)
}

// CatalogEntry returns the entry of a kind with a name, or ErrNotFound.
func (db *DB) CatalogEntry(ctx context.Context, kind, name string) (CatalogEntry, error) {
	e, err := getOne[CatalogEntry](ctx, db.x, `SELECT `+catalogColumns+` FROM catalog_entries WHERE kind = ? AND name = ?`, kind, name)
	if err != nil {
		return CatalogEntry{}, fmt.Errorf("%s %q: %w", kind, name, err)
	}
	return e.utc(), nil
}

// CatalogEntries lists the entries of a kind by name.
func (db *DB) CatalogEntries(ctx context.Context, kind string) ([]CatalogEntry, error) {
	var list []CatalogEntry
	if err := db.x.SelectContext(ctx, &list, `SELECT `+catalogColumns+` FROM catalog_entries WHERE kind = ? ORDER BY name`, kind); err != nil {
		return nil, fmt.Errorf("%s catalog: %w", kind, err)
	}
	for i := range list {
		list[i] = list[i].utc()
	}
	return list, nil
}

// DeleteCatalogEntry removes the entry of a kind with a name, or returns
// ErrNotFound.
func (db *DB) DeleteCatalogEntry(ctx context.Context, kind, name string) error {
	res, err := db.x.ExecContext(ctx, `DELETE FROM catalog_entries WHERE kind = ? AND name = ?`, kind, name)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, name, err)
	}
	if n == 0 {
		return fmt.Errorf("delete %s %q: %w", kind, name, ErrNotFound)
	}
	return nil
}
