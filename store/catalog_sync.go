package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrHandMade is PutSyncedCatalogEntry's refusal: an entry typed in by
// hand (no synced_at) has the name, and a sync never changes one.
var ErrHandMade = errors.New("an entry typed in by hand has that name")

// PutSyncedCatalogEntry saves e, which came from a provider's template
// list (e.SyncedAt set), under its kind and name: a new entry, or new
// values for the synced entry of that name, which keeps its id and
// creation. An entry of that name typed in by hand is left as it is
// (ErrHandMade), also when it was saved a moment before, since the check
// and the write share one transaction over the locked row. Two syncs
// writing the same entry at once both succeed, the later values winning.
func (db *DB) PutSyncedCatalogEntry(ctx context.Context, e CatalogEntry, actor string) (CatalogEntry, error) {
	if !e.SyncedAt.Valid {
		return CatalogEntry{}, fmt.Errorf("put synced %s %q: no sync time", e.Kind, e.Name)
	}
	e.SyncedAt.Time = e.SyncedAt.Time.UTC().Truncate(time.Microsecond)
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		err = db.inTx(ctx, func(tx *sqlx.Tx) error { return db.putSynced(ctx, tx, e, actor) })
		if err == nil || !isDuplicate(err) {
			break
		}
		// Another sync inserted the same name between the lookup and the
		// insert: it is a synced entry now, updated on the second try.
	}
	if err != nil {
		return CatalogEntry{}, fmt.Errorf("put synced %s %q: %w", e.Kind, e.Name, err)
	}
	return db.CatalogEntry(ctx, e.Kind, e.Name)
}

func (db *DB) putSynced(ctx context.Context, tx *sqlx.Tx, e CatalogEntry, actor string) error {
	now := db.timestamp()
	cur, err := getOne[CatalogEntry](ctx, tx, `SELECT `+catalogColumns+` FROM catalog_entries WHERE kind = ? AND name = ?`+db.dialect.forUpdate(),
		e.Kind, e.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		_, err = tx.ExecContext(ctx, `INSERT INTO catalog_entries (kind, name, external_id, language, param_count, shape, status, category,
    synced_at, created_at, created_by, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Kind, e.Name, e.ExternalID, e.Language, e.ParamCount, e.Shape, e.Status, e.Category, e.SyncedAt, now, actor, now, actor)
		return err
	case err != nil:
		return err
	case !cur.SyncedAt.Valid:
		return ErrHandMade
	}
	_, err = tx.ExecContext(ctx, `UPDATE catalog_entries SET external_id = ?, language = ?, param_count = ?, shape = ?, status = ?,
    category = ?, synced_at = ?, updated_at = ?, updated_by = ? WHERE id = ?`,
		e.ExternalID, e.Language, e.ParamCount, e.Shape, e.Status, e.Category, e.SyncedAt, now, actor, cur.ID)
	return err
}
