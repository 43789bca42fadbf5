package commands

import (
	"slices"
	"strings"
	"testing"
)

// The command table is well formed: one declaration per name, each with a
// role, a help line and a handler; a subcommand's parent is a word of its
// own; the usage starts with the name; and a "!" form is mentioned in the
// help, so that /help shows every way a command can be typed.
func TestCommandTableIsWellFormed(t *testing.T) {
	t.Parallel()
	tab := commandTable()
	seen := map[string]bool{}
	for _, s := range tab {
		if seen[s.name] {
			t.Errorf("%q is declared twice", s.name)
		}
		seen[s.name] = true
		if s.name != strings.ToLower(s.name) || strings.ContainsAny(s.name, "!@/") || len(strings.Fields(s.name)) > 2 || strings.Join(strings.Fields(s.name), " ") != s.name {
			t.Errorf("%q is not a lower-case name with at most one subcommand", s.name)
		}
		if !slices.Contains(Roles(), s.role) {
			t.Errorf("%s: role %q is not one of %v", s.name, s.role, Roles())
		}
		if s.help == "" || s.run == nil {
			t.Errorf("%s: no help line or no handler", s.name)
		}
		if !strings.HasPrefix(s.usage(), "/"+s.name) {
			t.Errorf("%s: usage %q", s.name, s.usage())
		}
		if s.force && !strings.Contains(s.help, "/"+s.name+"!") {
			t.Errorf("%s has a ! form its help line does not show: %q", s.name, s.help)
		}
	}
	for _, s := range tab {
		if parent, _, ok := strings.Cut(s.name, " "); ok && seen[parent] {
			if p, _ := tab.find(parent); p.force {
				t.Errorf("%s: a parent with a ! form would hide its subcommands' ones", parent)
			}
		}
	}
}

// The nearest command is one or two slips away, among those the role may
// run, and a command typed with a "!" it does not take is met by itself.
func TestNearestCommand(t *testing.T) {
	t.Parallel()
	tab := commandTable()
	for _, tt := range []struct{ typed, role, want string }{
		{"stauts", "staff", "status"},
		{"sned", "staff", "send"},
		{"campagins", "operator", "campaigns"},
		{"campaign start!", "operator", "campaign start"},
		{"status!", "staff", "status"},
		{"gatway", "operator", "gateway"},
		{"gatway", "staff", ""},      // staff may not use /gateway
		{"operatrs", "operator", ""}, // nor operators /operators
		{"frobnicate", "admin", ""},  // nothing close
		{"", "admin", ""},
		{"x", "admin", ""},
	} {
		if got := tab.nearest(tt.typed, tt.role); got != tt.want {
			t.Errorf("nearest(%q, %s) = %q, want %q", tt.typed, tt.role, got, tt.want)
		}
	}
	if d := typingDistance("ab", "ba"); d != 1 {
		t.Errorf("a swap counts %d slips", d)
	}
	if d := typingDistance("नमस्ते", "नमस्ते"); d != 0 {
		t.Errorf("the same word counts %d slips", d)
	}
}
