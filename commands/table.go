package commands

import (
	"context"
	"slices"
	"strings"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
)

// handler runs one command.
type handler func(r *Router, ctx context.Context, c call) ([]bot.Reply, error)

// argForm says how Parse reads the words after a command's name.
type argForm int

const (
	// plainArgs are words cut at spaces.
	plainArgs argForm = iota
	// keyValueArgs are words too, but a quoted value after a key's = is
	// one word with its inner spaces: sheet="Mumbai Store" (SplitArgs).
	keyValueArgs
	// phoneArgs are /send's: keyValueArgs regrouped into the phone
	// numbers they hold (which may have spaces) and then, if present,
	// one saved message's name as message=<name>.
	phoneArgs
	// savedNameArgs start with a saved message's name, quoted when it has
	// spaces; Command.Text keeps the words after the command as typed.
	savedNameArgs
	// quotedNameArg is one name; quotes around all of it are dropped
	// (/campaign new "Diwali offer").
	quotedNameArg
)

// spec is one chat command, declared once: help, parsing, authorization
// and the "no such command" replies all read it.
type spec struct {
	// name is the command without its slash, with its subcommand after
	// one space: "status", "gateway use". A subcommand's first word (a
	// parent: "gateway", "operator") is a command of its own only when
	// the table also declares it alone.
	name string
	// args is the usage after the name: "<id> <phone>".
	args string
	// role is the least role that may run it.
	role string
	// help is its line in /help, after the usage.
	help string
	// helpNow, when set, ends the help line with what is in force now.
	helpNow func(r *Router, ctx context.Context) string
	// form is how its arguments are read.
	form argForm
	// force says it has a "!" form that sets Command.Force: /send!,
	// /gateway use!. Any other command typed with "!" does not exist.
	force bool
	// secretArgs says its arguments after the first may hold a secret
	// (/set <key> <value>): the audit log records only the first.
	secretArgs bool
	// run does it.
	run handler
}

// usage is how the command is typed: "/edit <id> <phone>".
func (s spec) usage() string {
	if s.args == "" {
		return "/" + s.name
	}
	return "/" + s.name + " " + s.args
}

// usageOf is the usage of the command named key.
func usageOf(key string) string {
	s, _ := commandTable().find(key)
	return s.usage()
}

// table is every chat command, in the order /help shows them.
type table []spec

// commandTable is the chat's one list of commands.
func commandTable() table {
	const staff, operator, admin = ops.RoleStaff, ops.RoleOperator, ops.RoleAdmin
	return table{
		{name: "send", args: "<phone> [saved message | [template:]<template> [header=… body=a|b name=value button1=…]]", role: staff, form: phoneArgs, force: true,
			help: "queue a message to a customer (or just type the number), or a template (a saved message of the same name wins unless written template:<name>); /send! sends again within", run: (*Router).send,
			helpNow: func(r *Router, ctx context.Context) string { return " " + humanDuration(r.ops.DedupeWindow(ctx)) }},
		{name: "status", role: staff, help: "gateway, queue counts and warnings", run: (*Router).status},
		{name: "mine", role: staff, help: "your last 10 messages: where each is, and what to do about failed ones", run: (*Router).mine},
		{name: "inbox", args: "[n]", role: staff, help: "the latest messages customers sent us (default 10, at most 50)", run: (*Router).inbox},
		// savedNameArgs keeps the text as typed, line breaks included.
		{name: "reply", args: "<phone> <text>", role: staff, form: savedNameArgs,
			help: "answer a customer with free text (on the Cloud API only within 24 hours of their last message)", run: (*Router).reply},
		{name: "whoami", role: staff, help: "your id and role", run: (*Router).whoami},
		{name: "help", role: staff, help: "this list", run: (*Router).help},
		{name: "queue", args: "[1h|24h|7d|30d|all]", role: operator, help: "messages by status in a time window", run: (*Router).queueWindow},
		{name: "recent", args: "[n]", role: operator, help: "the newest messages", run: (*Router).recent},
		{name: "failed", role: operator, help: "failed messages with their errors", run: (*Router).failed},
		{name: "retry", args: "<id>", role: operator, help: "send a failed message again", run: (*Router).retry},
		{name: "edit", args: "<id> <phone>", role: operator, help: "change the number of a queued or failed message", run: (*Router).edit},
		{name: "cancel", args: "<id>", role: operator, help: "cancel a queued or failed message", run: (*Router).cancel},
		{name: "campaigns", role: operator, help: "campaigns with their progress", run: (*Router).campaignList},
		{name: "campaign", args: "<id>", role: operator, help: "one campaign's settings and progress", run: (*Router).campaignShow},
		{name: "campaign new", args: "<name>", role: operator, form: quotedNameArg, help: "create a campaign", run: (*Router).campaignNew},
		{name: "campaign set", args: "<id> message=<name>|template=<saved name or name:lang> [header=<text or saved image/video>] [body={{name}}|Diwali] [<param>=<value>] [button1=<value>]|flow=<saved name or id>|interval=<5s>|gateway=<name>", role: operator, form: keyValueArgs,
			help: "what and how a campaign sends", run: (*Router).campaignSet},
		{name: "import", args: `<id> [sheet="<name>"]`, role: operator, form: keyValueArgs, help: "caption of an attached .xlsx/.csv/.tsv/.txt contact list", run: (*Router).importContacts},
		{name: "campaign copy", args: "<from-id> <to-id>", role: operator, help: "reuse another campaign's contacts", run: (*Router).campaignCopy},
		{name: "campaign start", args: "<id>", role: operator, help: "start sending", run: campaignAction(ops.ActionStart)},
		{name: "campaign schedule", args: "<id> <YYYY-MM-DD HH:MM>", role: operator, help: "start at a time", run: (*Router).campaignSchedule},
		{name: "campaign pause", args: "<id>", role: operator, help: "stop sending for now", run: campaignAction(ops.ActionPause)},
		{name: "campaign resume", args: "<id>", role: operator, help: "continue where it stopped", run: campaignAction(ops.ActionResume)},
		{name: "campaign cancel", args: "<id>", role: operator, help: "stop for good", run: campaignAction(ops.ActionCancel)},
		{name: "campaign delete", args: "<id>", role: operator, help: "hide a stopped campaign (results are kept)", run: campaignAction(ops.ActionDelete)},
		{name: "campaign stats", args: "<id>", role: operator, help: "counts, progress and ETA", run: (*Router).campaignStats},
		{name: "campaign results", args: "<id>", role: operator, help: "an .xlsx with each contact's result", run: (*Router).campaignResults},
		{name: "optout", args: "<phone> [reason]", role: operator, help: "never send campaigns to this number again", run: (*Router).optOut},
		{name: "flows", role: operator, help: "the saved flows, by name (admins manage them on the admin page)", run: catalogList(ops.CatalogFlow)},
		{name: "templates", role: operator, help: "the saved templates, by name, with language, header, parameters and status", run: catalogList(ops.CatalogTemplate)},
		{name: "templates sync", role: operator, help: "read the templates from the WhatsApp Business Account (Cloud API): new, changed and gone ones", run: (*Router).templatesSync},
		// The second way to type /save is part of its usage.
		{name: "save", args: "<name> [caption] · /save <name> text <message>", role: operator, form: savedNameArgs,
			help: "caption of an attached image or video (JPEG, PNG, MP4, 3GP), or a text: keep it as a saved message; quote names with spaces: \"Diwali offer\"", run: (*Router).save},
		{name: "messages", args: "[all]", role: operator, help: "the saved messages (all: archived ones too)", run: (*Router).messages},
		{name: "message", args: "<name>", role: operator, form: savedNameArgs, help: "preview a saved message, file included", run: (*Router).messagePreview},
		{name: "message replace", args: "<name>", role: operator, form: savedNameArgs, help: "caption of a new image or video for it: the name and caption stay", run: (*Router).messageReplace},
		{name: "message archive", args: "<name>", role: operator, form: savedNameArgs, help: "stop offering it for sends (kept)", run: messageState(ops.SavedArchived)},
		{name: "message restore", args: "<name>", role: operator, form: savedNameArgs, help: "offer an archived message again", run: messageState(ops.SavedActive)},
		{name: "message delete", args: "<name>", role: operator, form: savedNameArgs, help: "delete it for good (sends already queued still go)", run: messageState(ops.SavedDeleted)},
		{name: "gateway", role: operator, help: "the active sending method", run: (*Router).gateway},
		{name: "gateway use", args: "<name>", role: admin, force: true,
			help: "switch the sending method; /gateway use! <name> switches even to a gateway that is not set up, or that a scheduled or running campaign cannot use", run: (*Router).gatewayUse},
		{name: "settings", args: "[group]", role: operator, help: "every setting with its value (secrets masked)", run: (*Router).settingsList},
		{name: "set", args: "<key> <value>", role: operator, secretArgs: true, help: "change a setting (secrets only on the admin page)", run: (*Router).settingSet},
		{name: "media cleanup", role: admin, help: "delete the media files nothing uses any more", run: (*Router).mediaCleanup},
		{name: "operators", role: admin, help: "who may use the bot", run: (*Router).operators},
		{name: "operator add", args: "<telegram:id|whatsapp:number> <staff|operator|admin>", role: admin, help: "let someone use the bot, or change their role", run: (*Router).operatorAdd},
		{name: "operator remove", args: "<identity>", role: admin, help: "stop someone using the bot", run: (*Router).operatorRemove},
	}
}

// find returns the command named key ("gateway use").
func (t table) find(key string) (spec, bool) {
	i := slices.IndexFunc(t, func(s spec) bool { return s.name == key })
	if i < 0 {
		return spec{}, false
	}
	return t[i], true
}

// isParent reports whether name has subcommands: "gateway", "operator".
func (t table) isParent(name string) bool {
	return slices.ContainsFunc(t, func(s spec) bool { return strings.HasPrefix(s.name, name+" ") })
}

// known reports whether /name exists: a command, or a parent of some.
func (t table) known(name string) bool {
	_, ok := t.find(name)
	return ok || t.isParent(name)
}

// subcommands lists the commands under a parent that role may run, in
// table order.
func (t table) subcommands(parent, role string) []spec {
	var out []spec
	for _, s := range t {
		if strings.HasPrefix(s.name, parent+" ") && allowed(role, s) {
			out = append(out, s)
		}
	}
	return out
}

// nearest is the command role may run that name was most likely meant to
// be: one or two typing slips away ("stauts"), or the command itself
// typed with a "!" it does not take ("campaign start!"). It is "" when
// nothing is close.
func (t table) nearest(name, role string) string {
	name = strings.TrimSuffix(name, "!")
	if name == "" || len(name) > 40 {
		return ""
	}
	limit := 2
	if len([]rune(name)) <= 4 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, s := range t {
		if !allowed(role, s) {
			continue
		}
		candidates := []string{s.name}
		if parent, _, ok := strings.Cut(s.name, " "); ok {
			candidates = append(candidates, parent)
		}
		for _, c := range candidates {
			if d := typingDistance(name, c); d < bestDist {
				best, bestDist = c, d
			}
		}
	}
	return best
}

// typingDistance counts the slips (a letter added, dropped, changed, or
// two swapped) between a and b: the optimal string alignment distance.
func typingDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

// Keys lists every command key, in the order /help shows them.
func Keys() []string {
	t := commandTable()
	keys := make([]string, len(t))
	for i, s := range t {
		keys[i] = s.name
	}
	return keys
}

// Roles lists the roles from least to most powerful.
func Roles() []string { return ops.Roles() }

func rank(role string) int { return slices.Index(Roles(), role) }

// allowed reports whether role may run s. Unknown roles are refused.
func allowed(role string, s spec) bool {
	r := rank(role)
	return r >= 0 && r >= rank(s.role)
}

// Allowed reports whether role may run the command with key. Unknown roles
// and unknown commands are refused.
func Allowed(role, key string) bool {
	s, ok := commandTable().find(key)
	return ok && allowed(role, s)
}
