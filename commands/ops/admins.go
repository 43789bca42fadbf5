package ops

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/messagebridge/messagebridge/store"
)

// AdminAccount is an account of the admin web page.
type AdminAccount struct {
	ID        int64
	Username  string
	CreatedAt time.Time
	// LastLoginAt is zero when the account never logged in.
	LastLoginAt time.Time
}

// WebSession is a signed-in admin web page session.
type WebSession struct {
	// Token is the cookie value; only Login and SetupAdmin set it.
	Token     string
	Admin     AdminAccount
	ExpiresAt time.Time
}

// Web admin account rules.
const (
	// maxUsernameLen bounds a username, in characters (all ASCII).
	maxUsernameLen = 64
	// minPasswordLen is the shortest password, in characters.
	minPasswordLen = 10
	// maxPasswordBytes is bcrypt's limit: it ignores (newer versions
	// refuse) anything longer.
	maxPasswordBytes = 72
	// bcryptCost is the work factor of new password hashes.
	bcryptCost = bcrypt.DefaultCost
	// defaultSessionIdle is the idle time of sessions when the caller
	// gives none.
	defaultSessionIdle = 12 * time.Hour
	// sessionLifetime is how long a session lasts however active it is.
	sessionLifetime = 7 * 24 * time.Hour
	// sessionWriteEvery is how often, at most, a session's sliding expiry
	// is written.
	sessionWriteEvery = time.Minute
	// tokenBytes is the randomness of session and setup tokens.
	tokenBytes = 32
	// dummyHash is compared with the password when the username is
	// unknown, so that a wrong username takes as long as a wrong password.
	// It is the hash (at bcryptCost) of a random string nobody kept.
	dummyHash = "$2a$10$U2jUXUPCa9fv68nwIljfx.ckavDqlactt9OpR5NAEfWjSgnqnFZMG"
)

// sessionIdle is idle, or 12 hours when idle is not positive.
func sessionIdle(idle time.Duration) time.Duration {
	if idle <= 0 {
		return defaultSessionIdle
	}
	return idle
}

// msgWrongLogin is Login's one answer to a wrong username or password.
const msgWrongLogin = "Wrong username or password."

// WebActor is the Actor of a web admin account: Identity "web:<username>",
// Role admin, Transport "web".
func WebActor(username string) Actor {
	return Actor{Identity: "web:" + username, Role: RoleAdmin, Transport: "web"}
}

// normalizeUsername trims and lower-cases a username and checks it: 1 to 64
// letters, digits and . _ @ -.
func normalizeUsername(raw string) (string, error) {
	u := strings.ToLower(strings.TrimSpace(raw))
	if u == "" {
		return "", Errorf(EINVALID, "Please give a username.")
	}
	if len(u) > maxUsernameLen {
		return "", Errorf(EINVALID, "A username has at most %d characters.", maxUsernameLen)
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r)) {
			return "", Errorf(EINVALID, "A username may hold only letters a-z, digits and . _ @ - (no spaces).")
		}
	}
	return u, nil
}

// checkPassword applies the password rules; the message never repeats it.
func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < minPasswordLen {
		return Errorf(EINVALID, "The password is too short: use at least %d characters.", minPasswordLen)
	}
	if len(password) > maxPasswordBytes {
		return Errorf(EINVALID, "The password is too long: use at most %d bytes (%d plain letters or digits; accented letters and emoji count 2 to 4).", maxPasswordBytes, maxPasswordBytes)
	}
	return nil
}

// hashPassword checks a password and returns its bcrypt hash.
func hashPassword(password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// newToken returns a random token (base64url) and its stored form.
func newToken() (token, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, tokenHash(token), nil
}

// tokenHash is the stored form of a token: its SHA-256 in hex.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func account(u store.AdminUser) AdminAccount {
	a := AdminAccount{ID: u.ID, Username: u.Username, CreatedAt: u.CreatedAt}
	if u.LastLoginAt.Valid {
		a.LastLoginAt = u.LastLoginAt.Time
	}
	return a
}

func errNoAdminAccount(username string) error {
	return Errorf(ENOTFOUND, "There is no admin account %q.", Echo(username))
}

// CreateAdmin adds a web admin account.
func (s *Service) CreateAdmin(ctx context.Context, a Actor, username, password string) (AdminAccount, error) {
	if err := s.require(a, RoleAdmin, "adding admin accounts"); err != nil {
		s.audit(ctx, a, "admin.create", strings.TrimSpace(username), outcome(err))
		return AdminAccount{}, err
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return AdminAccount{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return AdminAccount{}, err
	}
	u, err := s.st.CreateAdminUser(ctx, name, hash)
	if errors.Is(err, store.ErrExists) {
		err = Errorf(ECONFLICT, "The admin account %q exists already.", name)
	}
	s.audit(ctx, a, "admin.create", name, outcome(err))
	if err != nil {
		return AdminAccount{}, err
	}
	return account(u), nil
}

// AdminAccounts lists the web admin accounts by username.
func (s *Service) AdminAccounts(ctx context.Context) ([]AdminAccount, error) {
	us, err := s.st.AdminUsers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AdminAccount, len(us))
	for i, u := range us {
		out[i] = account(u)
	}
	return out, nil
}

// HasAdminAccounts reports whether any web admin account exists.
func (s *Service) HasAdminAccounts(ctx context.Context) (bool, error) {
	n, err := s.st.CountAdminUsers(ctx)
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// SetAdminPassword changes the password of an account and ends every
// session of that account, including the caller's own when it is the same
// account (the web page logs in again with the new password).
func (s *Service) SetAdminPassword(ctx context.Context, a Actor, username, password string) error {
	if err := s.require(a, RoleAdmin, "changing admin passwords"); err != nil {
		s.audit(ctx, a, "admin.password", strings.TrimSpace(username), outcome(err))
		return err
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	err = s.setPassword(ctx, name, hash)
	s.audit(ctx, a, "admin.password", name, outcome(err))
	return err
}

func (s *Service) setPassword(ctx context.Context, name, hash string) error {
	u, err := s.st.AdminUserByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return errNoAdminAccount(name)
	}
	if err != nil {
		return err
	}
	if err := s.st.SetAdminPassword(ctx, u.ID, hash); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNoAdminAccount(name)
		}
		return err
	}
	// A login that checked the old password cannot create a session after
	// this (the store checks the hash); those made before end here.
	n, err := s.st.DeleteWebSessionsOf(ctx, u.ID)
	if err != nil {
		return err
	}
	s.log.Info("admin password changed; its sessions ended", "username", name, "sessions", n)
	return nil
}

// RemoveAdmin deletes a web admin account and its sessions. Removing the
// last account is refused; the count and the deletion happen in one
// transaction over the locked accounts, so two admins removing each other
// at the same moment cannot leave none.
func (s *Service) RemoveAdmin(ctx context.Context, a Actor, username string) error {
	if err := s.require(a, RoleAdmin, "removing admin accounts"); err != nil {
		s.audit(ctx, a, "admin.remove", strings.TrimSpace(username), outcome(err))
		return err
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return err
	}
	err = s.st.DeleteAdminUser(ctx, name, func(left int) error {
		if left < 1 {
			return Errorf(ECONFLICT, "That is the last admin account; add another before removing it.")
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		err = errNoAdminAccount(name)
	}
	s.audit(ctx, a, "admin.remove", name, outcome(err))
	return err
}

// Login checks a username and password and starts a session that ends
// after idle without use (or 7 days after login). A wrong username and a
// wrong password get the same EFORBIDDEN answer after the same work.
func (s *Service) Login(ctx context.Context, username, password string, idle time.Duration) (WebSession, error) {
	var u store.AdminUser
	name, err := normalizeUsername(username)
	known := false
	if err == nil {
		u, err = s.st.AdminUserByName(ctx, name)
		switch {
		case err == nil:
			known = true
		case !errors.Is(err, store.ErrNotFound):
			return WebSession{}, err
		}
	}
	if !known {
		// Unknown or malformed username: the same bcrypt work as a known
		// one. The attempted name is not recorded: people type their
		// password into it.
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		err := Errorf(EFORBIDDEN, msgWrongLogin)
		s.audit(ctx, Actor{Identity: "web:", Transport: "web"}, "admin.login", "unknown username", outcome(err))
		return WebSession{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		err := Errorf(EFORBIDDEN, msgWrongLogin)
		s.audit(ctx, WebActor(u.Username), "admin.login", "wrong password", outcome(err))
		return WebSession{}, err
	}
	sess, err := s.startSession(ctx, u, idle)
	if errors.Is(err, store.ErrNotFound) {
		// The password changed, or the account went, while it was checked.
		err = Errorf(EFORBIDDEN, msgWrongLogin)
	}
	s.audit(ctx, WebActor(u.Username), "admin.login", "", outcome(err))
	if err != nil {
		return WebSession{}, err
	}
	return sess, nil
}

// startSession records a new session of u and its login.
func (s *Service) startSession(ctx context.Context, u store.AdminUser, idle time.Duration) (WebSession, error) {
	token, hash, err := newToken()
	if err != nil {
		return WebSession{}, err
	}
	now := s.cfg.Now()
	expires := now.Add(min(sessionIdle(idle), sessionLifetime))
	if err := s.st.CreateWebSession(ctx, store.NewWebSession{TokenHash: hash, UserID: u.ID, PasswordHash: u.PasswordHash,
		CreatedAt: now, ExpiresAt: expires}); err != nil {
		return WebSession{}, err
	}
	if err := s.st.TouchAdminLogin(ctx, u.ID); err != nil {
		return WebSession{}, err
	}
	acc := account(u)
	acc.LastLoginAt = now
	return WebSession{Token: token, Admin: acc, ExpiresAt: expires}, nil
}

// errSessionEnded is the answer for a cookie without a live session.
func errSessionEnded() error {
	return Errorf(EFORBIDDEN, "Your session has ended. Please log in again.")
}

// WebSession returns the account of the session with token, and slides its
// expiry to now+idle (writing it at most once a minute per session), but
// never past 7 days after login. EFORBIDDEN when the session is unknown,
// expired or ended.
func (s *Service) WebSession(ctx context.Context, token string, idle time.Duration) (AdminAccount, error) {
	if token == "" {
		return AdminAccount{}, errSessionEnded()
	}
	hash := tokenHash(token)
	now := s.cfg.Now()
	sess, err := s.st.WebSessionUser(ctx, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return AdminAccount{}, errSessionEnded()
	}
	if err != nil {
		return AdminAccount{}, err
	}
	limit := sess.CreatedAt.Add(sessionLifetime)
	if !now.Before(limit) {
		if err := s.st.DeleteWebSession(ctx, hash); err != nil {
			s.log.Warn("delete a session past its lifetime", "err", err)
		}
		return AdminAccount{}, errSessionEnded()
	}
	// Write when the expiry moved by a minute (less for an idle time under
	// two minutes, so that an active session never lapses).
	idle = sessionIdle(idle)
	next := now.Add(idle)
	if next.After(limit) {
		next = limit
	}
	if next.Sub(sess.ExpiresAt) >= min(sessionWriteEvery, idle/2) {
		if err := s.st.ExtendWebSession(ctx, hash, next); err != nil {
			return AdminAccount{}, err
		}
	}
	return account(sess.User), nil
}

// Logout ends the session with token; ending one that has ended already is
// no error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	hash := tokenHash(token)
	sess, lookupErr := s.st.WebSessionUser(ctx, hash, s.cfg.Now())
	if lookupErr != nil && !errors.Is(lookupErr, store.ErrNotFound) {
		return lookupErr
	}
	if err := s.st.DeleteWebSession(ctx, hash); err != nil {
		return err
	}
	if lookupErr == nil {
		s.audit(ctx, WebActor(sess.User.Username), "admin.logout", "", "ok")
	}
	return nil
}

// NewSetupToken makes a one-time token, valid for ttl, that creates the
// first admin account through SetupAdmin. ECONFLICT when an account
// exists.
func (s *Service) NewSetupToken(ctx context.Context, ttl time.Duration) (string, error) {
	has, err := s.HasAdminAccounts(ctx)
	if err != nil {
		return "", err
	}
	if has {
		return "", Errorf(ECONFLICT, "An admin account exists already: log in with it.")
	}
	token, hash, err := newToken()
	if err != nil {
		return "", err
	}
	if err := s.st.CreateSetupToken(ctx, hash, s.cfg.Now().Add(ttl)); err != nil {
		return "", err
	}
	return token, nil
}

// SetupAdmin uses a setup token to create the first admin account and logs
// it in. The input is checked before the token is used, so a mistake can
// be corrected with the same link. EFORBIDDEN when the token is unknown,
// used or expired; ECONFLICT when an account exists already.
func (s *Service) SetupAdmin(ctx context.Context, token, username, password string, idle time.Duration) (WebSession, error) {
	name, err := normalizeUsername(username)
	if err != nil {
		return WebSession{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return WebSession{}, err
	}
	u, err := s.st.SetupFirstAdmin(ctx, tokenHash(token), s.cfg.Now(), name, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = Errorf(EFORBIDDEN, "This setup link is not valid: it was used already or has expired. Restart messagebridge for a new one (it is in the log), or run `messagebridge admin create <user>`.")
	case errors.Is(err, store.ErrExists):
		err = Errorf(ECONFLICT, "An admin account exists already: log in with it.")
	}
	s.audit(ctx, WebActor(name), "admin.setup", name, outcome(err))
	if err != nil {
		return WebSession{}, err
	}
	sess, err := s.startSession(ctx, u, idle)
	if err != nil {
		return WebSession{}, err
	}
	s.audit(ctx, WebActor(name), "admin.login", "after setup", "ok")
	return sess, nil
}
