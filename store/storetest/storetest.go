// Package storetest opens throwaway, migrated databases for tests: always a
// SQLite file, and a fresh MySQL/MariaDB database when MB_TEST_MYSQL_DSN is
// set. Suites run the same test on each dialect with ForEachDialect.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/messagebridge/messagebridge/migrations"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/secretbox"
)

// MySQLEnv names the variable holding the MySQL URL for tests, e.g.
// mysql://root@127.0.0.1:3306/test. Each test gets its own database named
// after that one, created and dropped by the test, so the user needs the
// CREATE and DROP privileges.
const MySQLEnv = "MB_TEST_MYSQL_DSN"

// RequireMySQLEnv, when "1", turns a missing or unreachable MySQL into a
// failure instead of a skip; CI sets it so the MySQL half cannot silently
// not run.
const RequireMySQLEnv = "MB_TEST_REQUIRE_MYSQL"

// Options adjust the databases a test opens.
type Options struct {
	// Now is the store's clock; nil means time.Now.
	Now func() time.Time
	// Secrets seals secret settings; nil means a fresh random key.
	Secrets store.Sealer
	// NoMigrate leaves the database empty.
	NoMigrate bool
}

// ForEachDialect runs fn as a subtest named after each dialect: "sqlite"
// always, "mysql" when MB_TEST_MYSQL_DSN is set (skipped with a message
// saying how to enable it otherwise).
func ForEachDialect(t *testing.T, opts Options, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, OpenDialect(t, d, opts))
		})
	}
}

// Dialects are the dialects a suite runs on, SQLite first.
func Dialects() []store.Dialect { return []store.Dialect{store.SQLite, store.MySQL} }

// OpenDialect opens a fresh migrated database of dialect d (a MySQL one is
// skipped when MB_TEST_MYSQL_DSN is not set).
func OpenDialect(t testing.TB, d store.Dialect, opts Options) *store.DB {
	t.Helper()
	if d == store.MySQL {
		return OpenMySQL(t, opts)
	}
	return OpenSQLite(t, opts)
}

// OpenSQLite opens a migrated SQLite database in a temporary directory. The
// file starts as a copy of a schema template that was migrated once for
// this set of migrations (see copySchema), so a test does not pay for every
// migration again; Open's own Migrate then finds nothing to apply.
func OpenSQLite(t testing.TB, opts Options) *store.DB {
	t.Helper()
	dir := t.TempDir()
	if !opts.NoMigrate {
		if err := copySchema(dir); err != nil {
			t.Fatalf("test database schema: %v", err)
		}
	}
	return Open(t, store.Config{DataDir: dir}, opts)
}

// copySchema puts a freshly migrated SQLite database into dir. The template
// lives in the system's temp folder, named by a checksum of the SQLite
// migrations, so a changed migration makes a new one; it is written under a
// temporary name and renamed into place, so processes that race to make it
// each get a whole file.
func copySchema(dir string) error {
	fsys, err := migrations.FS(string(store.SQLite))
	if err != nil {
		return err
	}
	sum := sha256.New()
	if err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s %d\n", path, len(b))
		sum.Write(b)
		return nil
	}); err != nil {
		return err
	}
	template := filepath.Join(os.TempDir(), fmt.Sprintf("messagebridge-test-schema-%x.db", sum.Sum(nil)[:8]))
	if _, err := os.Stat(template); errors.Is(err, fs.ErrNotExist) {
		if err := makeSchema(template); err != nil {
			return err
		}
	}
	return copyFile(template, filepath.Join(dir, store.SQLiteFileName))
}

// makeSchema migrates a new SQLite database and moves its file to path.
func makeSchema(path string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(path), "messagebridge-test-schema-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{DataDir: tmp}, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if _, err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return err
	}
	// Closing the last connection checkpoints the write-ahead log into the
	// file, which is then complete on its own.
	if err := db.Close(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(tmp, store.SQLiteFileName+"-wal")); err == nil {
		return errors.New("the migrated template kept a write-ahead log; not using it")
	}
	return os.Rename(filepath.Join(tmp, store.SQLiteFileName), path)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// MySQLURL returns the MySQL URL for tests, skipping (or, under CI, failing)
// the test when none is configured.
func MySQLURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(MySQLEnv)
	if raw == "" {
		if os.Getenv(RequireMySQLEnv) == "1" {
			t.Fatalf("%s is not set but %s=1: the MySQL half of the suite must run", MySQLEnv, RequireMySQLEnv)
		}
		t.Skipf("MySQL half skipped: set %s=mysql://root@127.0.0.1:3306/test to run it against MySQL/MariaDB", MySQLEnv)
	}
	return raw
}

// OpenMySQL creates a fresh database on the server named by
// MB_TEST_MYSQL_DSN, migrates it, and drops it when the test ends.
func OpenMySQL(t testing.TB, opts Options) *store.DB {
	t.Helper()
	u := FreshMySQLDatabase(t)
	return Open(t, store.Config{URL: u}, opts)
}

// FreshMySQLDatabase creates an empty database next to the one named by
// MB_TEST_MYSQL_DSN and returns its URL; the database is dropped when the
// test ends.
func FreshMySQLDatabase(t testing.TB) string {
	t.Helper()
	raw := MySQLURL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s is not a valid URL: %v", MySQLEnv, err)
	}
	tgt, err := store.ParseURL(raw, "")
	if err != nil {
		t.Fatalf("%s: %v", MySQLEnv, err)
	}
	// The admin connection needs no session settings; drop them so it works
	// on MySQL and MariaDB alike.
	mc, err := mysql.ParseDSN(tgt.DSN)
	if err != nil {
		t.Fatalf("%s: %v", MySQLEnv, err)
	}
	mc.Params = nil
	adminDSN := mc.FormatDSN()
	admin, err := sqlx.Open("mysql", adminDSN)
	if err != nil {
		t.Fatalf("open MySQL: %v", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("MySQL at %s does not answer: %v", u.Host, err)
	}
	name := strings.TrimPrefix(u.Path, "/") + "_" + randomHex(t, 6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sqlx.Open("mysql", adminDSN)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Open opens (and unless opts.NoMigrate, migrates) the database cfg names,
// closing it when the test ends. Several calls on one database act like
// several processes sharing it.
func Open(t testing.TB, cfg store.Config, opts Options) *store.DB {
	t.Helper()
	if opts.Secrets == nil {
		key := make([]byte, secretbox.KeySize)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		box, err := secretbox.New(key)
		if err != nil {
			t.Fatal(err)
		}
		opts.Secrets = box
	}
	ctx := context.Background()
	db, err := store.Open(ctx, cfg, store.Options{
		Logger:  slog.New(slog.DiscardHandler),
		Secrets: opts.Secrets,
		Now:     opts.Now,
	})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if !opts.NoMigrate {
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate test database: %v", err)
		}
	}
	return db
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Clock is a manual clock for tests: it stands still until Advance.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
