package commands

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/importer"
	"github.com/messagebridge/messagebridge/store"
)

// CampaignStore is what the campaign commands need from the store.
type CampaignStore interface {
	CreateCampaign(ctx context.Context, name, actor string) (store.Campaign, error)
	Campaign(ctx context.Context, id int64) (store.Campaign, error)
	Campaigns(ctx context.Context, limit int) ([]store.Campaign, error)
	UpdateCampaign(ctx context.Context, id int64, u store.CampaignUpdate) (store.Campaign, error)
	ChangeCampaign(ctx context.Context, id int64, action store.CampaignAction, at time.Time, actor string) (store.Campaign, error)
	AddCampaignContacts(ctx context.Context, id int64, contacts []store.NewContact) (added, duplicates, suppressed int, err error)
	CampaignContacts(ctx context.Context, id int64) ([]store.NewContact, error)
	CampaignStats(ctx context.Context, id int64) (store.CampaignStats, error)
	CampaignResults(ctx context.Context, id int64) ([]store.CampaignResult, error)
	AddOptOut(ctx context.Context, phone, reason, actor string) error
	LastContactID(ctx context.Context, campaignID int64) (int64, error)
	RemoveContactsAfter(ctx context.Context, campaignID, afterID int64) error
}

// campaignArg reads the campaign id in args[0].
func (r *Router) campaignArg(ctx context.Context, args []string, usage string) (store.Campaign, error) {
	if len(args) < 1 {
		return store.Campaign{}, userErrorf("Usage: %s", usage)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return store.Campaign{}, userErrorf("%q is not a campaign id. Usage: %s", args[0], usage)
	}
	c, err := r.store.Campaign(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Campaign{}, userErrorf("There is no campaign #%d; /campaigns lists them.", id)
	}
	return c, err
}

func (r *Router) campaignNew(ctx context.Context, c call) ([]bot.Reply, error) {
	name := strings.TrimSpace(strings.Join(c.cmd.Args, " "))
	if name == "" || len(name) > 190 {
		return nil, userErrorf("Usage: /campaign new <name>, e.g. /campaign new Diwali offer")
	}
	camp, err := r.store.CreateCampaign(ctx, name, c.actor())
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Campaign #%d %q created.\nNext: attach a contact list with the caption /import %d, then /campaign set %d message=<saved message> (or template=<name>:<lang>, flow=<id>), then /campaign start %d.",
		camp.ID, camp.Name, camp.ID, camp.ID, camp.ID)), nil
}

func (r *Router) campaignSet(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "/campaign set <id> message=<name> | template=<name>:<lang> [params=a,b] | flow=<flow-id> | interval=<duration> | gateway=<name>"
	camp, err := r.campaignArg(ctx, c.cmd.Args, usage)
	if err != nil {
		return nil, err
	}
	if len(c.cmd.Args) < 2 {
		return nil, userErrorf("Usage: %s", usage)
	}
	var u store.CampaignUpdate
	var params []string
	var changed []string
	for _, kv := range c.cmd.Args[1:] {
		key, val, ok := strings.Cut(kv, "=")
		if !ok || val == "" {
			return nil, userErrorf("%q is not key=value. Usage: %s", kv, usage)
		}
		switch strings.ToLower(key) {
		case "message":
			m, err := r.store.SavedMessageByName(ctx, val)
			if errors.Is(err, store.ErrNotFound) {
				return nil, userErrorf("There is no saved message called %q.", val)
			}
			if err != nil {
				return nil, err
			}
			u.Content = &store.QueueContent{Kind: store.ContentSavedMessage, SavedMessageID: m.ID}
		case "template":
			name, lang, ok := strings.Cut(val, ":")
			if !ok || name == "" || lang == "" {
				return nil, userErrorf("template=<name>:<language>, e.g. template=order_update:en")
			}
			u.Content = &store.QueueContent{Kind: store.ContentTemplate, TemplateName: name, TemplateLanguage: lang}
		case "params":
			params = strings.Split(val, ",")
		case "flow":
			u.Content = &store.QueueContent{Kind: store.ContentFlow, FlowID: val}
		case "interval":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 || d > 24*time.Hour {
				return nil, userErrorf("interval=%s is not a duration such as 5s, 2m or 1h.", val)
			}
			if floor := r.cfg.MinIntervals[r.campaignGateway(ctx, camp, u)]; d < floor {
				return nil, userErrorf("interval=%s is below the gateway's own pacing of %s.", val, floor)
			}
			u.Interval = &d
		case "gateway":
			g := strings.ToLower(val)
			if !slices.Contains(r.cfg.Gateways, g) {
				return nil, userErrorf("There is no gateway %q. Choose one of %s.", g, strings.Join(r.cfg.Gateways, ", "))
			}
			u.Gateway = &g
		default:
			return nil, userErrorf("Unknown setting %q. Usage: %s", key, usage)
		}
		changed = append(changed, kv)
	}
	if params != nil {
		if u.Content == nil || u.Content.Kind != store.ContentTemplate {
			return nil, userErrorf("params= goes with template=, e.g. template=order_update:en params={name},{City}")
		}
		u.Content.TemplateParams = params
	}
	if _, err := r.store.UpdateCampaign(ctx, camp.ID, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, userErrorf("Campaign #%d is %s; pause it first to change it.", camp.ID, camp.Status)
		}
		return nil, err
	}
	return text(fmt.Sprintf("Campaign #%d: set %s.", camp.ID, strings.Join(changed, " "))), nil
}

func (r *Router) campaignGateway(ctx context.Context, camp store.Campaign, u store.CampaignUpdate) string {
	switch {
	case u.Gateway != nil:
		return *u.Gateway
	case camp.Gateway != "":
		return camp.Gateway
	default:
		return r.activeGateway(ctx)
	}
}

func (r *Router) campaignList(ctx context.Context, c call) ([]bot.Reply, error) {
	list, err := r.store.Campaigns(ctx, 20)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return text("No campaigns yet. Start one with /campaign new <name>."), nil
	}
	lines := []string{"Campaigns (newest first):"}
	for _, camp := range list {
		s, err := r.store.CampaignStats(ctx, camp.ID)
		if err != nil {
			return nil, err
		}
		lines = append(lines, fmt.Sprintf("#%d %s · %s · %d/%d sent", camp.ID, camp.Name, camp.Status, s.Sent, s.Total))
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) campaignShow(ctx context.Context, c call) ([]bot.Reply, error) {
	camp, err := r.campaignArg(ctx, c.cmd.Args, "/campaign <id>")
	if err != nil {
		return nil, err
	}
	content := "nothing yet (/campaign set)"
	switch camp.Content.Kind {
	case store.ContentSavedMessage:
		content = fmt.Sprintf("saved message #%d", camp.Content.SavedMessageID)
	case store.ContentTemplate:
		content = fmt.Sprintf("template %s:%s %s", camp.Content.TemplateName, camp.Content.TemplateLanguage, strings.Join(camp.Content.TemplateParams, ","))
	case store.ContentFlow:
		content = "flow " + camp.Content.FlowID
	case store.ContentText:
		content = "text"
	}
	gw := camp.Gateway
	if gw == "" {
		gw = "active (" + r.activeGateway(ctx) + ")"
	}
	s, err := r.store.CampaignStats(ctx, camp.ID)
	if err != nil {
		return nil, err
	}
	lines := []string{
		fmt.Sprintf("Campaign #%d %q — %s", camp.ID, camp.Name, camp.Status),
		"Sends: " + content,
		fmt.Sprintf("Gateway: %s · Interval: %s", gw, camp.Interval),
		fmt.Sprintf("Contacts: %d · Sent %d · Failed %d · Pending %d", s.Total, s.Sent, s.Failed, s.Pending),
	}
	if !camp.ScheduledAt.IsZero() && camp.Status == store.CampaignScheduled {
		lines = append(lines, "Starts: "+camp.ScheduledAt.In(r.location(ctx)).Format("2006-01-02 15:04 MST"))
	}
	return text(strings.Join(lines, "\n")), nil
}

func campaignAction(action store.CampaignAction) func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
	return func(r *Router, ctx context.Context, c call) ([]bot.Reply, error) {
		usage := fmt.Sprintf("/campaign %s <id>", action)
		camp, err := r.campaignArg(ctx, c.cmd.Args, usage)
		if err != nil {
			return nil, err
		}
		updated, err := r.store.ChangeCampaign(ctx, camp.ID, action, time.Time{}, c.actor())
		switch {
		case errors.Is(err, store.ErrConflict):
			return nil, userErrorf("Campaign #%d is %s, so it cannot %s.", camp.ID, camp.Status, action)
		case errors.Is(err, store.ErrIncomplete):
			return nil, userErrorf("Campaign #%d is not ready: it needs contacts (/import %d) and something to send (/campaign set %d message=…).", camp.ID, camp.ID, camp.ID)
		case err != nil:
			return nil, err
		}
		r.cfg.Notify()
		switch action {
		case store.ActionDelete:
			return text(fmt.Sprintf("Campaign #%d deleted; its results are kept.", camp.ID)), nil
		case store.ActionPause:
			return text(fmt.Sprintf("Campaign #%d paused. Messages already being sent finish; /campaign resume %d continues where it stopped.", camp.ID, camp.ID)), nil
		default:
			return text(fmt.Sprintf("Campaign #%d is %s.", camp.ID, updated.Status)), nil
		}
	}
}

// location is the timezone for schedules: the campaign.timezone setting or
// Asia/Kolkata.
func (r *Router) location(ctx context.Context) *time.Location {
	name := "Asia/Kolkata"
	if s, err := r.store.Setting(ctx, store.SettingTimezone); err == nil && s.Value != "" {
		name = s.Value
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("IST", 5*3600+1800)
	}
	return loc
}

func (r *Router) campaignSchedule(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "/campaign schedule <id> <YYYY-MM-DD HH:MM>"
	camp, err := r.campaignArg(ctx, c.cmd.Args, usage)
	if err != nil {
		return nil, err
	}
	if len(c.cmd.Args) != 3 {
		return nil, userErrorf("Usage: %s, e.g. /campaign schedule %d 2026-12-01 10:00", usage, camp.ID)
	}
	loc := r.location(ctx)
	at, err := time.ParseInLocation("2006-01-02 15:04", c.cmd.Args[1]+" "+c.cmd.Args[2], loc)
	if err != nil {
		return nil, userErrorf("%s %s is not a date and time like 2026-12-01 10:00.", c.cmd.Args[1], c.cmd.Args[2])
	}
	if !at.After(r.cfg.Now()) {
		return nil, userErrorf("%s is in the past; use /campaign start %d to start now.", at.Format("2006-01-02 15:04 MST"), camp.ID)
	}
	if _, err := r.store.ChangeCampaign(ctx, camp.ID, store.ActionSchedule, at, c.actor()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, userErrorf("Campaign #%d is %s, so it cannot be scheduled.", camp.ID, camp.Status)
		}
		if errors.Is(err, store.ErrIncomplete) {
			return nil, userErrorf("Campaign #%d is not ready: it needs contacts and something to send.", camp.ID)
		}
		return nil, err
	}
	return text(fmt.Sprintf("Campaign #%d starts %s.", camp.ID, at.Format("Mon 2 Jan 2006 15:04 MST"))), nil
}

func (r *Router) campaignCopy(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "/campaign copy <from-id> <to-id>"
	if len(c.cmd.Args) != 2 {
		return nil, userErrorf("Usage: %s", usage)
	}
	from, err := r.campaignArg(ctx, c.cmd.Args[:1], usage)
	if err != nil {
		return nil, err
	}
	to, err := r.campaignArg(ctx, c.cmd.Args[1:], usage)
	if err != nil {
		return nil, err
	}
	contacts, err := r.store.CampaignContacts(ctx, from.ID)
	if err != nil {
		return nil, err
	}
	added, dups, suppressed, err := r.store.AddCampaignContacts(ctx, to.ID, contacts)
	if err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("Copied %d contacts from #%d to #%d (%d already there, %d opted out).", added, from.ID, to.ID, dups, suppressed)), nil
}

func (r *Router) campaignStats(ctx context.Context, c call) ([]bot.Reply, error) {
	camp, err := r.campaignArg(ctx, c.cmd.Args, "/campaign stats <id>")
	if err != nil {
		return nil, err
	}
	s, err := r.store.CampaignStats(ctx, camp.ID)
	if err != nil {
		return nil, err
	}
	done := s.Sent + s.Failed + s.Cancelled
	progress := 0.0
	if s.Total > 0 {
		progress = 100 * float64(done) / float64(s.Total)
	}
	lines := []string{
		fmt.Sprintf("Campaign #%d %q — %s, %.0f%% done", camp.ID, camp.Name, camp.Status, progress),
		fmt.Sprintf("Total %d · Pending %d · Queued %d · Sending %d", s.Total, s.Pending, s.Queued, s.Processing),
		fmt.Sprintf("Sent %d (delivered %d · read %d) · Failed %d · Cancelled %d", s.Sent, s.Delivered, s.Read, s.Failed, s.Cancelled),
	}
	if camp.Status == store.CampaignRunning && camp.Interval > 0 {
		eta := time.Duration(s.Pending+s.Queued) * camp.Interval
		lines = append(lines, "ETA: about "+humanDuration(eta))
	}
	return text(strings.Join(lines, "\n")), nil
}

func (r *Router) campaignResults(ctx context.Context, c call) ([]bot.Reply, error) {
	camp, err := r.campaignArg(ctx, c.cmd.Args, "/campaign results <id>")
	if err != nil {
		return nil, err
	}
	rows, err := r.store.CampaignResults(ctx, camp.ID)
	if err != nil {
		return nil, err
	}
	data, err := resultsXLSX(rows, r.location(ctx))
	if err != nil {
		return nil, err
	}
	return []bot.Reply{{
		Text: fmt.Sprintf("Results of campaign #%d (%d contacts).", camp.ID, len(rows)),
		File: &bot.File{Name: fmt.Sprintf("campaign-%d-results.xlsx", camp.ID), MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Data: data},
	}}, nil
}

// resultsXLSX writes one row per contact: phone, name, status, attempts,
// last error, sent at, delivered at.
func resultsXLSX(rows []store.CampaignResult, loc *time.Location) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	header := []any{"Phone", "Name", "Status", "Attempts", "Last error", "Sent at", "Delivered at"}
	if err := sw.SetRow("A1", header); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	when := func(t sql.NullTime) string {
		if !t.Valid {
			return ""
		}
		return t.Time.In(loc).Format("2006-01-02 15:04:05")
	}
	for i, r := range rows {
		status := r.Status.String
		if !r.Status.Valid {
			status = "pending"
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{r.Phone, r.Name, status, r.Attempts.Int64, r.LastError.String, when(r.SentAt), when(r.DeliveredAt)}); err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return buf.Bytes(), nil
}

// campaignInReply finds "campaign #12" in the text of the message replied to.
var campaignInReply = regexp.MustCompile(`(?i)campaign #(\d+)`)

func (r *Router) importContacts(ctx context.Context, c call) ([]bot.Reply, error) {
	const usage = "attach a .xlsx, .csv or .txt contact list with the caption /import <campaign id> [sheet=<name>]"
	args := c.cmd.Args
	if len(args) == 0 {
		if m := campaignInReply.FindStringSubmatch(c.msg.ReplyToText); m != nil {
			args = []string{m[1]}
		}
	}
	camp, err := r.campaignArg(ctx, args, usage)
	if err != nil {
		return nil, err
	}
	if camp.Status == store.CampaignCompleted || camp.Status == store.CampaignCancelled {
		return nil, userErrorf("Campaign #%d is %s; create a new one with /campaign new.", camp.ID, camp.Status)
	}
	a := c.msg.Attachment
	if a == nil {
		return nil, userErrorf("No file came with the command: %s.", usage)
	}
	policy := r.phonePolicy(ctx)
	opts := importer.Options{
		Normalize:  func(raw string) (string, error) { return NormalizePhone(raw, policy) },
		FindPhones: FindPhones,
		Limits:     r.cfg.ImportLimits,
	}
	for _, kv := range args[1:] {
		if v, ok := strings.CutPrefix(kv, "sheet="); ok {
			opts.Sheet = v
		}
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
	// Contacts are stored batch by batch as the file is read; a file that
	// turns out to be over a limit halfway is undone, so nothing of it stays.
	mark, err := r.store.LastContactID(ctx, camp.ID)
	if err != nil {
		return nil, err
	}
	// One goroutine stores each batch while the importer reads and
	// normalizes the next.
	var added, already, suppressed int
	batches := make(chan []importer.Contact, 1)
	stored := make(chan error, 1)
	go func() {
		var err error
		for batch := range batches {
			if err != nil {
				continue // drain after a failure
			}
			contacts := make([]store.NewContact, len(batch))
			for i, ct := range batch {
				contacts[i] = store.NewContact{Phone: ct.Phone, Name: ct.Name, Vars: ct.Vars, Row: ct.Row}
			}
			var a, d, s int
			a, d, s, err = r.store.AddCampaignContacts(ctx, camp.ID, contacts)
			added, already, suppressed = added+a, already+d, suppressed+s
		}
		stored <- err
	}()
	opts.OnContacts = func(batch []importer.Contact) error {
		batches <- batch
		return nil
	}
	res, err := importer.Import(ctx, a.Name, importer.WithSize(rc, a.Size), opts)
	close(batches)
	if serr := <-stored; serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		if added > 0 {
			if rerr := r.store.RemoveContactsAfter(context.WithoutCancel(ctx), camp.ID, mark); rerr != nil {
				return nil, fmt.Errorf("undo import: %w (after: %w)", rerr, err)
			}
		}
		var le *importer.LimitError
		if errors.As(err, &le) {
			return nil, userErrorf("%s: %s Nothing was imported.", a.Name, le.Message)
		}
		return nil, err
	}
	reply := fmt.Sprintf("Imported %s into campaign #%d: %d accepted, %d duplicates, %d rejected, %d suppressed (opted out).",
		a.Name, camp.ID, added, res.Duplicates+already, len(res.Rejects), suppressed)
	if len(res.Rejects) == 0 {
		return text(reply), nil
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"row", "value", "reason"})
	for _, rj := range res.Rejects {
		_ = w.Write([]string{strconv.Itoa(rj.Row), rj.Value, rj.Reason})
	}
	w.Flush()
	return []bot.Reply{{Text: reply + " The rejected rows are in the attached file.",
		File: &bot.File{Name: fmt.Sprintf("campaign-%d-rejects.csv", camp.ID), MIME: "text/csv", Data: buf.Bytes()}}}, nil
}

func (r *Router) optOut(ctx context.Context, c call) ([]bot.Reply, error) {
	if len(c.cmd.Args) == 0 {
		return nil, userErrorf("Usage: /optout <phone> [reason]")
	}
	phones := FindPhones(strings.Join(c.cmd.Args, " "))
	if len(phones) == 0 {
		return nil, userErrorf("Usage: /optout <phone> [reason], e.g. /optout %s asked by phone", PhoneExample(r.region(ctx)))
	}
	phone, err := NormalizePhone(phones[0], r.phonePolicy(ctx))
	if err != nil {
		var pe *PhoneError
		if errors.As(err, &pe) {
			return nil, userErrorf("%s: %s.", phones[0], pe.Reason)
		}
		return nil, err
	}
	reason := strings.TrimSpace(strings.TrimPrefix(strings.Join(c.cmd.Args, " "), phones[0]))
	if err := r.store.AddOptOut(ctx, phone, reason, c.actor()); err != nil {
		return nil, err
	}
	return text(fmt.Sprintf("%s will get no more campaign messages; imports skip it.", phone)), nil
}
