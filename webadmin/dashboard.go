package webadmin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/messagebridge/messagebridge/commands/ops"
)

type windowRow struct {
	Name   string
	Counts []int64
}

type dashboardData struct {
	Active    string
	Paused    bool
	PauseWhy  string
	Rate      float64
	Target    float64
	Columns   []string // the queue table's columns, as ops.Tally counts
	Windows   []windowRow
	Warnings  []string
	Recent    []ops.QueueItem
	Campaigns []ops.CampaignSummary
	Replies   []replyRow
}

// replyRow is one customer's message in "Latest replies".
type replyRow struct {
	Phone, Name, Text string
	Received          time.Time
	// Note marks a stop request or START.
	Note string
}

// dashboardReplies is how many customers' messages the dashboard shows.
const dashboardReplies = 10

// dashboard shows the queue at a glance: the active gateway, counts over
// the five windows, warnings, recent messages and campaigns.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// The queue table counts as the chat does (ops.Tally): sent includes
	// delivered and read.
	d := dashboardData{Active: s.ops.ActiveGateway(ctx), Columns: []string{"queued", "sending", "sent", "delivered", "read", "failed", "cancelled", "opted out"}}
	h, err := s.ops.Health(ctx)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	for _, wn := range h.Warnings {
		d.Warnings = append(d.Warnings, wn.Message)
	}
	for _, g := range h.BlockedGateways {
		if g.Gateway == d.Active {
			d.Paused, d.PauseWhy = true, g.BlockedReason
		}
	}
	for _, p := range s.ops.Paces() {
		if p.Gateway == d.Active {
			d.Rate, d.Target = p.Rate, p.Target
		}
	}
	wins, err := s.ops.Windows(ctx)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	for _, win := range wins {
		t := ops.TallyOf(win.Counts)
		d.Windows = append(d.Windows, windowRow{Name: win.Name, Counts: []int64{t.Queued, t.Sending, t.Sent, t.Delivered, t.Read, t.Failed, t.Cancelled, t.OptedOut}})
	}
	if d.Recent, err = s.ops.Recent(ctx, ops.RecentFilter{Limit: 25}); err != nil {
		s.failPage(w, r, err)
		return
	}
	if d.Campaigns, err = s.ops.Campaigns(ctx, 20); err != nil {
		s.failPage(w, r, err)
		return
	}
	replies, err := s.ops.Inbox(ctx, actor(r), dashboardReplies)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	for _, m := range replies {
		row := replyRow{Phone: m.Phone, Name: m.ProfileName, Text: ops.InboundSummary(m, 300), Received: m.ReceivedAt}
		switch s.ops.ReplyIntentOf(ctx, m) {
		case ops.IntentStop:
			row.Note = "stop request: opted out of campaigns"
		case ops.IntentStart:
			row.Note = "START: campaigns allowed again"
		}
		d.Replies = append(d.Replies, row)
	}
	s.render(w, r, http.StatusOK, "dashboard", page{Title: "Dashboard", Nav: "dashboard", Data: d})
}

func queueID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}

func (s *server) queueRetry(w http.ResponseWriter, r *http.Request) {
	id, ok := queueID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if _, err := s.ops.Retry(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, "/admin/", err)
		return
	}
	s.done(w, r, "/admin/", "Message #%d is queued again.", id)
}

func (s *server) queueCancel(w http.ResponseWriter, r *http.Request) {
	id, ok := queueID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if _, err := s.ops.Cancel(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, "/admin/", err)
		return
	}
	s.done(w, r, "/admin/", "Message #%d is cancelled.", id)
}

func (s *server) queuePhone(w http.ResponseWriter, r *http.Request) {
	id, ok := queueID(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	it, err := s.ops.EditPhone(r.Context(), actor(r), id, r.PostFormValue("phone"))
	if err != nil {
		s.fail(w, r, "/admin/", err)
		return
	}
	s.done(w, r, "/admin/", "Message #%d now goes to %s.", id, it.Phone)
}

func (s *server) campaignAction(w http.ResponseWriter, r *http.Request) {
	id, ok := queueID(r)
	action := ops.CampaignAction(chi.URLParam(r, "action"))
	if !ok || (action != ops.ActionPause && action != ops.ActionResume) {
		http.NotFound(w, r)
		return
	}
	c, err := s.ops.ChangeCampaign(r.Context(), actor(r), id, action)
	if err != nil {
		s.fail(w, r, "/admin/", err)
		return
	}
	s.done(w, r, "/admin/", "Campaign %q is %s.", c.Name, c.Status)
}
