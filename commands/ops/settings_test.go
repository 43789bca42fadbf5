package ops_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestSetSettingRules: the registry decides who may change what; secrets
// never come in through a channel unfit for them; invalid values are
// refused naming the key; secrets are shown masked and audited without
// their value.
func TestSetSettingRules(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, reader := newService(t, db, nil, nil)
	ctx := context.Background()
	const secret = "hunter2-secret-9876"

	// A secret from chat: refused, nothing stored.
	_, err := svc.SetSetting(ctx, admin, shiprocket.SettingPassword, secret, false)
	wantCode(t, err, ops.EFORBIDDEN, shiprocket.SettingPassword, "secret")
	if _, err := db.Setting(ctx, shiprocket.SettingPassword); !isNotFound(err) {
		t.Fatalf("refused secret was stored: %v", err)
	}
	// An operator may not set it even where secrets are fit.
	_, err = svc.SetSetting(ctx, operator, shiprocket.SettingPassword, secret, true)
	wantCode(t, err, ops.EFORBIDDEN)

	// An operator-changeable key, by an operator.
	v, err := svc.SetSetting(ctx, operator, ops.SettingDedupeWindow, "15m", false)
	if err != nil || !isDuration(v.Value, 15*time.Minute) {
		t.Fatalf("operator sets %s: %+v %v", ops.SettingDedupeWindow, v, err)
	}
	if got := svc.DedupeWindow(ctx); got.Minutes() != 15 {
		t.Fatalf("dedupe window reads %s after the change", got)
	}
	// An admin key, by an operator: refused, not stored; staff may
	// change nothing.
	_, err = svc.SetSetting(ctx, operator, queue.SettingWorkers, "3", false)
	wantCode(t, err, ops.EFORBIDDEN, queue.SettingWorkers, "admin")
	if _, err := db.Setting(ctx, queue.SettingWorkers); !isNotFound(err) {
		t.Fatalf("forbidden change was stored: %v", err)
	}
	_, err = svc.SetSetting(ctx, staff, ops.SettingIntakeText, "hi", false)
	wantCode(t, err, ops.EFORBIDDEN)

	// Invalid values name the key and store nothing.
	for key, bad := range map[string]string{queue.SettingWorkers: "lots", queue.SettingRetryBase: "0s", ops.SettingRegion: "XX", ops.SettingTimezone: "Mars/Base"} {
		_, err := svc.SetSetting(ctx, admin, key, bad, false)
		wantCode(t, err, ops.EINVALID, key)
		if _, err := db.Setting(ctx, key); !isNotFound(err) {
			t.Fatalf("invalid %s=%q was stored: %v", key, bad, err)
		}
	}
	_, err = svc.SetSetting(ctx, admin, "queue.nosuch", "1", false)
	wantCode(t, err, ops.ENOTFOUND, queue.SettingWorkers)
	if v, err := svc.SetSetting(ctx, admin, queue.SettingWorkers, " 3 ", false); err != nil || v.Value != "3" || reader.Int(ctx, queue.SettingWorkers) != 3 {
		t.Fatalf("admin sets workers: %+v %v", v, err)
	}

	// A secret where the face says it is fit: stored, returned masked.
	v, err = svc.SetSetting(ctx, admin, shiprocket.SettingPassword, secret, true)
	if err != nil || v.Value != "••••9876" {
		t.Fatalf("secret set: %+v %v", v, err)
	}
	if reader.String(ctx, shiprocket.SettingPassword) != secret {
		t.Fatal("the secret was not stored as given")
	}

	// A secret written by the environment seeding shows masked.
	if err := db.PutSetting(ctx, shiprocket.SettingAPIKey, "sk-live-abcdefgh1234", true, "env:MB_SHIPROCKET_API_KEY"); err != nil {
		t.Fatal(err)
	}
	vals, err := svc.Settings(ctx, operator)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, v := range vals {
		switch v.Key {
		case shiprocket.SettingAPIKey:
			found++
			if v.Value != "••••1234" {
				t.Fatalf("%s shown as %q", v.Key, v.Value)
			}
		case shiprocket.SettingPassword:
			found++
			if v.Value != "••••9876" {
				t.Fatalf("%s shown as %q", v.Key, v.Value)
			}
		case ops.SettingDedupeWindow:
			found++
			if !isDuration(v.Value, 15*time.Minute) || !v.Set {
				t.Fatalf("%s shown as %+v", v.Key, v)
			}
		}
		if strings.Contains(v.Value, "abcdefgh") || strings.Contains(v.Value, "hunter2") {
			t.Fatalf("Settings leaked a secret in %s", v.Key)
		}
	}
	if found != 3 {
		t.Fatalf("Settings lists %d of the 3 settings looked for", found)
	}
	one, err := svc.Setting(ctx, shiprocket.SettingAPIKey)
	if err != nil || one.Value != "••••1234" {
		t.Fatalf("Setting(%s) = %+v %v", shiprocket.SettingAPIKey, one, err)
	}
	_, err = svc.Settings(ctx, staff)
	wantCode(t, err, ops.EFORBIDDEN)

	// Changes are audited, secrets without their value.
	log, err := svc.AuditLog(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range log {
		if strings.Contains(e.Detail, "hunter2") || strings.Contains(e.Detail, "abcdefgh") {
			t.Fatalf("audit entry %+v holds a secret", e)
		}
		if e.Action == "setting" && e.Outcome == "ok" {
			key, _, _ := strings.Cut(e.Detail, ":")
			seen[key] = true
			if key == ops.SettingDedupeWindow && (e.Actor != operator.Identity || !strings.Contains(e.Detail, "15m")) {
				t.Fatalf("audit of %s: %+v", key, e)
			}
		}
	}
	for _, key := range []string{ops.SettingDedupeWindow, queue.SettingWorkers, shiprocket.SettingPassword} {
		if !seen[key] {
			t.Fatalf("no audit entry for the change of %s (have %v)", key, seen)
		}
	}
}

// isDuration reports whether s reads as d (the registry may write 15m as
// "15m" or "15m0s").
func isDuration(s string, d time.Duration) bool {
	got, err := time.ParseDuration(s)
	return err == nil && got == d
}
