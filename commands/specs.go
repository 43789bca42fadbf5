package commands

import (
	"context"
	"slices"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
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
		"send":              {ops.RoleStaff, "/send <phone> [saved message]", "queue a message to a customer (or just type the number); /send! sends again within", (*Router).send},
		"status":            {ops.RoleStaff, "/status", "gateway, queue counts and warnings", (*Router).status},
		"mine":              {ops.RoleStaff, "/mine", "your last 10 messages: where each is, and what to do about failed ones", (*Router).mine},
		"whoami":            {ops.RoleStaff, "/whoami", "your id and role", (*Router).whoami},
		"help":              {ops.RoleStaff, "/help", "this list", (*Router).help},
		"queue":             {ops.RoleOperator, "/queue [1h|24h|7d|30d|all]", "messages by status in a time window", (*Router).queueWindow},
		"recent":            {ops.RoleOperator, "/recent [n]", "the newest messages", (*Router).recent},
		"failed":            {ops.RoleOperator, "/failed", "failed messages with their errors", (*Router).failed},
		"retry":             {ops.RoleOperator, "/retry <id>", "send a failed message again", (*Router).retry},
		"edit":              {ops.RoleOperator, "/edit <id> <phone>", "change the number of a queued or failed message", (*Router).edit},
		"cancel":            {ops.RoleOperator, "/cancel <id>", "cancel a queued or failed message", (*Router).cancel},
		"gateway":           {ops.RoleOperator, "/gateway", "the active sending method", (*Router).gateway},
		"gateway use":       {ops.RoleAdmin, "/gateway use <name>", "switch the sending method", (*Router).gatewayUse},
		"settings":          {ops.RoleOperator, "/settings [group]", "every setting with its value (secrets masked)", (*Router).settingsList},
		"set":               {ops.RoleOperator, "/set <key> <value>", "change a setting (secrets only on the admin page)", (*Router).settingSet},
		"operators":         {ops.RoleAdmin, "/operators", "who may use the bot", (*Router).operators},
		"operator add":      {ops.RoleAdmin, "/operator add <telegram:id|whatsapp:number> <staff|operator|admin>", "let someone use the bot, or change their role", (*Router).operatorAdd},
		"operator remove":   {ops.RoleAdmin, "/operator remove <identity>", "stop someone using the bot", (*Router).operatorRemove},
		"campaigns":         {ops.RoleOperator, "/campaigns", "campaigns with their progress", (*Router).campaignList},
		"campaign":          {ops.RoleOperator, "/campaign <id>", "one campaign's settings and progress", (*Router).campaignShow},
		"campaign new":      {ops.RoleOperator, "/campaign new <name>", "create a campaign", (*Router).campaignNew},
		"campaign set":      {ops.RoleOperator, "/campaign set <id> message=<name>|template=<saved name or name:lang>|flow=<saved name or id>|interval=<5s>|gateway=<name>", "what and how a campaign sends", (*Router).campaignSet},
		"import":            {ops.RoleOperator, "/import <id> [sheet=\"<name>\"]", "caption of an attached .xlsx/.csv/.tsv/.txt contact list", (*Router).importContacts},
		"campaign copy":     {ops.RoleOperator, "/campaign copy <from-id> <to-id>", "reuse another campaign's contacts", (*Router).campaignCopy},
		"campaign start":    {ops.RoleOperator, "/campaign start <id>", "start sending", campaignAction(ops.ActionStart)},
		"campaign schedule": {ops.RoleOperator, "/campaign schedule <id> <YYYY-MM-DD HH:MM>", "start at a time", (*Router).campaignSchedule},
		"campaign pause":    {ops.RoleOperator, "/campaign pause <id>", "stop sending for now", campaignAction(ops.ActionPause)},
		"campaign resume":   {ops.RoleOperator, "/campaign resume <id>", "continue where it stopped", campaignAction(ops.ActionResume)},
		"campaign cancel":   {ops.RoleOperator, "/campaign cancel <id>", "stop for good", campaignAction(ops.ActionCancel)},
		"campaign delete":   {ops.RoleOperator, "/campaign delete <id>", "hide a stopped campaign (results are kept)", campaignAction(ops.ActionDelete)},
		"campaign stats":    {ops.RoleOperator, "/campaign stats <id>", "counts, progress and ETA", (*Router).campaignStats},
		"optout":            {ops.RoleOperator, "/optout <phone> [reason]", "never send campaigns to this number again", (*Router).optOut},
		"campaign results":  {ops.RoleOperator, "/campaign results <id>", "an .xlsx with each contact's result", (*Router).campaignResults},
		"flows":             {ops.RoleOperator, "/flows", "the saved flows, by name (admins manage them on the admin page)", catalogList(ops.CatalogFlow)},
		"templates":         {ops.RoleOperator, "/templates", "the saved templates, by name, with language and parameters", catalogList(ops.CatalogTemplate)},
		"save":              {ops.RoleOperator, "/save <name> [caption] · /save <name> text <message>", "caption of an attached image or video (JPEG, PNG, MP4, 3GP), or a text: keep it as a saved message; quote names with spaces: \"Diwali offer\"", (*Router).save},
		"messages":          {ops.RoleOperator, "/messages [all]", "the saved messages (all: archived ones too)", (*Router).messages},
		"message":           {ops.RoleOperator, "/message <name>", "preview a saved message, file included", (*Router).messagePreview},
		"message replace":   {ops.RoleOperator, "/message replace <name>", "caption of a new image or video for it: the name and caption stay", (*Router).messageReplace},
		"message archive":   {ops.RoleOperator, "/message archive <name>", "stop offering it for sends (kept)", messageState(ops.SavedArchived)},
		"message restore":   {ops.RoleOperator, "/message restore <name>", "offer an archived message again", messageState(ops.SavedActive)},
		"message delete":    {ops.RoleOperator, "/message delete <name>", "delete it for good (sends already queued still go)", messageState(ops.SavedDeleted)},
		"media cleanup":     {ops.RoleAdmin, "/media cleanup", "delete the media files nothing uses any more", (*Router).mediaCleanup},
	}
}

// helpOrder is the order of /help.
func helpOrder() []string {
	return []string{"send", "status", "mine", "whoami", "help", "queue", "recent", "failed", "retry", "edit", "cancel",
		"campaigns", "campaign", "campaign new", "campaign set", "import", "campaign copy", "campaign start",
		"campaign schedule", "campaign pause", "campaign resume", "campaign cancel", "campaign delete",
		"campaign stats", "campaign results", "optout", "flows", "templates",
		"save", "messages", "message", "message replace", "message archive", "message restore", "message delete",
		"gateway", "gateway use", "settings", "set", "media cleanup", "operators", "operator add", "operator remove"}
}

// Keys lists every command key.
func Keys() []string { return helpOrder() }

// Roles lists the roles from least to most powerful.
func Roles() []string { return ops.Roles() }

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
