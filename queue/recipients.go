package queue

import (
	"sync"
	"time"
)

// recipients spaces the sends to each phone from this process: the
// recipient spacing, and the holds for recipients the provider found
// over-messaged.
type recipients struct {
	mu       sync.Mutex
	lastSend map[string]time.Time
	// hold is when a recipient the provider found over-messaged may get
	// the next send.
	hold map[string]time.Time
}

func newRecipients() *recipients {
	return &recipients{lastSend: map[string]time.Time{}, hold: map[string]time.Time{}}
}

// holdUntil makes the next send to phone wait until at least until.
func (r *recipients) holdUntil(phone string, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if until.After(r.hold[phone]) {
		r.hold[phone] = until
	}
}

// reserve books a send to phone at now, or says how long to wait because
// phone is held or the last send to it was less than spacing ago.
func (r *recipients) reserve(phone string, now time.Time, spacing time.Duration) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if until, ok := r.hold[phone]; ok {
		if wait := until.Sub(now); wait > 0 {
			return wait, false
		}
		delete(r.hold, phone)
	}
	if spacing <= 0 {
		return 0, true
	}
	if last, ok := r.lastSend[phone]; ok {
		if wait := last.Add(spacing).Sub(now); wait > 0 {
			return wait, false
		}
	}
	if len(r.lastSend) > 10_000 {
		for p, t := range r.lastSend {
			if now.Sub(t) >= spacing {
				delete(r.lastSend, p)
			}
		}
	}
	r.lastSend[phone] = now
	return 0, true
}

// reserveRecipient books a send to phone now, or says how long to wait
// because the last send to it was less than RecipientSpacing ago.
func (l *Loop) reserveRecipient(phone string) (time.Duration, bool) {
	return l.recipients.reserve(phone, l.cfg.Now(), l.currentTuning().RecipientSpacing)
}
