package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestAdminConformance runs the admin account, web session and setup token
// tests on every dialect available.
func TestAdminConformance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"AdminAccounts", testAdminAccounts},
		{"WebSessions", testWebSessions},
		{"SetupTokens", testSetupTokens},
		{"SetupFirstAdmin", testSetupFirstAdmin},
		{"SetupRaces", testSetupRaces},
		{"LastAccountDeletionRace", testLastAccountDeletionRace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.ForEachDialect(t, storetest.Options{Now: storetest.NewClock(conformanceEpoch).Now}, tc.fn)
		})
	}
}

func testAdminAccounts(t *testing.T, db *store.DB) {
	ctx := context.Background()
	s, err := db.DescribeSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"token_hash", "created_at", "expires_at"}; !slices.Equal(s.Columns["admin_setup_tokens"], want) {
		t.Fatalf("admin_setup_tokens columns %v, want %v", s.Columns["admin_setup_tokens"], want)
	}
	if n, err := db.CountAdminUsers(ctx); err != nil || n != 0 {
		t.Fatalf("count on an empty database: %d, %v", n, err)
	}
	bob, err := db.CreateAdminUser(ctx, "bob", "hash-b")
	if err != nil {
		t.Fatal(err)
	}
	if bob.ID == 0 || bob.Username != "bob" || bob.PasswordHash != "hash-b" || !bob.CreatedAt.Equal(conformanceEpoch) || bob.LastLoginAt.Valid {
		t.Fatalf("created %+v", bob)
	}
	if _, err := db.CreateAdminUser(ctx, "alice", "hash-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAdminUser(ctx, "bob", "other"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate username: %v, want ErrExists", err)
	}
	if _, err := db.AdminUserByName(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown username: %v, want ErrNotFound", err)
	}
	all, err := db.AdminUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Username != "alice" || all[1].Username != "bob" {
		t.Fatalf("accounts = %+v, want alice then bob", all)
	}
	if n, err := db.CountAdminUsers(ctx); err != nil || n != 2 {
		t.Fatalf("count = %d, %v, want 2", n, err)
	}

	if err := db.SetAdminPassword(ctx, bob.ID, "hash-b2"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAdminPassword(ctx, bob.ID, "hash-b2"); err != nil {
		t.Fatalf("setting the same hash again: %v", err)
	}
	if err := db.SetAdminPassword(ctx, 99999, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("password of a missing account: %v, want ErrNotFound", err)
	}
	if err := db.TouchAdminLogin(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.AdminUserByName(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != "hash-b2" || !got.LastLoginAt.Valid || !got.LastLoginAt.Time.Equal(conformanceEpoch) {
		t.Fatalf("after password change and login: %+v", got)
	}

	// A refusing check rolls the deletion back.
	refused := errors.New("refused")
	var left int
	if err := db.DeleteAdminUser(ctx, "bob", func(n int) error { left = n; return refused }); !errors.Is(err, refused) {
		t.Fatalf("refused deletion: %v", err)
	}
	if left != 1 {
		t.Errorf("check saw %d accounts left, want 1", left)
	}
	if _, err := db.AdminUserByName(ctx, "bob"); err != nil {
		t.Fatalf("refused deletion took effect: %v", err)
	}
	// Deleting an account ends its sessions.
	if err := db.CreateWebSession(ctx, store.NewWebSession{TokenHash: "s-bob", UserID: bob.ID, PasswordHash: "hash-b2",
		CreatedAt: conformanceEpoch, ExpiresAt: conformanceEpoch.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAdminUser(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAdminUser(ctx, "bob", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second deletion: %v, want ErrNotFound", err)
	}
	if _, err := db.WebSessionUser(ctx, "s-bob", conformanceEpoch); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of a deleted account: %v, want ErrNotFound", err)
	}
}

func testWebSessions(t *testing.T, db *store.DB) {
	ctx := context.Background()
	u, err := db.CreateAdminUser(ctx, "alice", "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateAdminUser(ctx, "bob", "hash-b")
	if err != nil {
		t.Fatal(err)
	}
	t0 := conformanceEpoch
	create := func(token, hash string, id int64) error {
		return db.CreateWebSession(ctx, store.NewWebSession{TokenHash: token, UserID: id, PasswordHash: hash,
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	}
	for _, tok := range []string{"s1", "s2"} {
		if err := create(tok, "hash-1", u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := create("s-bob", "hash-b", other.ID); err != nil {
		t.Fatal(err)
	}
	if err := create("stale", "hash-0", u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session for a password hash no longer current: %v, want ErrNotFound", err)
	}
	s, err := db.WebSessionUser(ctx, "s1", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s.User.ID != u.ID || s.User.Username != "alice" || !s.CreatedAt.Equal(t0) || !s.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("session = %+v", s)
	}
	if _, err := db.WebSessionUser(ctx, "s1", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session at its expiry: %v, want ErrNotFound", err)
	}
	if _, err := db.WebSessionUser(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v, want ErrNotFound", err)
	}
	if err := db.ExtendWebSession(ctx, "s1", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if s, err := db.WebSessionUser(ctx, "s1", t0.Add(90*time.Minute)); err != nil || !s.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("extended session = %+v, %v", s, err)
	}
	if err := db.DeleteWebSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteWebSession(ctx, "s1"); err != nil {
		t.Fatalf("deleting a deleted session: %v", err)
	}
	if _, err := db.WebSessionUser(ctx, "s1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v, want ErrNotFound", err)
	}
	if err := create("s3", "hash-1", u.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := db.DeleteWebSessionsOf(ctx, u.ID); err != nil || n != 2 {
		t.Fatalf("delete sessions of alice: %d, %v, want 2", n, err)
	}
	for _, tok := range []string{"s2", "s3"} {
		if _, err := db.WebSessionUser(ctx, tok, t0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s after deleting alice's: %v", tok, err)
		}
	}
	if _, err := db.WebSessionUser(ctx, "s-bob", t0); err != nil {
		t.Fatalf("bob's session went with alice's: %v", err)
	}
}

func testSetupTokens(t *testing.T, db *store.DB) {
	ctx := context.Background()
	t0 := conformanceEpoch
	if err := db.CreateSetupToken(ctx, "tok", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSetupToken(ctx, "old", t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ConsumeSetupToken(ctx, "old", t0); err != nil || ok {
		t.Fatalf("expired token: %v, %v, want not valid", ok, err)
	}
	if ok, err := db.ConsumeSetupToken(ctx, "nope", t0); err != nil || ok {
		t.Fatalf("unknown token: %v, %v, want not valid", ok, err)
	}
	if ok, err := db.ConsumeSetupToken(ctx, "tok", t0.Add(time.Hour)); err != nil || ok {
		t.Fatalf("token at its expiry: %v, %v, want not valid", ok, err)
	}
	// That consumption deleted it all the same.
	if ok, err := db.ConsumeSetupToken(ctx, "tok", t0); err != nil || ok {
		t.Fatalf("token consumed once already: %v, %v, want not valid", ok, err)
	}

	// Of many consumers of one token, exactly one is told it was valid.
	if err := db.CreateSetupToken(ctx, "shared", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	oks := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			oks[i], errs[i] = db.ConsumeSetupToken(ctx, "shared", t0)
		}()
	}
	close(start)
	wg.Wait()
	valid := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("consumer %d: %v", i, errs[i])
		}
		if oks[i] {
			valid++
		}
	}
	if valid != 1 {
		t.Fatalf("%d consumers were told the token was valid, want 1", valid)
	}

	// An account created by other means ends every setup link.
	if err := db.CreateSetupToken(ctx, "moot", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAdminUser(ctx, "alice", "h"); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ConsumeSetupToken(ctx, "moot", t0); err != nil || ok {
		t.Fatalf("token after an account was created: %v, %v, want not valid", ok, err)
	}
}

func testSetupFirstAdmin(t *testing.T, db *store.DB) {
	ctx := context.Background()
	t0 := conformanceEpoch
	if _, err := db.SetupFirstAdmin(ctx, "nope", t0, "alice", "h"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v, want ErrNotFound", err)
	}
	if n, _ := db.CountAdminUsers(ctx); n != 0 {
		t.Fatalf("an unknown token created %d accounts", n)
	}
	for _, tok := range []string{"a", "b"} {
		if err := db.CreateSetupToken(ctx, tok, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := db.SetupFirstAdmin(ctx, "a", t0, "alice", "hash-a")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.PasswordHash != "hash-a" || u.ID == 0 {
		t.Fatalf("first admin = %+v", u)
	}
	// The other link died with the first account.
	if _, err := db.SetupFirstAdmin(ctx, "b", t0, "bob", "hash-b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second link after setup: %v, want ErrNotFound", err)
	}
	// A link made while an account exists creates none, and is used up.
	if err := db.CreateSetupToken(ctx, "c", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetupFirstAdmin(ctx, "c", t0, "carol", "hash-c"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("setup with an account present: %v, want ErrExists", err)
	}
	if ok, err := db.ConsumeSetupToken(ctx, "c", t0); err != nil || ok {
		t.Fatalf("link after a refused setup: %v, %v, want used up", ok, err)
	}
	if n, _ := db.CountAdminUsers(ctx); n != 1 {
		t.Fatalf("%d accounts, want 1", n)
	}
}

// Browsers racing with the same link, or with different links, create one
// account in all.
func testSetupRaces(t *testing.T, db *store.DB) {
	ctx := context.Background()
	t0 := conformanceEpoch
	for round, sameLink := range []bool{true, false, true, false} {
		if round > 0 {
			all, err := db.AdminUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range all {
				if err := db.DeleteAdminUser(ctx, u.Username, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		const n = 6
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = fmt.Sprintf("r%d-%d", round, i)
			if sameLink {
				tokens[i] = fmt.Sprintf("r%d", round)
			}
			if i == 0 || !sameLink {
				if err := db.CreateSetupToken(ctx, tokens[i], t0.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = db.SetupFirstAdmin(ctx, tokens[i], t0, fmt.Sprintf("user%d", i), "h")
			}()
		}
		close(start)
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists):
			default:
				t.Fatalf("round %d, browser %d: %v", round, i, err)
			}
		}
		if count, err := db.CountAdminUsers(ctx); err != nil || created != 1 || count != 1 {
			t.Fatalf("round %d (same link %v): %d setups succeeded, %d accounts (%v); want 1 and 1", round, sameLink, created, count, err)
		}
	}
}

// Two accounts deleting each other at once, each refusing to leave none,
// leave one.
func testLastAccountDeletionRace(t *testing.T, db *store.DB) {
	ctx := context.Background()
	last := errors.New("last account")
	keepOne := func(left int) error {
		if left < 1 {
			return last
		}
		return nil
	}
	for round := range 10 {
		for _, name := range []string{"a", "b"} {
			if _, err := db.CreateAdminUser(ctx, name, "h"); err != nil && !errors.Is(err, store.ErrExists) {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var errA, errB error
		start := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-start; errA = db.DeleteAdminUser(ctx, "a", keepOne) }()
		go func() { defer wg.Done(); <-start; errB = db.DeleteAdminUser(ctx, "b", keepOne) }()
		close(start)
		wg.Wait()
		n, err := db.CountAdminUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: %d accounts left, errors %v and %v; want 1 left, one refusal", round, n, errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, last) {
				t.Fatalf("round %d: refusal %v, want the check's error", round, err)
			}
		}
	}
}
