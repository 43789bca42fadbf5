package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
)

// adminOps opens the operations on the data dir of getenv, as the admin
// command does.
func adminOps(t *testing.T, getenv func(string) string) *ops.Service {
	t.Helper()
	cfg, err := parseConfig("test", nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svc, closeDB, err := openOps(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeDB)
	return svc
}

func TestAdminCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	const password = "a good long password"
	admin := func(pw string, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		var out, errw syncBuffer
		code = run(ctx, append([]string{"admin"}, args...), env(t, "MB_DATA_DIR", dataDir, "MB_ADMIN_PASSWORD", pw),
			strings.NewReader(""), &out, &errw)
		for _, s := range []string{out.String(), errw.String()} {
			if pw != "" && strings.Contains(s, pw) {
				t.Fatalf("admin %v printed the password: %q", args, s)
			}
		}
		return code, out.String(), errw.String()
	}

	code, out, errs := admin(password, "create", "Alice")
	if code != 0 || !strings.Contains(out, "Created the admin account alice") {
		t.Fatalf("create: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	svc := adminOps(t, env(t, "MB_DATA_DIR", dataDir))
	sess, err := svc.Login(ctx, "alice", password, time.Hour)
	if err != nil {
		t.Fatalf("login with the password given to create: %v", err)
	}

	code, _, errs = admin(password, "create", "alice")
	checkOneLineFailure(t, code, 1, errs, "exists already")
	code, _, errs = admin("tooshort1", "create", "bob")
	checkOneLineFailure(t, code, 1, errs, "at least 10 characters")
	code, _, errs = admin("", "create", "bob")
	checkOneLineFailure(t, code, 1, errs, "MB_ADMIN_PASSWORD")
	if accs, err := svc.AdminAccounts(ctx); err != nil || len(accs) != 1 {
		t.Fatalf("accounts after refused creations: %+v, %v", accs, err)
	}

	code, out, errs = admin("", "list")
	if code != 0 || !regexp.MustCompile(`(?m)^alice\s+\d{4}-\d\d-\d\d .*UTC\s+\d{4}-\d\d-\d\d`).MatchString(out) {
		t.Fatalf("list: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	const newPassword = "another long password"
	code, out, errs = admin(newPassword, "password", "alice")
	if code != 0 || !strings.Contains(out, "Changed the password of alice") {
		t.Fatalf("password: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if _, err := svc.WebSession(ctx, sess.Token, time.Hour); ops.ErrorCode(err) != ops.EFORBIDDEN {
		t.Fatalf("session after the password change: %v, want ended", err)
	}
	if _, err := svc.Login(ctx, "alice", password, time.Hour); ops.ErrorCode(err) != ops.EFORBIDDEN {
		t.Fatalf("login with the old password: %v", err)
	}
	if _, err := svc.Login(ctx, "alice", newPassword, time.Hour); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	code, _, errs = admin(newPassword, "password", "carol")
	checkOneLineFailure(t, code, 1, errs, `no admin account "carol"`)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: messagebridge admin"},
		{[]string{"create"}, "takes a user name"},
		{[]string{"password", "-h"}, "takes a user name"},
		{[]string{"remove", "alice"}, `unknown admin command "remove"`},
		{[]string{"list", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errs := admin(password, tc.args...)
		checkOneLineFailure(t, code, 2, errs, tc.want)
	}
}

func TestAnnounceSetup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := adminOps(t, env(t))
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	if err := announceSetup(ctx, svc, "https://mb.example.com/", log); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") ||
		!strings.Contains(lines[0], `"no admin account yet: open this one-time link to create one"`) {
		t.Fatalf("log = %q, want one warning", logs.String())
	}
	m := regexp.MustCompile(`link="?([^"\s]+)`).FindStringSubmatch(lines[0])
	if m == nil || !strings.HasPrefix(m[1], "https://mb.example.com/admin/setup?token=") {
		t.Fatalf("no setup link in %q", lines[0])
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")
	sess, err := svc.SetupAdmin(ctx, token, "alice", "a good long password", time.Hour)
	if err != nil {
		t.Fatalf("setup with the logged link: %v", err)
	}
	if sess.Admin.Username != "alice" {
		t.Fatalf("setup session = %+v", sess)
	}

	// With an account, nothing is announced.
	before := logs.String()
	if err := announceSetup(ctx, svc, "https://mb.example.com", log); err != nil {
		t.Fatal(err)
	}
	if logs.String() != before {
		t.Fatalf("announced with an account present: %q", strings.TrimPrefix(logs.String(), before))
	}
}
