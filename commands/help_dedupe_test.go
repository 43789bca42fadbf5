package commands_test

import (
	"strings"
	"testing"
)

// /help words the dedupe window as it is set, not as it was when the help
// was written.
func TestHelpNamesTheDedupeWindowInForce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if reply := f.say(t, "telegram:1", "/help"); !strings.Contains(reply, "within 10m") {
		t.Fatalf("/help with the default window does not say 10m:\n%s", reply)
	}
	if reply := f.say(t, "telegram:2", "/set intake.dedupe_window 25m"); !strings.Contains(reply, "25m") {
		t.Fatalf("set: %q", reply)
	}
	reply := f.say(t, "telegram:1", "/help")
	if !strings.Contains(reply, "within 25m") || strings.Contains(reply, "10 minutes") || strings.Contains(reply, "within 10m") {
		t.Fatalf("/help after the window changed to 25m:\n%s", reply)
	}
}
