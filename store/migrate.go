package store

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/messagebridge/messagebridge/migrations"
)

// migrationTable records which migrations ran.
const migrationTable = "schema_migrations"

// migrateLock is the MySQL advisory lock that keeps two instances starting
// at once from migrating together.
const migrateLock = "messagebridge.migrate"

// Migration is one applied migration.
type Migration struct {
	Version  int64
	File     string
	Duration time.Duration
}

// SchemaVersion is where the database stands against the migrations embedded
// in this binary.
type SchemaVersion struct {
	Current, Latest int64
}

// Pending reports whether migrations remain to be applied.
func (v SchemaVersion) Pending() bool { return v.Current < v.Latest }

func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := migrations.FS(string(db.dialect))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if db.dialect == MySQL {
		dialect = goose.DialectMySQL
	}
	p, err := goose.NewProvider(dialect, db.x.DB, fsys,
		goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.log.With("component", "store.migrate")),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// SchemaVersion reports the applied and the latest migration versions.
func (db *DB) SchemaVersion(ctx context.Context) (SchemaVersion, error) {
	p, err := db.provider()
	if err != nil {
		return SchemaVersion{}, err
	}
	cur, latest, err := p.GetVersions(ctx)
	if err != nil {
		return SchemaVersion{}, fmt.Errorf("schema version: %w", err)
	}
	return SchemaVersion{Current: cur, Latest: latest}, nil
}

// Migrate applies every pending migration, each in its own transaction, and
// returns those it applied (none when the schema is current).
func (db *DB) Migrate(ctx context.Context) ([]Migration, error) {
	unlock, err := db.lockMigrations(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()

	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	applied := make([]Migration, 0, len(results))
	for _, r := range results {
		if r.Error != nil {
			continue
		}
		applied = append(applied, Migration{Version: r.Source.Version, File: path.Base(r.Source.Path), Duration: r.Duration})
	}
	if err != nil {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	return applied, nil
}

// lockMigrations serializes migrations across processes sharing a MySQL
// server. SQLite needs nothing: its write lock already serializes them.
func (db *DB) lockMigrations(ctx context.Context) (unlock func(), err error) {
	if db.dialect != MySQL {
		return func() {}, nil
	}
	conn, err := db.x.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", migrateLock, 120).Scan(&got); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	if !got.Valid || got.Int64 != 1 {
		_ = conn.Close()
		return nil, fmt.Errorf("migration lock: another instance is migrating this database; try again when it is done")
	}
	return func() {
		// A fresh context: release even when ctx was cancelled.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(rctx, "SELECT RELEASE_LOCK(?)", migrateLock); err != nil {
			db.log.Warn("release migration lock", "err", err)
		}
		_ = conn.Close()
	}, nil
}
