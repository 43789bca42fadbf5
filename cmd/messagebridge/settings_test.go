package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// The environment and an admin's change: a value from a variable follows
// the variable on every start (a rotated token is the new token), a removed
// variable unsets it, and a value an admin changed wins over the variable,
// with a log line naming who changed it and when.
func TestSeedFollowsTheEnvironmentUntilAnAdminChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t, storetest.Options{})
	reg, err := newRegistry(gatewayList(nil))
	if err != nil {
		t.Fatal(err)
	}
	start := func(env map[string]string) string {
		t.Helper()
		var logs bytes.Buffer
		if err := settings.Seed(ctx, reg, db, func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
			t.Fatal(err)
		}
		return logs.String()
	}
	value := func(key string) string {
		t.Helper()
		s, err := db.Setting(ctx, key)
		if err != nil {
			return "(unset)"
		}
		return s.Value
	}
	start(map[string]string{"MB_META_ACCESS_TOKEN": "EAAG-token-one-0001", "MB_META_PHONE_NUMBER_ID": "1234567890", "MB_WORKERS": "4"})
	if tok, _ := db.Setting(ctx, "meta.access_token"); tok.Value != "EAAG-token-one-0001" || !tok.Secret || tok.UpdatedBy != "env:MB_META_ACCESS_TOKEN" {
		t.Fatalf("seeded token: %+v", tok)
	}
	// Restart with a rotated token: the new one is used, and nobody is
	// said to have changed it.
	logs := start(map[string]string{"MB_META_ACCESS_TOKEN": "EAAG-token-two-0002", "MB_META_PHONE_NUMBER_ID": "1234567890", "MB_WORKERS": "4"})
	if got := value("meta.access_token"); got != "EAAG-token-two-0002" {
		t.Fatalf("after rotating the variable the token is %q", got)
	}
	if strings.Contains(logs, "admin") || strings.Contains(logs, "EAAG") {
		t.Fatalf("rotation logged as an admin change, or logged the token:\n%s", logs)
	}
	// An admin changes the number; it survives restarts with the variable
	// still set, and the log says who changed it.
	if err := db.PutSetting(ctx, "meta.phone_number_id", "999", false, "telegram:3"); err != nil {
		t.Fatal(err)
	}
	logs = start(map[string]string{"MB_META_ACCESS_TOKEN": "EAAG-token-two-0002", "MB_META_PHONE_NUMBER_ID": "1234567890"})
	if got := value("meta.phone_number_id"); got != "999" {
		t.Fatalf("admin's value overwritten: %q", got)
	}
	if !strings.Contains(logs, "changed_by=telegram:3") || !strings.Contains(logs, "env=MB_META_PHONE_NUMBER_ID") || !strings.Contains(logs, "changed_at=") {
		t.Fatalf("log does not name who changed the setting and when:\n%s", logs)
	}
	// MB_WORKERS was removed: the setting it wrote goes back to its default.
	if got := value("queue.workers"); got != "(unset)" {
		t.Fatalf("queue.workers after its variable went away: %q", got)
	}
	// A variable that is not valid stops the start, naming the variable
	// and the rule.
	err = settings.Seed(ctx, reg, db, func(k string) string { return map[string]string{"MB_REGION": "XX"}[k] }, nil)
	if err == nil || !strings.Contains(err.Error(), "MB_REGION") || !strings.Contains(err.Error(), "two-letter country code") {
		t.Fatalf("MB_REGION=XX: %v", err)
	}
}

// The README's settings table is the registry's: a setting added, removed
// or changed in code without the README fails here.
func TestREADMESettingsTableMatchesTheRegistry(t *testing.T) {
	t.Parallel()
	reg, err := newRegistry(gatewayList(nil))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- settings table: begin -->\n", "<!-- settings table: end -->"
	text := string(readme)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no settings table between %q and %q", begin, end)
	}
	if got, want := text[i+len(begin):j], reg.MarkdownTable(); got != want {
		t.Fatalf("README.md's settings table differs from the registry; replace it with the output of `go run ./cmd/messagebridge settings`:\n%s", want)
	}
}
