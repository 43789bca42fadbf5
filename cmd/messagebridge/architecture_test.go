package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The layering of ../shared/docs/architecture.md, checked on the real
// import graph: the chat and the web are two faces of one set of rules and
// never import each other or the store; the store knows no rules; a chat
// transport is not a sender; the loop and the providers know no chat
// wording.
func TestImportsFollowTheLayering(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/messagebridge/messagebridge/"
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, mod) {
				imports[pkg] = append(imports[pkg], strings.TrimPrefix(imp, mod))
			}
		}
	}
	if len(imports["commands"]) == 0 || len(imports["webadmin"]) == 0 && len(imports) < 10 {
		t.Fatalf("the import graph looks empty: %v", imports)
	}
	under := func(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }
	// rules: a package (exactly, or a tree with "/...") must not import
	// another (exactly, or a tree).
	rules := []struct{ from, to, why string }{
		{"commands", "webadmin/...", "chat and web are two faces of one set of rules"},
		{"webadmin/...", "commands", "chat and web are two faces of one set of rules"},
		{"commands", "store", "the chat speaks to the operations layer, not to SQL"},
		{"commands", "store/settings", "the chat speaks to the operations layer, not to the settings table"},
		{"webadmin/...", "store", "the web speaks to the operations layer, not to SQL"},
		{"store", "commands/...", "persistence knows no rules"},
		{"store", "queue/...", "persistence knows no rules"},
		{"store", "gateways/...", "persistence knows no rules"},
		{"store", "bot/...", "persistence knows no rules"},
		{"store", "webadmin/...", "persistence knows no rules"},
		{"bot/...", "gateways/...", "a chat transport is not a sender"},
		{"gateways/...", "bot/...", "a sender is not a chat transport (cmd, which wires both, checks they fit)"},
		{"bot/...", "commands/...", "a chat transport carries text; shared text helpers live in store/words"},
		{"queue/...", "commands/...", "the loop knows no chat wording"},
		{"gateways/...", "commands/...", "the providers know no chat wording"},
	}
	match := func(pkg, pattern string) bool {
		if root, ok := strings.CutSuffix(pattern, "/..."); ok {
			return under(pkg, root)
		}
		return pkg == pattern
	}
	for pkg, deps := range imports {
		for _, dep := range deps {
			for _, r := range rules {
				if match(pkg, r.from) && match(dep, r.to) {
					t.Errorf("%s imports %s: %s", pkg, dep, r.why)
				}
			}
		}
	}
}
