package session

import (
	"context"
	"fmt"
	"time"
)

// defaultLinkPoll is how often WaitLinked reads the device store when the
// caller gives no interval.
const defaultLinkPoll = 5 * time.Second

// linkSettle is how long a device linked by another process must have been
// in the device store before WaitLinked switches to it. `messagebridge
// whatsapp pair` stores the device as soon as the phone confirms, then
// reconnects and logs in once before it exits. A connection from here in
// that window and the pairing process's would replace each other ("stream
// replaced"), and whatsmeow does not reconnect the one replaced.
const linkSettle = 10 * time.Second

// WaitLinked returns nil once an account is linked to the session, so
// that a server started before pairing can Connect then, without a
// restart. It checks at once, then every poll (5 s when poll ≤ 0), and
// wakes at once when a pairing of this session (StartPairing) succeeds.
//
// It also sees a link made by another process on the same data directory,
// such as `messagebridge whatsapp pair` while the server runs. Status
// alone never would: the session's whatsmeow client keeps the device it
// read at Open, which without a linked account is a new, unsaved device
// with keys of its own, while the pairing process stores another device.
// (The device store itself caches no devices: every read of it sees what
// the other process committed.) So WaitLinked reads the device store every
// poll, and once a linked device has been there for 10 s it switches the
// session to a new client for that device; Status, LinkedJID and Connect
// then use it, and the handlers added with AddHandler get its events.
//
// It returns ctx's error when ctx ends first, ErrClosed when the session
// is closed. Errors reading the device store are logged and the polling
// goes on.
func (s *Session) WaitLinked(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = defaultLinkPoll
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var seen time.Time // when the device store first held a linked device
	for {
		// Take the wake-up channel before checking, so that a link
		// between the check and the wait is not missed.
		s.connMu.RLock()
		wake := s.linked
		s.connMu.RUnlock()
		st, err := s.Status(ctx)
		if err != nil {
			return fmt.Errorf("whatsapp session: %w", err)
		}
		if st.Linked {
			return nil
		}
		adopted, err := s.adoptStored(ctx, &seen)
		if err != nil && ctx.Err() == nil && s.ctx.Err() == nil {
			s.log.Warn("whatsapp: reading the device store for a link", "err", err)
		}
		if adopted {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.ctx.Done():
			return ErrClosed
		case <-wake:
		case <-ticker.C:
		}
	}
}

// adoptStored switches the session to the linked device in the device
// store, once *seen (when it was first found there, updated here) is
// adoptAfter ago. It reports whether it switched. It does not while a
// pairing runs, when the session is linked or connected, or after Close.
func (s *Session) adoptStored(ctx context.Context, seen *time.Time) (bool, error) {
	if s.loadLinked == nil {
		return false, nil
	}
	c, err := s.loadLinked(ctx)
	if err != nil || c == nil {
		*seen = time.Time{}
		return false, err
	}
	if seen.IsZero() {
		*seen = time.Now()
		s.log.Info("whatsapp: found an account linked by another process", "phone", "+"+c.LinkedJID().User,
			"switching_in", s.adoptAfter.String())
	}
	if time.Since(*seen) < s.adoptAfter {
		return false, nil
	}
	// Unconnected, c emits no events: adding the handler to a client
	// that is then dropped does no harm.
	c.AddEventHandler(s.dispatch)
	s.connMu.Lock()
	if s.ctx.Err() != nil || s.pairing || !s.c.LinkedJID().IsEmpty() || s.c.IsConnected() {
		s.connMu.Unlock()
		return false, nil
	}
	old := s.c
	s.c = c
	close(s.linked)
	s.linked = make(chan struct{})
	s.connMu.Unlock()
	old.Disconnect()
	s.log.Info("whatsapp: switched to the account linked by another process", "phone", "+"+c.LinkedJID().User)
	return true, nil
}
