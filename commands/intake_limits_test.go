package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// numbers is n distinct Indian mobile numbers separated by spaces.
func numbers(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("98%08d", i)
	}
	return strings.Join(out, " ")
}

// A message with more numbers than intake.max_numbers queues none of them
// and says so plainly, however many there are; within the bound all go.
func TestIntakeBoundsTheNumbersOfOneMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, text := range []string{numbers(9300), "/send " + numbers(9300), numbers(51)} {
		reply := f.say(t, "telegram:1", text)
		n := len(strings.Fields(text))
		if strings.HasPrefix(text, "/send") {
			n--
		}
		want := fmt.Sprintf("Nothing was queued: this message has %s numbers, and one message may hold at most 50 (setting intake.max_numbers).", commaNumber(n))
		if !strings.HasPrefix(reply, want) {
			t.Errorf("%d numbers: reply %.300q, want it to start %q", n, reply, want)
		}
		if len(reply) > 300 {
			t.Errorf("%d numbers: a reply of %d bytes", n, len(reply))
		}
		if got := len(f.items(t)); got != 0 {
			t.Fatalf("%d numbers: %d items queued, want none", n, got)
		}
	}
	if reply := f.say(t, "telegram:1", numbers(50)); !strings.HasPrefix(reply, "Queued 50 via dryrun:") {
		t.Errorf("50 numbers: %.200q", reply)
	}

	// Operators may change the bound; staff may not.
	if reply := f.say(t, "telegram:1", "/set intake.max_numbers 60"); !strings.Contains(reply, "needs the operator role") {
		t.Errorf("staff /set: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/set intake.max_numbers 60"); !strings.Contains(reply, "intake.max_numbers") || strings.Contains(reply, "Sorry") {
		t.Fatalf("operator /set: %q", reply)
	}
	f.clock.Advance(time.Hour) // past the dedupe window
	if reply := f.say(t, "telegram:1", numbers(60)); !strings.HasPrefix(reply, "Queued 60 via dryrun:") {
		t.Errorf("60 numbers with the bound at 60: %.200q", reply)
	}
	if reply := f.say(t, "telegram:1", numbers(61)); !strings.Contains(reply, "at most 60 (setting intake.max_numbers)") {
		t.Errorf("61 numbers with the bound at 60: %.200q", reply)
	}
}

func commaNumber(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// While the gateway is paused, the intake reply says so, why in plain
// words, and that the messages wait until an admin fixes it or switches
// gateway; once another gateway is chosen the reply is the usual one.
func TestIntakeReplySaysWhenTheGatewayIsPaused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.db.BlockGateway(ctx, "dryrun", "sender_blocked (code 190): dryrun: Error validating access token: Session has expired"); err != nil {
		t.Fatal(err)
	}
	// Staff read what it means, not the provider's words.
	note := "⚠ Not sent yet: sending via dryrun is paused since 27 Nov 2026 14:30 IST. The sending account's login has expired or was refused; an admin must renew it."
	one := f.say(t, "telegram:1", "98765 43210")
	if !strings.HasPrefix(one, "Queued #1 for +919876543210.\n"+note+" It waits in the queue; it goes out once an admin fixes dryrun or switches to another gateway.") {
		t.Errorf("one number while paused:\n%s", one)
	}
	if strings.Contains(one, "sender_blocked") || strings.Contains(one, "code 190") || strings.Contains(one, "Error validating") {
		t.Errorf("the reply shows the error class or the provider's text: %s", one)
	}
	two := f.say(t, "telegram:1", "98765 43211 98765 43212")
	if !strings.HasPrefix(two, "Queued 2:\n") || !strings.Contains(two, note+" They wait in the queue; they go out once an admin fixes dryrun") {
		t.Errorf("two numbers while paused:\n%s", two)
	}
	again := f.say(t, "telegram:1", "98765 43210")
	if !strings.Contains(again, "already queued as #1") || !strings.Contains(again, note+" The message already queued waits in the queue; it goes out once") {
		t.Errorf("a number already queued while paused:\n%s", again)
	}

	if reply := f.say(t, "telegram:3", "/gateway use meta"); !strings.Contains(reply, "now go out via meta") {
		t.Fatalf("gateway use: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "98765 43213"); reply != "Queued #4 for +919876543213 via meta." {
		t.Errorf("after switching: %q", reply)
	}
}
