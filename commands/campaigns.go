package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/store/words"
)

// campaignID reads the campaign id in args[0].
func campaignID(args []string, usage string) (int64, error) {
	if len(args) < 1 {
		return 0, userErrorf("Usage: %s", usage)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, userErrorf("%q is not a campaign id. Usage: %s", words.Cut(args[0], 40), usage)
	}
	return id, nil
}

func (r *Router) campaignNew(ctx context.Context, c call) ([]bot.Reply, error) {
	camp, err := r.ops.CreateCampaign(ctx, c.who, strings.Join(c.cmd.Args, " "))
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Campaign #%d %q created.\nNext: attach a contact list with the caption /import %d, then /campaign set %d message=<saved message> (or template=<name>, flow=<name>: /templates and /flows list the saved ones), then /campaign start %d.",
		camp.ID, camp.Name, camp.ID, camp.ID, camp.ID)), nil
}

func (r *Router) campaignSet(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "/campaign set <id> message=<name> | template=<saved name>[:<lang>] or <name>:<lang> [header=<text or saved image/video>] [body=a|b] [<name>=<value>] [button1=<value>] | flow=<saved name or flow id> | interval=<duration> | gateway=<name>"
	id, err := campaignID(c.cmd.Args, usage)
	if err != nil {
		return nil, err
	}
	if len(c.cmd.Args) < 2 {
		return nil, userErrorf("Usage: %s", usage)
	}
	var ch ops.CampaignChange
	var values []string
	var changed []string
	for _, kv := range c.cmd.Args[1:] {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || val == "" {
			return nil, userErrorf("%q is not key=value. Usage: %s", words.Cut(kv, 40), usage)
		}
		switch strings.ToLower(key) {
		case "message":
			ch.SavedMessage = &val
		case "template":
			// A saved template's name (the saved language, or another
			// after a colon), or a template's own name and language.
			name, lang, hasLang := strings.Cut(val, ":")
			if name == "" || hasLang && lang == "" {
				return nil, userErrorf("template=<saved name> (see /templates) or template=<name>:<language>, e.g. template=order_update:en")
			}
			ch.Template = &ops.Template{Name: name, Language: lang}
		case "flow":
			ch.Flow = &val
		case "interval":
			d, err := parseInterval(val)
			if err != nil {
				return nil, err
			}
			ch.Interval = &d
		case "gateway":
			ch.Gateway = &val
		default:
			// Template values: header=, body=, params=, button1=, or a
			// named parameter (see ops.ParseTemplateValues).
			if _, err := ops.ParseTemplateValues([]string{kv}); err != nil {
				return nil, userErrorf("Unknown setting %q. Usage: %s", words.Cut(key, 40), usage)
			}
			values = append(values, kv)
		}
		changed = append(changed, words.Cut(kv, 60))
	}
	if values != nil {
		if ch.Template == nil {
			key, _, _ := strings.Cut(strings.ToLower(values[0]), "=")
			if key != "header" && key != "body" && key != "params" && !strings.HasPrefix(key, "button") {
				return nil, userErrorf("Unknown setting %q. Usage: %s", words.Cut(key, 40), usage)
			}
			return nil, userErrorf("%s goes with template=, e.g. template=diwali_offer header=\"Diwali poster\" body={{name}}|Diwali", words.Cut(values[0], 40))
		}
		t, err := ops.ParseTemplateValues(values)
		if err != nil {
			return nil, err
		}
		t.Name, t.Language = ch.Template.Name, ch.Template.Language
		ch.Template = &t
	}
	if _, err := r.ops.SetCampaign(ctx, c.who, id, ch); err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Campaign #%d: set %s.", id, strings.Join(changed, " "))), nil
}

// parseInterval reads a campaign interval such as 5s, 2m or 1h.
func parseInterval(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		if durationShape.MatchString(v) {
			// Well formed but beyond what a duration holds.
			return 0, userErrorf("interval=%s is too long: the longest allowed is %s between two messages.", words.Cut(v, 20), ops.DurationText(ops.MaxCampaignInterval))
		}
		return 0, userErrorf("interval=%s is not a duration such as 5s, 2m or 1h.", words.Cut(v, 20))
	}
	return d, nil
}

func (r *Router) campaignList(ctx context.Context, c call) ([]bot.Reply, error) {
	list, err := r.ops.Campaigns(ctx, 20)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return text("No campaigns yet. Start one with /campaign new <name>."), nil
	}
	lines := []string{"Campaigns (newest first):"}
	for _, s := range list {
		line := fmt.Sprintf("#%d %s · %s · %d/%d sent", s.ID, s.Name, s.Status, s.Stats.Sent, s.Stats.Total)
		if s.Status == ops.CampaignPaused && s.PauseReason != "" {
			line += " · " + s.PauseReason
		}
		lines = append(lines, line)
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) campaignShow(ctx context.Context, c call) ([]bot.Reply, error) {
	id, err := campaignID(c.cmd.Args, "/campaign <id>")
	if err != nil {
		return nil, err
	}
	camp, err := r.ops.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	content := "nothing yet (/campaign set)"
	switch camp.Content.Kind {
	case ops.ContentSavedMessage:
		content = fmt.Sprintf("saved message #%d", camp.Content.SavedMessageID)
	case ops.ContentTemplate:
		content = fmt.Sprintf("template %s:%s %s", camp.Content.TemplateName, camp.Content.TemplateLanguage, templateValuesText(camp.Content))
	case ops.ContentFlow:
		content = "flow " + camp.Content.FlowID
	case ops.ContentText:
		content = "text"
	}
	gw := camp.Gateway
	if gw == "" {
		gw = "active (" + r.ops.ActiveGateway(ctx) + ")"
	}
	s, err := r.ops.CampaignStats(ctx, id)
	if err != nil {
		return nil, err
	}
	status := camp.Status
	if !camp.DeletedAt.IsZero() {
		status += ", deleted (results kept: /campaign results " + strconv.FormatInt(id, 10) + ")"
	}
	lines := []string{
		fmt.Sprintf("Campaign #%d %q — %s", camp.ID, camp.Name, status),
		"Sends: " + content,
		fmt.Sprintf("Gateway: %s · Interval: %s", gw, ops.DurationText(camp.Interval)),
		fmt.Sprintf("Contacts: %s · Pending %s · Sent %s · Failed %s · Cancelled %s", words.Number(int(s.Total)), words.Number(int(s.Pending)), words.Number(int(s.Sent)), words.Number(int(s.Failed)), words.Number(int(s.Cancelled))),
	}
	if s.OptedOut > 0 {
		lines[len(lines)-1] += " · Opted out " + words.Number(int(s.OptedOut))
	}
	if !camp.ScheduledAt.IsZero() && camp.Status == ops.CampaignScheduled {
		lines = append(lines, "Starts: "+r.ops.TimeText(ctx, camp.ScheduledAt))
	}
	if camp.Status == ops.CampaignPaused && camp.PauseReason != "" {
		lines = append(lines, fmt.Sprintf("Paused: %s Once fixed, /campaign resume %d sends it.", camp.PauseReason, camp.ID))
	}
	return text(strings.Join(lines, "\n")), nil
}

func campaignAction(action ops.CampaignAction) func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
	return func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
		id, err := campaignID(c.cmd.Args, fmt.Sprintf("/campaign %s <id>", action))
		if err != nil {
			return nil, err
		}
		updated, err := r.ops.ChangeCampaign(ctx, c.who, id, action)
		if err != nil {
			return nil, err
		}
		switch action {
		case ops.ActionDelete:
			return text(fmt.Sprintf("Campaign #%d deleted; its results are kept (/campaign results %d).", id, id)), nil
		case ops.ActionPause:
			return text(fmt.Sprintf("Campaign #%d paused. Messages already being sent finish; /campaign resume %d continues where it stopped.", id, id)), nil
		default:
			return text(fmt.Sprintf("Campaign #%d is %s.", id, updated.Status)), nil
		}
	}
}

func (r *Router) campaignSchedule(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "/campaign schedule <id> <YYYY-MM-DD HH:MM>"
	id, err := campaignID(c.cmd.Args, usage)
	if err != nil {
		return nil, err
	}
	if len(c.cmd.Args) != 3 {
		return nil, userErrorf("Usage: %s, e.g. /campaign schedule %d 2026-12-01 10:00", usage, id)
	}
	loc := r.ops.Location(ctx)
	at, err := time.ParseInLocation("2006-01-02 15:04", c.cmd.Args[1]+" "+c.cmd.Args[2], loc)
	if err != nil {
		return nil, userErrorf("%s %s is not a date and time like 2026-12-01 10:00.", words.Cut(c.cmd.Args[1], 20), words.Cut(c.cmd.Args[2], 20))
	}
	if _, err := r.ops.ScheduleCampaign(ctx, c.who, id, at); err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Campaign #%d starts %s.", id, r.ops.TimeText(ctx, at))), nil
}

func (r *Router) campaignCopy(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "/campaign copy <from-id> <to-id>"
	if len(c.cmd.Args) != 2 {
		return nil, userErrorf("Usage: %s", usage)
	}
	from, err := campaignID(c.cmd.Args[:1], usage)
	if err != nil {
		return nil, err
	}
	to, err := campaignID(c.cmd.Args[1:], usage)
	if err != nil {
		return nil, err
	}
	res, err := r.ops.CopyContacts(ctx, c.who, from, to)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Copied %s from #%d to #%d (%s already there, %s opted out).", words.Count(res.Added, "contact"), from, to, words.Number(res.Duplicates), words.Number(res.Suppressed))), nil
}

func (r *Router) campaignStats(ctx context.Context, c call) ([]bot.Reply, error) {
	id, err := campaignID(c.cmd.Args, "/campaign stats <id>")
	if err != nil {
		return nil, err
	}
	camp, err := r.ops.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	s, err := r.ops.CampaignStats(ctx, id)
	if err != nil {
		return nil, err
	}
	done := s.Sent + s.Failed + s.Cancelled + s.OptedOut
	progress := 0.0
	if s.Total > 0 {
		progress = 100 * float64(done) / float64(s.Total)
	}
	lines := []string{
		fmt.Sprintf("Campaign #%d %q — %s, %.0f%% done", camp.ID, camp.Name, camp.Status, progress),
		fmt.Sprintf("Contacts %s · Pending %s (not queued yet)", words.Number(int(s.Total)), words.Number(int(s.Pending))),
		tallyText(ops.CampaignTally(s)),
	}
	if camp.Status == ops.CampaignRunning && camp.Interval > 0 {
		eta := time.Duration(s.Pending+s.Queued) * camp.Interval
		lines = append(lines, "ETA: about "+humanDuration(eta))
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) campaignResults(ctx context.Context, c call) ([]bot.Reply, error) {
	id, err := campaignID(c.cmd.Args, "/campaign results <id>")
	if err != nil {
		return nil, err
	}
	_, rows, err := r.ops.CampaignResults(ctx, id)
	if err != nil {
		return nil, err
	}
	data, err := ops.ResultsXLSX(rows, r.ops.Location(ctx))
	if err != nil {
		return nil, err
	}
	return []bot.Reply{{
		Text: fmt.Sprintf("Results of campaign #%d (%s).", id, words.Count(len(rows), "contact")),
		File: &bot.File{Name: fmt.Sprintf("campaign-%d-results.xlsx", id), MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: data},
	}}, nil
}

// durationShape is a duration in form: numbers with units, such as 90m or
// 1h30m, maybe signed.
var durationShape = regexp.MustCompile(`^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$`)

// campaignInReply finds "campaign #12" in the text of the message replied to.
var campaignInReply = regexp.MustCompile(`(?i)campaign #(\d+)`)

func (r *Router) importContacts(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = `attach a .xlsx, .csv, .tsv or .txt contact list with the caption /import <campaign id> [sheet="<sheet name>"]`
	args := c.cmd.Args
	if len(args) == 0 {
		if m := campaignInReply.FindStringSubmatch(c.msg.ReplyToText); m != nil {
			args = []string{m[1]}
		}
	}
	id, err := campaignID(args, usage)
	if err != nil {
		return nil, err
	}
	sheet, err := importSheet(args[1:], id)
	if err != nil {
		return nil, err
	}
	if _, err := r.ops.Campaign(ctx, id); err != nil {
		return nil, err
	}
	a := c.msg.Attachment
	if a == nil {
		return nil, userErrorf("No file came with the command: %s.", usage)
	}
	rc, err := a.Open(ctx)
	if err != nil {
		var fe *bot.FileError
		if errors.As(err, &fe) {
			return nil, userErrorf("%s", fe.Message)
		}
		return nil, err
	}
	defer rc.Close()
	res, err := r.ops.ImportContacts(ctx, c.who, id, a.Name, rc, a.Size, sheet)
	if err != nil {
		return nil, err
	}
	in := a.Name
	if res.Sheet != "" {
		in = fmt.Sprintf("%s (sheet %q)", a.Name, res.Sheet)
	}
	if res.NoNumbers() {
		return text(noContactsText(in, res, r.ops.PhoneExample(ctx))), nil
	}
	reply := fmt.Sprintf("Imported %s into campaign #%d: %s accepted, %s, %s rejected, %s suppressed (opted out).",
		in, id, words.Number(res.Added), words.Count(res.Duplicates, "duplicate"), words.Number(len(res.Rejects)), words.Number(res.Suppressed))
	if len(res.Rejects) == 0 {
		return text(reply), nil
	}
	return []bot.Reply{{Text: reply + " The rejected rows are in the attached file.",
		File: &bot.File{Name: fmt.Sprintf("campaign-%d-rejects.csv", id), MIME: "text/csv", Data: ops.RejectsCSV(res.Rejects)}}}, nil
}

// importSheet reads /import's words after the campaign id: at most a
// sheet="<name>" (the quotes are needed when the name has spaces).
func importSheet(args []string, id int64) (string, error) {
	sheet, afterSheet := "", false
	for i, w := range args {
		key, v, ok := strings.Cut(w, "=")
		if !ok || !strings.EqualFold(key, "sheet") {
			if afterSheet && !strings.Contains(sheet, " ") {
				// sheet=Mumbai Store: a name with spaces, without quotes.
				name := sheet + " " + strings.Join(args[i:], " ")
				return "", userErrorf("Put a sheet name with spaces in quotes: send /import %d sheet=\"%s\" with the file.", id, words.Cut(name, 60))
			}
			return "", userErrorf("%q is not understood here: the caption is /import %d, with sheet=\"<sheet name>\" after it to pick a sheet of a workbook.", words.Cut(w, 40), id)
		}
		if isQuote(v) {
			// The closing quote is missing: Parse left the words as typed.
			name := strings.TrimSpace(strings.Trim(strings.Join(append([]string{v}, args[i+1:]...), " "), openQuotes))
			if name == "" {
				name = "Mumbai Store"
			}
			return "", userErrorf("The quote after sheet= is not closed: send /import %d sheet=\"%s\" with the file.", id, words.Cut(name, 60))
		}
		if strings.TrimSpace(v) == "" {
			return "", userErrorf("sheet= needs the name of a sheet of the workbook: send /import %d sheet=\"Mumbai Store\" with the file, with the sheet's name in the quotes.", id)
		}
		sheet, afterSheet = v, true
	}
	return sheet, nil
}

// noContactsText is the reply to a list that held no phone number at all,
// with what a contact list looks like.
func noContactsText(in string, res ops.ImportResult, example string) string {
	number, _, _ := strings.Cut(example, " or ")
	if number == "" {
		number = "98765 43210"
	}
	var what string
	switch {
	case res.Rows == 0 && res.Header:
		what = fmt.Sprintf("No contacts found in %s: it has a header row but no rows under it.", in)
	case res.Rows == 0:
		what = fmt.Sprintf("No phone numbers found in %s.", in)
	default:
		what = fmt.Sprintf("No phone numbers found in %s: none of its %s holds one.", in, words.Count(res.Rows, "row"))
	}
	return what + " Nothing was imported.\n" +
		"A contact list has one customer per row, with the phone number in a column headed Phone (a Name column and others are optional), e.g.\n" +
		"Name,Phone\nRavi Kumar," + number + "\n" +
		"It can be an .xlsx, .csv or .tsv file, or a .txt file with one number per line."
}

func (r *Router) optOut(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) == 0 {
		return nil, userErrorf("Usage: /optout <phone> [reason]")
	}
	phones := phone.Find(strings.Join(c.cmd.Args, " "))
	if len(phones) == 0 {
		return nil, userErrorf("Usage: /optout <phone> [reason], e.g. /optout %s asked by phone", r.ops.PhoneExample(ctx))
	}
	reason := strings.TrimSpace(strings.TrimPrefix(strings.Join(c.cmd.Args, " "), phones[0]))
	e164, err := r.ops.OptOut(ctx, c.who, phones[0], reason)
	if err != nil {
		return nil, err
	}
	// A customer who asked first (by replying STOP) is named as the source.
	if o, ok, err := r.ops.OptOutOf(ctx, c.who, e164); err == nil && ok && o.Source == ops.OptOutSourceReply {
		return text(fmt.Sprintf("%s opted out already: the customer replied asking to stop (customer reply, %s). It gets no campaign messages; imports skip it.",
			e164, r.ops.TimeText(ctx, o.CreatedAt))), nil
	}
	return text(fmt.Sprintf("%s will get no more campaign messages; imports skip it.", e164)), nil
}

// templateValuesText shows a template send's values as they are typed.
func templateValuesText(c ops.QueueContent) string {
	var parts []string
	if h := c.TemplateHeader; h != nil {
		switch {
		case h.Format == "text":
			parts = append(parts, "header="+h.Text)
		case h.SavedMessageID > 0:
			parts = append(parts, fmt.Sprintf("header=saved %s #%d", h.Format, h.SavedMessageID))
		}
	}
	if len(c.TemplateParamNames) > 0 {
		for i, n := range c.TemplateParamNames {
			if i < len(c.TemplateParams) {
				parts = append(parts, n+"="+c.TemplateParams[i])
			}
		}
	} else if len(c.TemplateParams) > 0 {
		parts = append(parts, strings.Join(c.TemplateParams, ","))
	}
	for _, b := range c.TemplateButtons {
		parts = append(parts, fmt.Sprintf("button%d=%s", b.Index+1, b.Text))
	}
	return strings.Join(parts, " ")
}
