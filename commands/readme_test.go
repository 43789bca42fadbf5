package commands

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's chat command lists are the command table's: a command
// added, removed, renamed or given another role in code without the README
// fails here, and so does a README line naming a command that does not
// exist.
func TestREADMECommandListsMatchTheTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	problems, err := readmeCommandProblems(string(readme), commandTable())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// The check itself finds each kind of mistake.
func TestREADMECommandCheckFindsMistakes(t *testing.T) {
	t.Parallel()
	tab := table{
		{name: "send", args: "<phone>", role: "staff", force: true},
		{name: "status", role: "staff"},
		{name: "campaign", args: "<id>", role: "operator"},
		{name: "campaign start", args: "<id>", role: "operator"},
		{name: "campaign pause", args: "<id>", role: "operator"},
		{name: "message", args: "<name>", role: "operator", form: savedNameArgs},
		{name: "message archive", args: "<name>", role: "operator", form: savedNameArgs},
		{name: "gateway use", args: "<name>", role: "admin"},
	}
	readme := "intro `/nothing` outside the lists\n" +
		"<!-- chat commands: begin -->\n" +
		"| command | who | what |\n|---|---|---|\n" +
		"| `/send <phone>` | staff | send |\n" +
		"| `/status` | operator | wrong role |\n" +
		"| `/gateway use! <name>` | admin | no ! form |\n" +
		"<!-- chat commands: end -->\n" +
		"<!-- chat commands: begin -->\n" +
		"**Campaigns** (operators):\n\n| command | what |\n|---|---|\n" +
		"| `/campaign start\\|stop <id>` | a subcommand that does not exist |\n" +
		"| `/frobnicate` | a command that does not exist |\n" +
		"<!-- chat commands: end -->\n" +
		"<!-- chat commands: begin -->\n```\n/message archive thanks\n/message \"Diwali offer\"   → a name, not a subcommand\n```\n<!-- chat commands: end -->\n"
	got, err := readmeCommandProblems(readme, tab)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md says /status needs the operator role; the command table says staff",
		"README.md lists /gateway use!, which has no ! form",
		"README.md lists /campaign stop, which the command table lacks",
		"README.md lists /frobnicate, which the command table lacks",
		"README.md does not list /send!",
		"README.md does not list /campaign",
		"README.md does not list /campaign pause",
		"README.md does not list /gateway use", // its one mention was refused
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("problems found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := readmeCommandProblems("no lists here", tab); err == nil {
		t.Fatal("a README without the marked lists passed")
	}
}

// A mention is "/name" or "/name sub" in the README, with the subcommands
// a|b|c it may offer as alternatives.
var mention = regexp.MustCompile(`(?:^|[^\w./<])/([a-z]+!?)((?: [a-z]+!?(?:\|[a-z]+!?)*)?)`)

// defaultRole is the role a table without a "who" column is under:
// "**Campaigns** (operators):".
var defaultRole = regexp.MustCompile(`^\*\*[^*]+\*\* \((staff|operators|admins)\):`)

// readmeCommandProblems checks the README's lists of chat commands, the
// parts between <!-- chat commands: begin --> and <!-- chat commands:
// end -->, against the table: Markdown tables (the first column names the
// commands, a "who" column the least role) and code blocks (each line's
// commands). Every command and "!" form of the table must be listed, and
// every command listed must exist with the role said.
func readmeCommandProblems(readme string, tab table) ([]string, error) {
	const begin, end = "<!-- chat commands: begin -->", "<!-- chat commands: end -->"
	var problems []string
	listed := map[string]bool{}
	regions := 0
	for {
		i := strings.Index(readme, begin)
		if i < 0 {
			break
		}
		j := strings.Index(readme[i:], end)
		if j < 0 {
			return nil, fmt.Errorf("README.md has %q without %q after it", begin, end)
		}
		region := readme[i+len(begin) : i+j]
		readme = readme[i+j+len(end):]
		regions++

		role, who, inCode := "", -1, false
		for _, line := range strings.Split(region, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "```") {
				inCode = !inCode
				continue
			}
			if m := defaultRole.FindStringSubmatch(line); m != nil {
				role = strings.TrimSuffix(m[1], "s")
			}
			var commands, said string
			switch {
			case inCode:
				commands = line
			case strings.HasPrefix(line, "|"):
				cells := splitRow(line)
				if len(cells) == 0 || strings.HasPrefix(cells[0], "---") {
					continue
				}
				if cells[0] == "command" {
					who = slices.Index(cells, "who")
					continue
				}
				commands, said = cells[0], role
				if who >= 0 && who < len(cells) {
					said = strings.TrimSuffix(strings.Fields(cells[who] + " x")[0], "s")
				}
			default:
				continue
			}
			for _, m := range mention.FindAllStringSubmatch(commands, -1) {
				for _, key := range resolveMention(tab, m[1], strings.TrimSpace(m[2]), &problems) {
					listed[key] = true
					s, _ := tab.find(strings.TrimSuffix(key, "!"))
					if said != "" && s.role != said {
						problems = append(problems, fmt.Sprintf("README.md says /%s needs the %s role; the command table says %s", key, said, s.role))
					}
				}
			}
		}
	}
	if regions == 0 {
		return nil, fmt.Errorf("README.md has no chat command lists between %q and %q", begin, end)
	}
	for _, s := range tab {
		if !listed[s.name] {
			problems = append(problems, "README.md does not list /"+s.name)
		}
		if s.force && !listed[s.name+"!"] {
			problems = append(problems, "README.md does not list /"+s.name+"!")
		}
	}
	return problems, nil
}

// resolveMention turns "/campaign start|pause" into the keys it names
// ("campaign start", "campaign pause"; "send!" for a "!" form), noting
// those that do not exist.
func resolveMention(tab table, name, subs string, problems *[]string) []string {
	var keys []string
	add := func(key string, bang bool) {
		s, ok := tab.find(key)
		switch {
		case !ok:
			*problems = append(*problems, fmt.Sprintf("README.md lists /%s, which the command table lacks", key))
		case bang && !s.force:
			*problems = append(*problems, fmt.Sprintf("README.md lists /%s!, which has no ! form", key))
		case bang:
			keys = append(keys, key, key+"!")
		default:
			keys = append(keys, key)
		}
	}
	bare, bang := strings.CutSuffix(name, "!")
	if subs == "" || !tab.isParent(bare) {
		add(bare, bang)
		return keys
	}
	for _, sub := range strings.Split(subs, "|") {
		sub, subBang := strings.CutSuffix(sub, "!")
		if s, ok := tab.find(bare); ok && s.form == savedNameArgs {
			if _, ok := tab.find(bare + " " + sub); !ok {
				add(bare, bang) // /message thanks: a saved message's name
				continue
			}
		}
		add(bare+" "+sub, subBang)
	}
	return keys
}

// splitRow cuts a Markdown table row into its cells, trimmed, with
// escaped pipes (\|) kept in their cell as plain ones.
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}
