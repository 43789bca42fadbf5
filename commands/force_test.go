package commands_test

import (
	"strings"
	"testing"
)

// /gateway use! is an admin's forced switch: it runs as /gateway use does,
// is audited as the forced form, needs the same role, and /help shows it
// to admins only.
func TestGatewayUseForced(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if reply := f.say(t, "telegram:2", "/gateway use! meta"); !strings.Contains(reply, "needs the admin role") {
		t.Fatalf("/gateway use! by an operator: %q", reply)
	}
	if a := f.lastAudit(t); a.Action != "/gateway use!" || a.Outcome != "refused" {
		t.Fatalf("operator's forced switch audited as %+v", a)
	}
	if reply := f.say(t, "telegram:3", "/gateway use!"); !strings.Contains(reply, "Usage: /gateway use! <name> — one of dryrun, meta") {
		t.Fatalf("/gateway use! without a name: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/gateway use! meta"); reply != "Messages now go out via meta." {
		t.Fatalf("/gateway use! meta: %q", reply)
	}
	if a := f.lastAudit(t); a.Action != "/gateway use!" || a.Outcome != "ok" || a.Detail != "meta" {
		t.Fatalf("forced switch audited as %+v", a)
	}
	if reply := f.say(t, "telegram:2", "/gateway"); !strings.Contains(reply, "Active gateway: meta") {
		t.Fatalf("after the forced switch: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/help"); !strings.Contains(reply, "/gateway use! <name>") {
		t.Fatalf("admin help does not show /gateway use!:\n%s", reply)
	}
	if reply := f.say(t, "telegram:2", "/help"); strings.Contains(reply, "/gateway use") {
		t.Fatalf("operator help shows /gateway use:\n%s", reply)
	}
}

// An unknown command names the nearest one the sender may use, when one
// is close; a "!" on a command without that form is met the same way.
func TestUnknownCommandSuggestsTheNearest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tt := range []struct{ who, text, want string }{
		{"telegram:1", "/stauts", "There is no command /stauts. Did you mean /status? Send /help to see what you can use."},
		{"telegram:2", "/campaign start! 1", "There is no command /campaign start!. Did you mean /campaign start? Send /help to see what you can use."},
		{"telegram:1", "/status!", "There is no command /status!. Did you mean /status? Send /help to see what you can use."},
		{"telegram:1", "/gatway", "There is no command /gatway. Send /help to see what you can use."},
		{"telegram:2", "/gatway", "There is no command /gatway. Did you mean /gateway? Send /help to see what you can use."},
		{"telegram:3", "/frobnicate", "There is no command /frobnicate. Send /help to see what you can use."},
	} {
		if reply := f.say(t, tt.who, tt.text); reply != tt.want {
			t.Errorf("%s as %s: %q, want %q", tt.text, tt.who, reply, tt.want)
		}
		if a := f.lastAudit(t); a.Outcome != "error" || a.Detail != "unknown command" {
			t.Errorf("%s audited as %+v", tt.text, a)
		}
	}
}
