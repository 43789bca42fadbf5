package main

import (
	"context"
	"strings"
	"testing"
)

// A console identity an admin removed stays removed when `messagebridge
// chat` starts again: "first use" means never seen, not absent now. The
// chat refuses to start, saying who removed it and how to add it back;
// once an admin adds it again it chats with the role it was given.
func TestChatDoesNotBringBackARemovedConsoleIdentity(t *testing.T) {
	t.Parallel()
	getenv := env(t)
	chatAs := func(user, input string) (code int, out, errs string) {
		t.Helper()
		var o, e syncBuffer
		code = run(context.Background(), []string{"chat", "-console-user", user}, getenv, strings.NewReader(input), &o, &e)
		return code, o.String(), e.String()
	}

	// First use: console:local is admin; it makes console:boss admin and
	// removes itself.
	code, out, errs := chatAs("local", "/whoami\n/operator add console:boss admin\n/operator remove console:local\n/quit\n")
	if code != 0 || !strings.Contains(out, "bot: You are console:local, role admin.") {
		t.Fatalf("first chat: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "console:local") || strings.Contains(out, "no admin") {
		t.Fatalf("removal refused:\n%s", out)
	}

	// Restarted as console:local: refused, not made admin again.
	code, out, errs = chatAs("local", "/whoami\n/quit\n")
	checkOneLineFailure(t, code, 1, errs, "console:local was removed from the bot by console:local on ")
	if !strings.Contains(errs, "/operator add console:local <role>") {
		t.Errorf("the refusal does not say how to add it back: %q", errs)
	}
	if strings.Contains(out, "role admin") {
		t.Fatalf("the removed identity chatted as admin:\n%s", out)
	}
	// Refused again on a further start: the removal is remembered, not
	// used up.
	code, _, errs = chatAs("local", "/quit\n")
	checkOneLineFailure(t, code, 1, errs, "console:local was removed from the bot")

	// An admin adds it back as staff; it then chats as staff.
	code, out, errs = chatAs("boss", "/operator add console:local staff\n/quit\n")
	if code != 0 || !strings.Contains(out, "console:local") {
		t.Fatalf("adding it back: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = chatAs("local", "/whoami\n/quit\n")
	if code != 0 || !strings.Contains(out, "bot: You are console:local, role staff.") {
		t.Fatalf("after being added back: exit %d\n%s\n%s", code, out, errs)
	}

	// A console identity never seen before still gets the first-use role.
	code, out, errs = chatAs("newcomer", "/whoami\n/quit\n")
	if code != 0 || !strings.Contains(out, "bot: You are console:newcomer, role admin.") {
		t.Fatalf("a new console identity: exit %d\n%s\n%s", code, out, errs)
	}
}
