package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/commands/ops"
)

// Saved flows and templates are listed in the chat and used by name in
// /campaign set, in any case and quoted when they hold spaces.
func TestCatalogFromChat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	admin := ops.Actor{Identity: "web:asha", Role: ops.RoleAdmin, Transport: "web"}

	if reply := f.say(t, "telegram:2", "/flows"); reply != "No saved flows yet. Admins add them on the admin page; until then use flow=<flow id>." {
		t.Fatalf("/flows with none: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/templates"); !strings.Contains(reply, "No saved templates yet") || !strings.Contains(reply, "template=<name>:<language>") {
		t.Fatalf("/templates with none: %q", reply)
	}
	for _, e := range []ops.CatalogEntry{
		{Kind: ops.CatalogFlow, Name: "Welcome flow", ExternalID: "555000111"},
		{Kind: ops.CatalogFlow, Name: "feedback", ExternalID: "sr-feedback", Language: "hi"},
		{Kind: ops.CatalogTemplate, Name: "Order update", ExternalID: "order_update_v2", Language: "en_US", Params: 2},
		{Kind: ops.CatalogTemplate, Name: "thanks", ExternalID: "thank_you", Language: "hi"},
	} {
		if _, err := f.ops.PutCatalogEntry(ctx, admin, e); err != nil {
			t.Fatal(err)
		}
	}
	want := "Saved flows (2):\n• feedback → sr-feedback · hi\n• \"welcome flow\" → 555000111\n" +
		"Use one with /campaign set <id> flow=<name>. Admins manage this list on the admin page."
	if reply := f.say(t, "telegram:2", "/flows"); reply != want {
		t.Fatalf("/flows:\n%s\nwant:\n%s", reply, want)
	}
	want = "Saved templates (2):\n• \"order update\" → order_update_v2 · en_US · 2 params · hand-made\n• thanks → thank_you · hi · no params · hand-made\n" +
		"Use one with /campaign set <id> template=<name>. /templates sync reads them from the account; admins add others on the admin page."
	if reply := f.say(t, "telegram:3", "/templates"); reply != want {
		t.Fatalf("/templates:\n%s\nwant:\n%s", reply, want)
	}
	if reply := f.say(t, "telegram:2", "/flows all"); reply != "Usage: /flows" {
		t.Fatalf("/flows with an argument: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "/templates"); !strings.Contains(reply, "needs the operator role") {
		t.Fatalf("/templates as staff: %q", reply)
	}

	f.say(t, "telegram:2", "/campaign new Named")
	f.sayWith(t, "telegram:2", "/import 1", "list.csv", []byte("Name,Mobile,City\nAsha,9876543210,Pune\n"))
	for _, tc := range []struct{ text, reply, sends string }{
		{`/campaign set 1 flow="WELCOME flow"`, `Campaign #1: set flow=WELCOME flow.`, "Sends: flow 555000111"},
		{`/campaign set 1 flow=Feedback`, `Campaign #1: set flow=Feedback.`, "Sends: flow sr-feedback"},
		{`/campaign set 1 flow=1234567890`, `Campaign #1: set flow=1234567890.`, "Sends: flow 1234567890"},
		{`/campaign set 1 template="order update" params={name},{City}`, `Campaign #1: set template=order update params={name},{City}.`,
			"Sends: template order_update_v2:en_US {name},{City}"},
		{`/campaign set 1 template=Thanks`, `Campaign #1: set template=Thanks.`, "Sends: template thank_you:hi"},
		{`/campaign set 1 template=thanks:en`, `Campaign #1: set template=thanks:en.`, "Sends: template thank_you:en"},
		{`/campaign set 1 template=order_ready:en_US params={name}`, `Campaign #1: set template=order_ready:en_US params={name}.`,
			"Sends: template order_ready:en_US {name}"},
	} {
		if reply := f.say(t, "telegram:2", tc.text); reply != tc.reply {
			t.Errorf("%s: %q, want %q", tc.text, reply, tc.reply)
		}
		if reply := f.say(t, "telegram:2", "/campaign 1"); !strings.Contains(reply, tc.sends) {
			t.Errorf("after %s: %q, want %q", tc.text, reply, tc.sends)
		}
	}
	for text, want := range map[string]string{
		"/campaign set 1 flow=welcome":                       `There is no saved flow called "welcome". Saved flows: feedback, "welcome flow". A flow that is not saved is given by its id`,
		"/campaign set 1 template=order":                     `There is no saved template called "order". Saved templates: "order update", thanks. A template that is not saved is given as template=<name>:<language>`,
		`/campaign set 1 template="order update"`:            "order update needs 2 body values: no body value was given",
		"/campaign set 1 template=thanks params={name}":      "thanks takes no values: 1 body value was given",
		"/campaign set 1 template=thanks:":                   "template=<saved name> (see /templates) or template=<name>:<language>",
		"/campaign set 1 template=:en":                       "template=<saved name> (see /templates)",
		"/campaign set 1 flow=welcome template=thanks":       "A campaign sends one thing",
		"/campaign set 1 template=order_ready:english":       `"english" is not a WhatsApp language code`,
		`/campaign set 1 template="order update" params=a,b`: "Campaign #1: set",
	} {
		if reply := f.say(t, "telegram:2", text); !strings.Contains(reply, want) {
			t.Errorf("%s: %q, want %q", text, reply, want)
		}
	}
}
