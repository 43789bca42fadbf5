package ops_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// Passwords of the admin tests; none may reach the audit log.
const (
	pwAlice = "correct horse battery"
	pwBob   = "bob's long password"
	pwNew   = "a brand new password"
)

// newAdminService builds the operations over a fresh SQLite database with
// a manual clock for sessions.
func newAdminService(t *testing.T) (*ops.Service, *store.DB, *storetest.Clock) {
	t.Helper()
	db := storetest.OpenSQLite(t, storetest.Options{})
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"dryrun"}))
	if err != nil {
		t.Fatal(err)
	}
	clock := storetest.NewClock(time.Now())
	svc := ops.New(db, settings.NewReader(reg, db, time.Nanosecond, nil), ops.Config{Now: clock.Now}, nil)
	return svc, db, clock
}

// storedSession reads a session as the store holds it, by the hash of its
// token.
func storedSession(t *testing.T, db *store.DB, token string, now time.Time) (store.WebSession, error) {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	return db.WebSessionUser(context.Background(), hex.EncodeToString(sum[:]), now)
}

// auditActions lists the audit log's actions, oldest first, and fails the
// test when any entry holds one of the test passwords.
func auditActions(t *testing.T, db *store.DB) []string {
	t.Helper()
	log, err := db.AuditLog(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(log))
	for i := len(log) - 1; i >= 0; i-- {
		e := log[i]
		for _, pw := range []string{pwAlice, pwBob, pwNew, "short"} {
			if strings.Contains(e.Detail, pw) || strings.Contains(e.Actor, pw) {
				t.Fatalf("audit entry %+v holds a password", e)
			}
		}
		out = append(out, e.Action+" "+e.Actor+" "+e.Outcome)
	}
	return out
}

func TestCreateAdminRules(t *testing.T) {
	t.Parallel()
	svc, db, _ := newAdminService(t)
	ctx := context.Background()

	_, err := svc.CreateAdmin(ctx, operator, "alice", pwAlice)
	wantCode(t, err, ops.EFORBIDDEN, "admin")
	if has, err := svc.HasAdminAccounts(ctx); err != nil || has {
		t.Fatalf("an operator created an account: %v, %v", has, err)
	}

	acc, err := svc.CreateAdmin(ctx, admin, "  Alice@Example.COM ", pwAlice)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Username != "alice@example.com" || acc.ID == 0 || acc.CreatedAt.IsZero() || !acc.LastLoginAt.IsZero() {
		t.Fatalf("created %+v", acc)
	}
	u, err := db.AdminUserByName(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u.PasswordHash, pwAlice) || !strings.HasPrefix(u.PasswordHash, "$2") {
		t.Fatalf("stored password is not a bcrypt hash: %q", u.PasswordHash)
	}
	_, err = svc.CreateAdmin(ctx, admin, "ALICE@example.com", pwBob)
	wantCode(t, err, ops.ECONFLICT, "exists")

	for _, tc := range []struct{ name, user, password, phrase string }{
		{"empty username", "   ", pwBob, "username"},
		{"space", "bob smith", pwBob, "letters"},
		{"slash", "bob/1", pwBob, "letters"},
		{"non-ASCII letter", "zoë", pwBob, "letters"},
		{"65 characters", strings.Repeat("b", 65), pwBob, "64"},
		{"9 characters", "bob", "123456789", "at least 10"},
		{"9 runes in more bytes", "bob", "ééééééééé", "at least 10"},
		{"73 bytes", "bob", strings.Repeat("x", 73), "72"},
		{"72 bytes in 24 runes", "bob", strings.Repeat("€", 24) + "x", "72"},
	} {
		_, err := svc.CreateAdmin(ctx, admin, tc.user, tc.password)
		wantCode(t, err, ops.EINVALID, tc.phrase)
		if strings.Contains(ops.ErrorMessage(err), tc.password) {
			t.Errorf("%s: the message repeats the password: %q", tc.name, ops.ErrorMessage(err))
		}
	}
	// The limits themselves are allowed.
	if _, err := svc.CreateAdmin(ctx, admin, strings.Repeat("b", 64), strings.Repeat("x", 72)); err != nil {
		t.Fatalf("64-character username, 72-byte password: %v", err)
	}
	if _, err := svc.CreateAdmin(ctx, admin, "o.k_name@x-y", "0123456789"); err != nil {
		t.Fatalf("every allowed character, 10-character password: %v", err)
	}
	accounts, err := svc.AdminAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 3 || accounts[0].Username != "alice@example.com" {
		t.Fatalf("accounts = %+v", accounts)
	}
	got := auditActions(t, db)
	want := []string{
		"admin.create telegram:200 refused",
		"admin.create console:admin ok",
		"admin.create console:admin refused",
		"admin.create console:admin ok",
		"admin.create console:admin ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	svc, db, clock := newAdminService(t)
	ctx := context.Background()
	if _, err := svc.CreateAdmin(ctx, admin, "alice", pwAlice); err != nil {
		t.Fatal(err)
	}

	sess, err := svc.Login(ctx, " Alice ", pwAlice, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sess.Token)
	if err != nil || len(raw) != 32 {
		t.Fatalf("token %q is not 32 bytes of base64url: %v", sess.Token, err)
	}
	if sess.Admin.Username != "alice" || !sess.ExpiresAt.Equal(clock.Now().Add(time.Hour)) || sess.Admin.LastLoginAt.IsZero() {
		t.Fatalf("session = %+v", sess)
	}
	// Only the token's hash is stored.
	if _, err := db.WebSessionUser(ctx, sess.Token, clock.Now()); err == nil {
		t.Fatal("the token itself is a session key in the database")
	}
	if _, err := storedSession(t, db, sess.Token, clock.Now()); err != nil {
		t.Fatalf("no session under the token's hash: %v", err)
	}
	acc, err := svc.WebSession(ctx, sess.Token, time.Hour)
	if err != nil || acc.Username != "alice" {
		t.Fatalf("session lookup: %+v, %v", acc, err)
	}
	if accs, _ := svc.AdminAccounts(ctx); len(accs) != 1 || accs[0].LastLoginAt.IsZero() {
		t.Fatalf("last login not recorded: %+v", accs)
	}

	_, wrongPassword := svc.Login(ctx, "alice", "not the password", time.Hour)
	_, unknownUser := svc.Login(ctx, "mallory", pwAlice, time.Hour)
	_, badName := svc.Login(ctx, pwAlice, pwAlice, time.Hour)
	for _, err := range []error{wrongPassword, unknownUser, badName} {
		wantCode(t, err, ops.EFORBIDDEN)
		if msg := ops.ErrorMessage(err); msg != "Wrong username or password." {
			t.Fatalf("message %q, want the one wrong-login message", msg)
		}
	}

	for _, token := range []string{"", "garbage", sess.Token + "x"} {
		_, err := svc.WebSession(ctx, token, time.Hour)
		wantCode(t, err, ops.EFORBIDDEN, "log in")
	}
	if err := svc.Logout(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	_, err = svc.WebSession(ctx, sess.Token, time.Hour)
	wantCode(t, err, ops.EFORBIDDEN, "log in")
	if err := svc.Logout(ctx, sess.Token); err != nil {
		t.Fatalf("second logout: %v", err)
	}

	got := auditActions(t, db)
	want := []string{
		"admin.create console:admin ok",
		"admin.login web:alice ok",
		"admin.login web:alice refused",
		"admin.login web: refused",
		"admin.login web: refused",
		"admin.logout web:alice ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// An unknown username costs a bcrypt comparison like a wrong password, so
// the answer's timing does not tell which usernames exist.
func TestLoginTimingDoesNotRevealUsernames(t *testing.T) {
	t.Parallel()
	svc, _, _ := newAdminService(t)
	ctx := context.Background()
	if _, err := svc.CreateAdmin(ctx, admin, "alice", pwAlice); err != nil {
		t.Fatal(err)
	}
	// Interleaved, fastest of five: other tests' load hits both alike.
	known, unknown := time.Hour, time.Hour
	for range 5 {
		for _, m := range []struct {
			user string
			best *time.Duration
		}{{"alice", &known}, {"mallory", &unknown}} {
			start := time.Now()
			if _, err := svc.Login(ctx, m.user, "not the password", time.Hour); ops.ErrorCode(err) != ops.EFORBIDDEN {
				t.Fatalf("login as %s: %v", m.user, err)
			}
			*m.best = min(*m.best, time.Since(start))
		}
	}
	// A bcrypt comparison takes tens of milliseconds, a lookup well under
	// one: without the dummy comparison the unknown name would be ~50x
	// faster.
	if unknown < known/3 {
		t.Fatalf("unknown username answered in %v, known one in %v", unknown, known)
	}
}

func TestWebSessionSlidesAndEnds(t *testing.T) {
	t.Parallel()
	svc, db, clock := newAdminService(t)
	ctx := context.Background()
	if _, err := svc.CreateAdmin(ctx, admin, "alice", pwAlice); err != nil {
		t.Fatal(err)
	}
	const idle = 30 * time.Minute
	t0 := clock.Now()
	sess, err := svc.Login(ctx, "alice", pwAlice, idle)
	if err != nil {
		t.Fatal(err)
	}
	stored := func() time.Time {
		t.Helper()
		s, err := storedSession(t, db, sess.Token, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return s.ExpiresAt
	}
	use := func() error {
		_, err := svc.WebSession(ctx, sess.Token, idle)
		return err
	}
	near := func(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }

	// Used within the minute: no write.
	clock.Advance(20 * time.Second)
	if err := use(); err != nil {
		t.Fatal(err)
	}
	if got := stored(); !near(got, t0.Add(idle)) {
		t.Fatalf("expiry after a use 20s in: %v, want unchanged %v", got, t0.Add(idle))
	}
	// Used two minutes in: the expiry slides.
	clock.Advance(100 * time.Second)
	if err := use(); err != nil {
		t.Fatal(err)
	}
	if got, want := stored(), t0.Add(2*time.Minute+idle); !near(got, want) {
		t.Fatalf("expiry after a use 2m in: %v, want %v", got, want)
	}
	// Idle for longer than idle: ended.
	clock.Advance(idle + time.Second)
	wantCode(t, use(), ops.EFORBIDDEN, "log in")

	// However active, a session ends 7 days after login.
	t1 := clock.Now()
	sess, err = svc.Login(ctx, "alice", pwAlice, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for clock.Now().Before(t1.Add(7*24*time.Hour - 12*time.Hour)) {
		clock.Advance(12 * time.Hour)
		if _, err := svc.WebSession(ctx, sess.Token, 24*time.Hour); err != nil {
			t.Fatalf("active session ended %v after login: %v", clock.Now().Sub(t1), err)
		}
	}
	if got, want := stored(), t1.Add(7*24*time.Hour); !near(got, want) {
		t.Fatalf("expiry near the end of the lifetime: %v, want capped at %v", got, want)
	}
	clock.Advance(12 * time.Hour)
	_, err = svc.WebSession(ctx, sess.Token, 24*time.Hour)
	wantCode(t, err, ops.EFORBIDDEN, "log in")
}

func TestSetAdminPasswordEndsSessions(t *testing.T) {
	t.Parallel()
	svc, db, _ := newAdminService(t)
	ctx := context.Background()
	for _, u := range []struct{ name, pw string }{{"alice", pwAlice}, {"bob", pwBob}} {
		if _, err := svc.CreateAdmin(ctx, admin, u.name, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	var tokens []string
	for range 2 {
		s, err := svc.Login(ctx, "alice", pwAlice, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, s.Token)
	}
	bobs, err := svc.Login(ctx, "bob", pwBob, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	wantCode(t, svc.SetAdminPassword(ctx, operator, "alice", pwNew), ops.EFORBIDDEN)
	wantCode(t, svc.SetAdminPassword(ctx, admin, "alice", "short"), ops.EINVALID, "at least 10")
	wantCode(t, svc.SetAdminPassword(ctx, admin, "carol", pwNew), ops.ENOTFOUND, "carol")
	for _, tok := range tokens {
		if _, err := svc.WebSession(ctx, tok, time.Hour); err != nil {
			t.Fatalf("a refused change ended a session: %v", err)
		}
	}

	if err := svc.SetAdminPassword(ctx, ops.WebActor("bob"), "ALICE", pwNew); err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		_, err := svc.WebSession(ctx, tok, time.Hour)
		wantCode(t, err, ops.EFORBIDDEN, "log in")
	}
	if _, err := svc.WebSession(ctx, bobs.Token, time.Hour); err != nil {
		t.Fatalf("bob's session ended with alice's password change: %v", err)
	}
	_, err = svc.Login(ctx, "alice", pwAlice, time.Hour)
	wantCode(t, err, ops.EFORBIDDEN)
	if _, err := svc.Login(ctx, "alice", pwNew, time.Hour); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	got := auditActions(t, db)
	var pw []string
	for _, a := range got {
		if strings.HasPrefix(a, "admin.password") {
			pw = append(pw, a)
		}
	}
	if want := []string{"admin.password telegram:200 refused", "admin.password console:admin error", "admin.password web:bob ok"}; strings.Join(pw, "|") != strings.Join(want, "|") {
		t.Fatalf("password audit %v, want %v", pw, want)
	}
}

func TestRemoveAdminKeepsOne(t *testing.T) {
	t.Parallel()
	svc, db, _ := newAdminService(t)
	ctx := context.Background()
	for _, u := range []struct{ name, pw string }{{"alice", pwAlice}, {"bob", pwBob}} {
		if _, err := svc.CreateAdmin(ctx, admin, u.name, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	bobs, err := svc.Login(ctx, "bob", pwBob, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, svc.RemoveAdmin(ctx, staff, "bob"), ops.EFORBIDDEN)
	wantCode(t, svc.RemoveAdmin(ctx, admin, "carol"), ops.ENOTFOUND, "carol")
	if err := svc.RemoveAdmin(ctx, ops.WebActor("alice"), "Bob"); err != nil {
		t.Fatal(err)
	}
	_, err = svc.WebSession(ctx, bobs.Token, time.Hour)
	wantCode(t, err, ops.EFORBIDDEN, "log in")
	wantCode(t, svc.RemoveAdmin(ctx, ops.WebActor("alice"), "alice"), ops.ECONFLICT, "last")
	if has, err := svc.HasAdminAccounts(ctx); err != nil || !has {
		t.Fatalf("the last account was removed: %v, %v", has, err)
	}
	got := auditActions(t, db)
	if last := got[len(got)-1]; last != "admin.remove web:alice refused" {
		t.Fatalf("last audit entry %q", last)
	}
}

func TestSetupAdmin(t *testing.T) {
	t.Parallel()
	svc, db, clock := newAdminService(t)
	ctx := context.Background()

	expired, err := svc.NewSetupToken(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Hour)
	_, err = svc.SetupAdmin(ctx, expired, "alice", pwAlice, time.Hour)
	wantCode(t, err, ops.EFORBIDDEN, "setup link")

	token, err := svc.NewSetupToken(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(token); err != nil || len(raw) != 32 {
		t.Fatalf("setup token %q is not 32 bytes of base64url: %v", token, err)
	}
	// A mistake in the form leaves the link usable.
	_, err = svc.SetupAdmin(ctx, token, "alice", "short", time.Hour)
	wantCode(t, err, ops.EINVALID, "at least 10")
	_, err = svc.SetupAdmin(ctx, token, "a b", pwAlice, time.Hour)
	wantCode(t, err, ops.EINVALID, "letters")

	// Two browsers with the same link: one account.
	var wg sync.WaitGroup
	sessions := make([]ops.WebSession, 2)
	errs := make([]error, 2)
	for i, name := range []string{"Alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i], errs[i] = svc.SetupAdmin(ctx, token, name, pwAlice, time.Hour)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatal("both browsers created an account with one link")
			}
			winner = i
			continue
		}
		wantCode(t, err, ops.EFORBIDDEN, "setup link")
	}
	if winner < 0 {
		t.Fatalf("no browser created the account: %v", errs)
	}
	sess := sessions[winner]
	if sess.Token == "" || sess.Admin.Username != []string{"alice", "bob"}[winner] {
		t.Fatalf("setup session = %+v", sess)
	}
	if acc, err := svc.WebSession(ctx, sess.Token, time.Hour); err != nil || acc.Username != sess.Admin.Username {
		t.Fatalf("the new account is not logged in: %+v, %v", acc, err)
	}
	if _, err := svc.Login(ctx, sess.Admin.Username, pwAlice, time.Hour); err != nil {
		t.Fatalf("login with the password chosen at setup: %v", err)
	}
	accounts, err := svc.AdminAccounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("accounts after setup: %+v, %v", accounts, err)
	}
	_, err = svc.NewSetupToken(ctx, time.Hour)
	wantCode(t, err, ops.ECONFLICT, "exists")
	_, err = svc.SetupAdmin(ctx, token, "carol", pwBob, time.Hour)
	wantCode(t, err, ops.EFORBIDDEN, "setup link")

	var setups, ok []string
	for _, a := range auditActions(t, db) {
		if strings.HasPrefix(a, "admin.setup") {
			setups = append(setups, a)
			if strings.HasSuffix(a, " ok") {
				ok = append(ok, a)
			}
		}
	}
	if len(setups) != 4 || len(ok) != 1 || ok[0] != "admin.setup web:"+sess.Admin.Username+" ok" {
		t.Fatalf("setup audit %v, want four attempts, one ok", setups)
	}
}
