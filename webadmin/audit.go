package webadmin

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/messagebridge/messagebridge/commands/ops"
)

type auditData struct {
	Entries       []ops.AuditEntry
	Actor, Action string
	// Older links to the next page; empty on the last.
	Older string
}

const auditPageSize = 50

// auditPage shows who did what, newest first, filtered by who and what,
// a page at a time.
func (s *server) auditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ops.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Limit: auditPageSize + 1}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	list, err := s.ops.AuditPage(r.Context(), actor(r), f)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	d := auditData{Entries: list, Actor: f.Actor, Action: f.Action}
	if len(list) > auditPageSize {
		d.Entries = list[:auditPageSize]
		next := url.Values{"before": {strconv.FormatInt(d.Entries[auditPageSize-1].ID, 10)}}
		if f.Actor != "" {
			next.Set("actor", f.Actor)
		}
		if f.Action != "" {
			next.Set("action", f.Action)
		}
		d.Older = "/admin/audit?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", page{Title: "Audit log", Nav: "audit", Data: d})
}
