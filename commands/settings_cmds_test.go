package commands_test

import (
	"context"
	"strings"
	"testing"
)

// Settings from chat: admins see every setting, secrets masked; they change
// non-secret ones, checked by the registry; a secret typed into chat is
// refused and neither echoed, stored nor written to the audit log.
func TestSettingsFromChat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	reply := f.say(t, "telegram:3", "/settings")
	for _, want := range []string{"queue.max_attempts = 5 (default)", "intake.region = IN (default)", "gateway.active = dryrun (default)"} {
		if !strings.Contains(reply, want) {
			t.Errorf("/settings lacks %q:\n%s", want, reply)
		}
	}
	if reply := f.say(t, "telegram:3", "/settings queue"); !strings.Contains(reply, "attempts before a message fails") || strings.Contains(reply, "intake.region") {
		t.Errorf("/settings queue:\n%s", reply)
	}

	if reply := f.say(t, "telegram:3", "/set queue.max_attempts 8"); !strings.Contains(reply, "queue.max_attempts is now 8") {
		t.Fatalf("/set by an admin: %q", reply)
	}
	if s, err := f.db.Setting(ctx, "queue.max_attempts"); err != nil || s.Value != "8" || s.UpdatedBy != "telegram:3" {
		t.Fatalf("stored: %+v, %v", s, err)
	}
	// Intake uses it at once.
	f.say(t, "telegram:1", "98765 43210")
	if items := f.items(t); len(items) != 1 || items[0].MaxAttempts != 8 {
		t.Fatalf("intake after /set: %+v", items)
	}
	for text, want := range map[string]string{
		"/set queue.max_attempts many":  "queue.max_attempts: use a whole number from 1 to 100",
		"/set queue.lock_timeout 1s":    "from 10s to 24h.",
		"/set intake.region XX":         "two-letter country code",
		"/set queue.max_atempts 3":      "Did you mean",
		"/set nothing.here 1":           "There is no setting",
		"/set queue.max_attempts":       "Usage: /set queue.max_attempts <value>",
		"/set campaign.timezone Mars/X": "time zone name",
	} {
		if reply := f.say(t, "telegram:3", text); !strings.Contains(reply, want) {
			t.Errorf("%s: %q, want %q", text, reply, want)
		}
	}
	// An operator may change intake.text but not queue settings.
	if reply := f.say(t, "telegram:2", "/set intake.text Your order is packed"); !strings.Contains(reply, "is now Your order is packed") {
		t.Errorf("operator /set intake.text: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/set queue.max_attempts 2"); !strings.Contains(reply, "needs the admin role") {
		t.Errorf("operator /set queue.max_attempts: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "/set intake.text hi"); !strings.Contains(reply, "needs the operator role") {
		t.Errorf("staff /set: %q", reply)
	}
}

// A secret typed into chat is refused with a pointer to the admin page or
// the variable; the value appears in no reply and no audit row, and is not
// stored.
func TestSecretTypedIntoChatIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	const token = "EAAGsecret-token-never-in-chat-9f3k"
	reply := f.say(t, "telegram:3", "/set meta.access_token "+token)
	if strings.Contains(reply, token) || !strings.Contains(reply, "MB_META_ACCESS_TOKEN") || !strings.Contains(reply, "admin page") {
		t.Fatalf("reply: %q", reply)
	}
	if _, err := f.db.Setting(ctx, "meta.access_token"); err == nil {
		t.Fatal("the secret typed into chat was stored")
	}
	log, err := f.db.AuditLog(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		if strings.Contains(e.Detail, token) || strings.Contains(e.Action, token) {
			t.Fatalf("audit row holds the secret: %+v", e)
		}
	}
	if e := f.lastAudit(t); e.Action != "/set" || e.Outcome != "refused" {
		t.Fatalf("last audit row %+v, want a refused /set", e)
	}
	// A secret set by its variable shows masked.
	if err := f.db.PutSetting(ctx, "meta.access_token", "EAAGstored-token-abcd1234", true, "env:MB_META_ACCESS_TOKEN"); err != nil {
		t.Fatal(err)
	}
	reply = f.say(t, "telegram:3", "/settings meta")
	if strings.Contains(reply, "EAAGstored") || !strings.Contains(reply, "meta.access_token = ••••1234 (from MB_META_ACCESS_TOKEN)") {
		t.Fatalf("/settings meta: %q", reply)
	}
}
