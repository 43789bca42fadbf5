package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// AdminUser is an account of the admin web page. PasswordHash is the
// bcrypt hash; it never leaves the operations layer.
type AdminUser struct {
	ID           int64        `db:"id"`
	Username     string       `db:"username"`
	PasswordHash string       `db:"password_hash"`
	CreatedAt    time.Time    `db:"created_at"`
	LastLoginAt  sql.NullTime `db:"last_login_at"`
}

const adminUserColumns = `id, username, password_hash, created_at, last_login_at`

// CreateAdminUser adds an account; ErrExists when the username is taken.
// Outstanding setup tokens are deleted with it: once an account exists,
// setup links have no use.
func (db *DB) CreateAdminUser(ctx context.Context, username, passwordHash string) (AdminUser, error) {
	var u AdminUser
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockSetupTokens(ctx, tx, db.dialect); err != nil {
			return err
		}
		var err error
		u, err = db.insertAdminUser(ctx, tx, username, passwordHash)
		return err
	})
	if err != nil {
		return AdminUser{}, fmt.Errorf("create admin user %s: %w", username, err)
	}
	return u, nil
}

// insertAdminUser inserts an account and deletes every setup token, inside
// tx, whose caller has locked the setup tokens.
func (db *DB) insertAdminUser(ctx context.Context, tx *sqlx.Tx, username, passwordHash string) (AdminUser, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO admin_users (username, password_hash, created_at) VALUES (?, ?, ?)`,
		username, passwordHash, db.timestamp())
	if isDuplicate(err) {
		return AdminUser{}, ErrExists
	}
	if err != nil {
		return AdminUser{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return AdminUser{}, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM admin_setup_tokens`); err != nil {
		return AdminUser{}, err
	}
	var u AdminUser
	if err := tx.GetContext(ctx, &u, `SELECT `+adminUserColumns+` FROM admin_users WHERE id = ?`, id); err != nil {
		return AdminUser{}, err
	}
	return u, nil
}

// lockSetupTokens locks every setup token row (FOR UPDATE on MySQL; a
// SQLite write transaction excludes other writers already), so that
// transactions consuming tokens or creating accounts run one after another.
func lockSetupTokens(ctx context.Context, tx *sqlx.Tx, d Dialect) error {
	var hashes []string
	return tx.SelectContext(ctx, &hashes, `SELECT token_hash FROM admin_setup_tokens ORDER BY token_hash`+d.forUpdate())
}

// AdminUserByName returns the account with username, or ErrNotFound.
func (db *DB) AdminUserByName(ctx context.Context, username string) (AdminUser, error) {
	u, err := getOne[AdminUser](ctx, db.x, `SELECT `+adminUserColumns+` FROM admin_users WHERE username = ?`, username)
	if err != nil {
		return AdminUser{}, fmt.Errorf("admin user %s: %w", username, err)
	}
	return u, nil
}

// AdminUsers lists every account by username.
func (db *DB) AdminUsers(ctx context.Context) ([]AdminUser, error) {
	var us []AdminUser
	if err := db.x.SelectContext(ctx, &us, `SELECT `+adminUserColumns+` FROM admin_users ORDER BY username`); err != nil {
		return nil, fmt.Errorf("admin users: %w", err)
	}
	return us, nil
}

// CountAdminUsers is how many accounts there are.
func (db *DB) CountAdminUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, `SELECT COUNT(*) FROM admin_users`); err != nil {
		return 0, fmt.Errorf("count admin users: %w", err)
	}
	return n, nil
}

// SetAdminPassword replaces the password hash of account id; ErrNotFound
// when there is no such account. Its sessions stay: DeleteWebSessionsOf
// ends them.
func (db *DB) SetAdminPassword(ctx context.Context, id int64, passwordHash string) error {
	res, err := db.x.ExecContext(ctx, `UPDATE admin_users SET password_hash = ? WHERE id = ?`, passwordHash, id)
	if err != nil {
		return fmt.Errorf("set admin password of #%d: %w", id, err)
	}
	// MySQL counts changed rows only; an unchanged hash is no error, a
	// missing account is.
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		if _, err := getOne[int](ctx, db.x, `SELECT 1 FROM admin_users WHERE id = ?`, id); err != nil {
			return fmt.Errorf("set admin password of #%d: %w", id, err)
		}
	}
	return nil
}

// DeleteAdminUser deletes the account username and, through the foreign
// key, its sessions. It runs in a transaction that first locks every
// account row, so that check (when not nil) sees how many accounts would be
// left with no other deletion in between; an error from check rolls the
// deletion back and is returned as it is. ErrNotFound when there is no such
// account.
func (db *DB) DeleteAdminUser(ctx context.Context, username string, check func(left int) error) error {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var names []string
		if err := tx.SelectContext(ctx, &names, `SELECT username FROM admin_users ORDER BY id`+db.dialect.forUpdate()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM admin_users WHERE username = ?`, username)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if check != nil {
			return check(len(names) - int(n))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete admin user %s: %w", username, err)
	}
	return nil
}

// TouchAdminLogin records that account id logged in now.
func (db *DB) TouchAdminLogin(ctx context.Context, id int64) error {
	if _, err := db.x.ExecContext(ctx, `UPDATE admin_users SET last_login_at = ? WHERE id = ?`, db.timestamp(), id); err != nil {
		return fmt.Errorf("touch admin login of #%d: %w", id, err)
	}
	return nil
}

// NewWebSession is a web session to record.
type NewWebSession struct {
	// TokenHash identifies the session; the token itself is not stored.
	TokenHash string
	UserID    int64
	// PasswordHash is the account's hash that the password was checked
	// against: the session is created only while the account still has
	// it, so a login racing a password change cannot outlive the change.
	PasswordHash string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// CreateWebSession records a session; ErrNotFound when the account is gone
// or its password changed since s.PasswordHash was read.
func (db *DB) CreateWebSession(ctx context.Context, s NewWebSession) error {
	res, err := db.x.ExecContext(ctx, `INSERT INTO web_sessions (token_hash, admin_user_id, created_at, expires_at)
SELECT ?, id, ?, ? FROM admin_users WHERE id = ? AND password_hash = ?`,
		s.TokenHash, s.CreatedAt.UTC().Truncate(time.Microsecond), s.ExpiresAt.UTC().Truncate(time.Microsecond), s.UserID, s.PasswordHash)
	if err != nil {
		return fmt.Errorf("create web session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("create web session: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("create web session for #%d: %w", s.UserID, ErrNotFound)
	}
	return nil
}

// WebSession is a live web session with its account.
type WebSession struct {
	User      AdminUser
	CreatedAt time.Time
	ExpiresAt time.Time
}

// WebSessionUser returns the session with tokenHash and its account, or
// ErrNotFound when there is none or it expired at or before now.
func (db *DB) WebSessionUser(ctx context.Context, tokenHash string, now time.Time) (WebSession, error) {
	type sessionRow struct {
		AdminUser
		SessionCreatedAt time.Time `db:"session_created_at"`
		ExpiresAt        time.Time `db:"expires_at"`
	}
	row, err := getOne[sessionRow](ctx, db.x, `SELECT u.id, u.username, u.password_hash, u.created_at, u.last_login_at,
    s.created_at AS session_created_at, s.expires_at
FROM web_sessions s JOIN admin_users u ON u.id = s.admin_user_id
WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash, now.UTC().Truncate(time.Microsecond))
	if err != nil {
		return WebSession{}, fmt.Errorf("web session: %w", err)
	}
	return WebSession{User: row.AdminUser, CreatedAt: row.SessionCreatedAt, ExpiresAt: row.ExpiresAt}, nil
}

// ExtendWebSession moves a session's expiry to expires. A session that is
// gone stays gone.
func (db *DB) ExtendWebSession(ctx context.Context, tokenHash string, expires time.Time) error {
	if _, err := db.x.ExecContext(ctx, `UPDATE web_sessions SET expires_at = ? WHERE token_hash = ?`,
		expires.UTC().Truncate(time.Microsecond), tokenHash); err != nil {
		return fmt.Errorf("extend web session: %w", err)
	}
	return nil
}

// DeleteWebSession ends a session; ending one that is gone is no error.
func (db *DB) DeleteWebSession(ctx context.Context, tokenHash string) error {
	if _, err := db.x.ExecContext(ctx, `DELETE FROM web_sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete web session: %w", err)
	}
	return nil
}

// DeleteWebSessionsOf ends every session of account id and returns how
// many there were.
func (db *DB) DeleteWebSessionsOf(ctx context.Context, id int64) (int64, error) {
	res, err := db.x.ExecContext(ctx, `DELETE FROM web_sessions WHERE admin_user_id = ?`, id)
	if err != nil {
		return 0, fmt.Errorf("delete web sessions of #%d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete web sessions of #%d: %w", id, err)
	}
	return n, nil
}

// CreateSetupToken records a one-time setup token valid until expires, and
// deletes the expired ones.
func (db *DB) CreateSetupToken(ctx context.Context, tokenHash string, expires time.Time) error {
	now := db.timestamp()
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_setup_tokens WHERE expires_at <= ?`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_setup_tokens (token_hash, created_at, expires_at) VALUES (?, ?, ?)`,
			tokenHash, now, expires.UTC().Truncate(time.Microsecond))
		return err
	})
	if err != nil {
		return fmt.Errorf("create setup token: %w", err)
	}
	return nil
}

// ConsumeSetupToken deletes the setup token with tokenHash and reports
// whether it was valid (there, and expiring after now). Of several callers
// with the same token, exactly one is told it was.
func (db *DB) ConsumeSetupToken(ctx context.Context, tokenHash string, now time.Time) (bool, error) {
	var ok bool
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		ok, err = consumeSetupToken(ctx, tx, tokenHash, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("consume setup token: %w", err)
	}
	return ok, nil
}

// consumeSetupToken deletes a token inside tx and reports whether it was
// valid at now. The DELETE's row count decides: a concurrent consumer of
// the same row waits for its lock and then deletes nothing.
func consumeSetupToken(ctx context.Context, tx *sqlx.Tx, tokenHash string, now time.Time) (bool, error) {
	expires, err := getOne[time.Time](ctx, tx, `SELECT expires_at FROM admin_setup_tokens WHERE token_hash = ?`, tokenHash)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM admin_setup_tokens WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1 && expires.After(now), nil
}

// SetupFirstAdmin consumes a setup token and creates the first account in
// one transaction: ErrNotFound when the token is unknown, used or expired
// (nothing changes then), ErrExists when an account exists already (the
// token is used up all the same, as are all others). Two browsers with the
// same link, or with the links of two instances, cannot both create one.
func (db *DB) SetupFirstAdmin(ctx context.Context, tokenHash string, now time.Time, username, passwordHash string) (AdminUser, error) {
	var u AdminUser
	var exists bool
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		exists = false
		if err := lockSetupTokens(ctx, tx, db.dialect); err != nil {
			return err
		}
		ok, err := consumeSetupToken(ctx, tx, tokenHash, now)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM admin_users`); err != nil {
			return err
		}
		if n > 0 {
			exists = true
			// Commit the tokens' deletion: they have no use any more.
			_, err := tx.ExecContext(ctx, `DELETE FROM admin_setup_tokens`)
			return err
		}
		u, err = db.insertAdminUser(ctx, tx, username, passwordHash)
		return err
	})
	if err == nil && exists {
		err = ErrExists
	}
	if err != nil {
		return AdminUser{}, fmt.Errorf("set up first admin: %w", err)
	}
	return u, nil
}
