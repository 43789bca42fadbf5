package commands_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/commands"
)

// Every command, given a very long word where any argument goes, answers
// with at most a short prefix of it: a reply never echoes bad input in
// full, whatever the command.
func TestRepliesQuoteOnlyAShortPrefixOfInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	say := func(text string) string { return f.say(t, "telegram:3", text) }
	if r := say("/campaign new Diwali"); !strings.Contains(r, "#1") {
		t.Fatalf("campaign new: %s", r)
	}
	// Far longer than any name, number, key or id.
	junks := map[string]string{
		"digits": strings.Repeat("9", 1000),
		"mixed":  strings.Repeat("9q", 500),
	}
	const longest = 60 // characters of input a reply may repeat
	check := func(kind, junk, text string) {
		t.Helper()
		if r := say(text); echoes(r, junk, longest) {
			t.Errorf("%s input to %q: the reply repeats more than %d characters of it: %.200s…", kind, clipText(text, 40), longest, r)
		}
	}
	for kind, junk := range junks {
		check(kind, junk, junk)
		check(kind, junk, "/"+junk)
		for _, key := range commands.Keys() {
			for _, args := range []string{
				junk,
				`"` + junk + `"`,
				"1 " + junk,
				"1 2 " + junk,
				junk + " staff",
				"1 " + junk + "=1",
				"1 message=" + junk,
				`1 message="` + junk + `"`,
				"1 gateway=" + junk,
				"1 template=" + junk,
				"1 sheet=" + junk,
				"telegram:" + junk + " staff",
				"whatsapp:" + junk + " staff",
				"intake.message " + junk,
				"9876543210 " + junk,
				"name text " + junk,
			} {
				check(kind, junk, "/"+key+" "+args)
			}
		}
	}
}

// echoes reports whether reply repeats more than n characters of input,
// an input made of a short pattern repeated after at most 2 characters of
// lead: every run of n+1 of its characters is one of the first few.
func echoes(reply, input string, n int) bool {
	for k := 0; k < 4 && k+n+1 <= len(input); k++ {
		if strings.Contains(reply, input[k:k+n+1]) {
			return true
		}
	}
	return false
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("…(%d)", len(s))
}
