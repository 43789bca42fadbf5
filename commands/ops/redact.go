package ops

import (
	"context"

	"github.com/messagebridge/messagebridge/queue"
)

// redactor makes provider text read back from the database (an item's
// last error, a gateway's blocked reason, a health warning) safe to show:
// the current secret values and credential shapes are redacted again,
// since a row may have been written by an older release or before a
// secret was set. It reads the secret settings once, and only when there
// is text to redact.
type redactor struct {
	s       *Service
	ctx     context.Context
	secrets []string
	loaded  bool
}

// shown returns a redactor for one answer: every row an operation returns
// goes through it.
func (s *Service) shown(ctx context.Context) *redactor {
	return &redactor{s: s, ctx: ctx}
}

// text redacts one piece of shown text.
func (r *redactor) text(t string) string {
	if t == "" {
		return ""
	}
	if !r.loaded {
		r.secrets, r.loaded = r.s.settings.Secrets(r.ctx), true
	}
	return queue.SanitizeError(t, r.secrets...)
}

// items redacts the last errors of items in place.
func (r *redactor) items(items []QueueItem) {
	for i := range items {
		items[i].LastError = r.text(items[i].LastError)
	}
}

// item redacts one item's last error.
func (r *redactor) item(it QueueItem) QueueItem {
	it.LastError = r.text(it.LastError)
	return it
}

// states redacts the blocked reasons of gateway states in place.
func (r *redactor) states(states []GatewayState) {
	for i := range states {
		states[i].BlockedReason = r.text(states[i].BlockedReason)
	}
}

// health redacts the blocked gateways and the warnings of h in place.
func (r *redactor) health(h *Health) {
	r.states(h.BlockedGateways)
	for i := range h.Warnings {
		h.Warnings[i].Message = r.text(h.Warnings[i].Message)
		h.Warnings[i].Reason = r.text(h.Warnings[i].Reason)
	}
}
