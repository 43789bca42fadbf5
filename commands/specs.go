package commands

import (
	"context"
	"slices"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/store"
)

// spec describes one command: the least role that may run it, its usage and
// help line, and what it does.
type spec struct {
	role  string
	usage string
	help  string
	run   func(r *Router, ctx context.Context, c call) ([]bot.Reply, error)
}

// specs lists every command by key ("gateway use" for subcommands), in the
// order /help shows them.
func specs() map[string]spec {
	return map[string]spec{
		"send":              {store.RoleStaff, "/send <phone> [saved message]", "queue a message to a customer (or just type the number); /send! sends again within 10 minutes", (*Router).send},
		"status":            {store.RoleStaff, "/status", "gateway, queue counts and warnings", (*Router).status},
		"whoami":            {store.RoleStaff, "/whoami", "your id and role", (*Router).whoami},
		"help":              {store.RoleStaff, "/help", "this list", (*Router).help},
		"queue":             {store.RoleOperator, "/queue [1h|24h|7d|30d|all]", "messages by status in a time window", (*Router).queueWindow},
		"recent":            {store.RoleOperator, "/recent [n]", "the newest messages", (*Router).recent},
		"failed":            {store.RoleOperator, "/failed", "failed messages with their errors", (*Router).failed},
		"retry":             {store.RoleOperator, "/retry <id>", "send a failed message again", (*Router).retry},
		"edit":              {store.RoleOperator, "/edit <id> <phone>", "change the number of a queued or failed message", (*Router).edit},
		"cancel":            {store.RoleOperator, "/cancel <id>", "cancel a queued or failed message", (*Router).cancel},
		"gateway":           {store.RoleOperator, "/gateway", "the active sending method", (*Router).gateway},
		"gateway use":       {store.RoleAdmin, "/gateway use <name>", "switch the sending method", (*Router).gatewayUse},
		"operators":         {store.RoleAdmin, "/operators", "who may use the bot", (*Router).operators},
		"operator add":      {store.RoleAdmin, "/operator add <telegram:id|whatsapp:number> <staff|operator|admin>", "let someone use the bot, or change their role", (*Router).operatorAdd},
		"operator remove":   {store.RoleAdmin, "/operator remove <identity>", "stop someone using the bot", (*Router).operatorRemove},
		"campaigns":         {store.RoleOperator, "/campaigns", "campaigns with their progress", (*Router).campaignList},
		"campaign":          {store.RoleOperator, "/campaign <id>", "one campaign's settings and progress", (*Router).campaignShow},
		"campaign new":      {store.RoleOperator, "/campaign new <name>", "create a campaign", (*Router).campaignNew},
		"campaign set":      {store.RoleOperator, "/campaign set <id> message=<name>|template=<name>:<lang>|flow=<id>|interval=<5s>|gateway=<name>", "what and how a campaign sends", (*Router).campaignSet},
		"import":            {store.RoleOperator, "/import <id> [sheet=<name>]", "caption of an attached .xlsx/.csv/.txt contact list", (*Router).importContacts},
		"campaign copy":     {store.RoleOperator, "/campaign copy <from-id> <to-id>", "reuse another campaign's contacts", (*Router).campaignCopy},
		"campaign start":    {store.RoleOperator, "/campaign start <id>", "start sending", campaignAction(store.ActionStart)},
		"campaign schedule": {store.RoleOperator, "/campaign schedule <id> <YYYY-MM-DD HH:MM>", "start at a time", (*Router).campaignSchedule},
		"campaign pause":    {store.RoleOperator, "/campaign pause <id>", "stop sending for now", campaignAction(store.ActionPause)},
		"campaign resume":   {store.RoleOperator, "/campaign resume <id>", "continue where it stopped", campaignAction(store.ActionResume)},
		"campaign cancel":   {store.RoleOperator, "/campaign cancel <id>", "stop for good", campaignAction(store.ActionCancel)},
		"campaign delete":   {store.RoleOperator, "/campaign delete <id>", "hide a stopped campaign (results are kept)", campaignAction(store.ActionDelete)},
		"campaign stats":    {store.RoleOperator, "/campaign stats <id>", "counts, progress and ETA", (*Router).campaignStats},
		"optout":            {store.RoleOperator, "/optout <phone> [reason]", "never send campaigns to this number again", (*Router).optOut},
		"campaign results":  {store.RoleOperator, "/campaign results <id>", "an .xlsx with each contact's result", (*Router).campaignResults},
	}
}

// helpOrder is the order of /help.
func helpOrder() []string {
	return []string{"send", "status", "whoami", "help", "queue", "recent", "failed", "retry", "edit", "cancel",
		"campaigns", "campaign", "campaign new", "campaign set", "import", "campaign copy", "campaign start",
		"campaign schedule", "campaign pause", "campaign resume", "campaign cancel", "campaign delete",
		"campaign stats", "campaign results", "optout",
		"gateway", "gateway use", "operators", "operator add", "operator remove"}
}

// Keys lists every command key.
func Keys() []string { return helpOrder() }

// Roles lists the roles from least to most powerful.
func Roles() []string { return []string{store.RoleStaff, store.RoleOperator, store.RoleAdmin} }

func rank(role string) int { return slices.Index(Roles(), role) }

// Allowed reports whether role may run the command with key. Unknown roles
// and unknown commands are refused.
func Allowed(role, key string) bool {
	s, ok := specs()[key]
	if !ok {
		return false
	}
	r := rank(role)
	return r >= 0 && r >= rank(s.role)
}
