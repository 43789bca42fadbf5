package commands_test

import (
	"testing"

	"github.com/messagebridge/messagebridge/commands"
)

// A name in quotes takes every quote SplitArgs takes: straight, curly and
// the low opening quote phones type for some languages.
func TestCutNameTakesEveryQuote(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`"Diwali offer" now`, "“Diwali offer” now", "„Diwali offer“ now", "”Diwali offer” now"} {
		name, tail, ok := commands.CutName(in)
		if !ok || name != "Diwali offer" || tail != "now" {
			t.Errorf("CutName(%q) = %q, %q, %v", in, name, tail, ok)
		}
	}
	if name, tail, ok := commands.CutName("Diwali offer"); !ok || name != "Diwali" || tail != "offer" {
		t.Errorf("unquoted: %q %q %v", name, tail, ok)
	}
	if _, _, ok := commands.CutName(`"Diwali offer`); ok {
		t.Error("an unclosed quote was taken")
	}
}
