// Package store owns every SQL statement of MessageBridge. It opens the
// embedded SQLite database or a MySQL/MariaDB server, applies the versioned
// migrations, and exposes typed operations; dialect differences are spelled
// out in dialect.go and nowhere else.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// SQLiteFileName is the database file created in the data dir when no
// database URL is configured.
const SQLiteFileName = "messagebridge.db"

// Config says which database to open and how.
type Config struct {
	// URL is "mysql://user:pass@host:port/db?param=value", or
	// "sqlite:///abs/path.db" / "sqlite:rel/path.db". Empty means a SQLite
	// file named SQLiteFileName in DataDir.
	URL string
	// DataDir holds the default SQLite file. It must exist.
	DataDir string
	// MaxOpenConns bounds the MySQL connection pool (default 20). SQLite
	// always uses a single connection: one writer at a time.
	MaxOpenConns int
	// ConnectTimeout bounds the first connection attempt (default 10s).
	ConnectTimeout time.Duration
}

// Options are collaborators of a DB.
type Options struct {
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// Secrets seals and opens secret setting values; nil means secret
	// settings cannot be read or written.
	Secrets Sealer
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// Sealer encrypts secret values at rest. *secretbox.Box satisfies it.
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// DB is an open database with its dialect. It is safe for concurrent use.
type DB struct {
	x       *sqlx.DB
	dialect Dialect
	sql     dialectSQL
	log     *slog.Logger
	secrets Sealer
	now     func() time.Time
	// where is a password-free description for logs and errors.
	where string
	// consecutiveIDs says a multi-row INSERT gets ids first,
	// first+autoIncrementStep, ... (MySQL with innodb_autoinc_lock_mode < 2).
	consecutiveIDs    bool
	autoIncrementStep int64
}

// Target is a parsed database URL: the dialect, the driver's DSN and a
// password-free description for logs.
type Target struct {
	Dialect Dialect
	DSN     string
	Where   string
	// path is the SQLite file.
	path string
}

// ParseURL turns a database URL into a Target. Errors never repeat the URL,
// which may hold a password.
func ParseURL(raw, dataDir string) (Target, error) {
	if strings.TrimSpace(raw) == "" {
		path := filepath.Join(dataDir, SQLiteFileName)
		return sqliteTarget(path)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the offending part, which may be a password.
		return Target{}, fmt.Errorf("%w: database URL is malformed; percent-encode special characters such as %% @ / : in the user name and password", ErrConfig)
	}
	switch u.Scheme {
	case "mysql", "mariadb":
		return mysqlTarget(u)
	case "sqlite", "sqlite3", "file":
		path := u.Opaque
		if path == "" {
			path = u.Host + u.Path
		}
		if path == "" {
			return Target{}, fmt.Errorf("%w: sqlite database URL has no file path (e.g. sqlite:///var/lib/messagebridge/mb.db)", ErrConfig)
		}
		return sqliteTarget(path)
	case "":
		return Target{}, fmt.Errorf("%w: database URL has no scheme (use mysql://user:pass@host:3306/db or sqlite:///path/file.db)", ErrConfig)
	default:
		return Target{}, fmt.Errorf("%w: unknown database scheme %q (use mysql://user:pass@host:3306/db or sqlite:///path/file.db)", ErrConfig, u.Scheme)
	}
}

func sqliteTarget(path string) (Target, error) {
	if strings.ContainsAny(path, "?#") {
		return Target{}, fmt.Errorf("%w: sqlite file path may not contain '?' or '#'", ErrConfig)
	}
	// One connection is the single writer; WAL lets readers of other
	// processes (backups, the sqlite3 shell) work alongside it. Times are
	// written as "2006-01-02 15:04:05.999999999-07:00" in UTC, which sorts
	// correctly as text.
	params := url.Values{}
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Set("_time_format", "sqlite")
	params.Set("_txlock", "immediate")
	return Target{Dialect: SQLite, DSN: "file:" + path + "?" + params.Encode(), Where: "sqlite " + path, path: path}, nil
}

func mysqlTarget(u *url.URL) (Target, error) {
	if u.Host == "" {
		return Target{}, fmt.Errorf("%w: mysql database URL has no host (mysql://user:pass@host:3306/db)", ErrConfig)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return Target{}, fmt.Errorf("%w: mysql database URL must name one database (mysql://user:pass@host:3306/db)", ErrConfig)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = host
	cfg.DBName = name
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Collation = "utf8mb4_unicode_ci"
	cfg.Timeout = 10 * time.Second
	cfg.ReadTimeout = 60 * time.Second
	cfg.WriteTimeout = 60 * time.Second
	// Arguments are escaped client-side (safe with utf8mb4) instead of a
	// prepare/execute/close round trip per statement.
	cfg.InterpolateParams = true
	// Sessions run in UTC so server-side time functions agree with ours,
	// and at READ COMMITTED, which the queue's claims need (at REPEATABLE
	// READ concurrent claimers deadlock on gap locks). Setting it per
	// session spares a round trip per transaction. MySQL 8 names the
	// variable transaction_isolation, MariaDB before 11.1 tx_isolation:
	// OpenTarget retries with the other name when the server refuses one.
	cfg.Params = map[string]string{"time_zone": "'+00:00'", isolationVar: "'READ-COMMITTED'"}
	for k, vs := range u.Query() {
		if len(vs) == 0 {
			continue
		}
		if k == "tls" {
			cfg.TLSConfig = vs[0]
			continue
		}
		cfg.Params[k] = vs[0]
	}
	return Target{Dialect: MySQL, DSN: cfg.FormatDSN(), Where: "mysql " + host + "/" + name}, nil
}

// isolationVar and legacyIsolationVar name the session isolation variable
// on MySQL 8 / MariaDB 11.1+ and on older MariaDB.
const (
	isolationVar       = "transaction_isolation"
	legacyIsolationVar = "tx_isolation"
)

// Open connects to the database named by cfg and checks that it answers. It
// does not migrate; call Migrate.
func Open(ctx context.Context, cfg Config, opts Options) (*DB, error) {
	t, err := ParseURL(cfg.URL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return OpenTarget(ctx, t, cfg, opts)
}

// OpenTarget is Open for an already parsed Target.
func OpenTarget(ctx context.Context, t Target, cfg Config, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if t.Dialect == SQLite {
		dir := filepath.Dir(t.path)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: sqlite directory %s does not exist", ErrConfig, dir)
		}
		// The file holds customers' numbers: create it private to its owner.
		if f, err := os.OpenFile(t.path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
			_ = f.Close()
		}
	}
	x, err := sqlx.Open(t.Dialect.driver(), t.DSN)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.Where, err)
	}
	configurePool(x, t.Dialect, cfg)
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	err = x.PingContext(pctx)
	if t.Dialect == MySQL && isUnknownVariable(err) {
		_ = x.Close()
		t.DSN = strings.Replace(t.DSN, isolationVar+"=", legacyIsolationVar+"=", 1)
		if x, err = sqlx.Open(t.Dialect.driver(), t.DSN); err != nil {
			return nil, fmt.Errorf("open %s: %w", t.Where, err)
		}
		configurePool(x, t.Dialect, cfg)
		err = x.PingContext(pctx)
	}
	if err != nil {
		_ = x.Close()
		return nil, fmt.Errorf("%w: cannot connect to %s: %s", ErrUnavailable, t.Where, oneLine(err))
	}
	db := &DB{
		x:       x,
		dialect: t.Dialect,
		sql:     sqlFor(t.Dialect),
		log:     opts.Logger.With("component", "store"),
		secrets: opts.Secrets,
		now:     opts.Now,
		where:   t.Where,
	}
	if t.Dialect == MySQL {
		var mode, step sql.NullInt64
		err := x.QueryRowContext(ctx, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment").Scan(&mode, &step)
		if err == nil && mode.Valid && mode.Int64 < 2 && step.Int64 >= 1 {
			db.consecutiveIDs, db.autoIncrementStep = true, step.Int64
		}
	}
	if t.Dialect == SQLite {
		// Fail now, not on the first write, when the file is read-only:
		// BEGIN IMMEDIATE (see _txlock) takes the write lock.
		tx, err := x.BeginTx(ctx, nil)
		if err == nil {
			err = tx.Rollback()
		}
		if err != nil {
			_ = x.Close()
			return nil, fmt.Errorf("%w: sqlite database %s is not writable: %s", ErrConfig, t.Where, oneLine(err))
		}
	}
	return db, nil
}

func configurePool(x *sqlx.DB, d Dialect, cfg Config) {
	switch d {
	case SQLite:
		x.SetMaxOpenConns(1)
		x.SetMaxIdleConns(1)
		x.SetConnMaxLifetime(0)
	case MySQL:
		n := cfg.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		x.SetMaxOpenConns(n)
		x.SetMaxIdleConns(n)
		// Below MySQL's default wait_timeout, so pooled connections are
		// retired before the server drops them.
		x.SetConnMaxLifetime(5 * time.Minute)
		x.SetConnMaxIdleTime(time.Minute)
	}
}

// isUnknownVariable reports MySQL error 1193, unknown system variable.
func isUnknownVariable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1193
}

// Close closes the connection pool.
func (db *DB) Close() error {
	if err := db.x.Close(); err != nil {
		return fmt.Errorf("close %s: %w", db.where, err)
	}
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.x.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.where, err)
	}
	return nil
}

// Dialect reports which SQL dialect the database speaks.
func (db *DB) Dialect() Dialect { return db.dialect }

// Where describes the database without credentials, for logs.
func (db *DB) Where() string { return db.where }

// timestamp is the current time as stored: UTC, microsecond precision (the
// precision of MySQL's DATETIME(6)), so both dialects hold the same value.
func (db *DB) timestamp() time.Time { return db.now().UTC().Truncate(time.Microsecond) }

// oneLine flattens an error for a one-line message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
