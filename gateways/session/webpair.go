package session

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// The states of PairView.State.
const (
	// PairStateIdle: no pairing runs and no account is linked.
	PairStateIdle = "idle"
	// PairStateWaitingQR: a pairing started and waits for WhatsApp's
	// first code (a QR code, or the phone pairing code).
	PairStateWaitingQR = "waiting_qr"
	// PairStateQR: PairView.QR is the QR code to scan.
	PairStateQR = "qr"
	// PairStateCode: PairView.Code is the code to type on the phone whose
	// number is PairView.Phone.
	PairStateCode = "code"
	// PairStateLinked: an account is linked; PairView.Phone is its number.
	PairStateLinked = "linked"
	// PairStateFailed: the last pairing failed; PairView.Err says why.
	PairStateFailed = "failed"
	// PairStateTimeout: nobody used the last pairing's codes in time.
	PairStateTimeout = "timeout"
)

// pairerCheckTimeout bounds Start's read of the device store.
const pairerCheckTimeout = 15 * time.Second

// pairerPNGMax is the largest QR image Pairer.QRPNG renders, so that a
// size taken from a request cannot make it allocate gigabytes.
const pairerPNGMax = 1024

// ErrNoQR: Pairer.QRPNG was called while no QR code waits for a scan.
var ErrNoQR = errors.New("no QR code to show: no pairing by QR code is waiting for a scan")

// PairView is what the admin page shows of a Pairer.
type PairView struct {
	// State is one of the PairState constants: "idle", "waiting_qr",
	// "qr", "code", "linked", "failed", "timeout".
	State string
	// QR is the current QR payload when State is "qr"; the page fetches
	// its PNG from QRPNG by a separate request.
	QR string
	// QRSerial changes each time the QR code rotates, so that the page's
	// <img src="...?v=N"> refreshes. It only grows over the Pairer's
	// life, across pairings too, so that no browser cache serves an old
	// code.
	QRSerial int
	// Code is the phone pairing code when State is "code".
	Code string
	// Phone is the linked number (+E.164) when State is "linked", and the
	// number Code is for when State is "code".
	Phone string
	// Err is a person-readable reason when State is "failed" or
	// "timeout". It holds no codes or keys.
	Err string
	// Note is a hint for the person beside the state, e.g. that the
	// phone which scanned the code needs a WhatsApp update, or that the
	// pairing was cancelled. Often empty.
	Note string
	// Running: a pairing runs (Start was called and it has not ended);
	// Cancel stops it, and Start returns ErrPairingInProgress meanwhile.
	Running bool
	// Updated is when the view last changed.
	Updated time.Time
}

// Pairer runs at most one pairing of a Session in the background and
// keeps its latest state for pages that poll. An HTTP request only
// starts, cancels or looks: the pairing itself runs under a context the
// Pairer owns, not the request's. Its methods are safe for concurrent
// use.
type Pairer struct {
	s   *Session
	log *slog.Logger

	// ctx ends at Close; every pairing runs under it.
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	closed bool
	run    *pairRun // the pairing in progress; nil when none
	view   PairView
}

// pairRun is one pairing started by Pairer.Start.
type pairRun struct {
	cancel    context.CancelFunc
	cancelled bool          // Cancel stopped it; guarded by Pairer.mu
	done      chan struct{} // closed when it has ended
}

// NewPairer returns a Pairer for s. It starts nothing; Close it before
// closing s. log may be nil.
func NewPairer(s *Session, log *slog.Logger) *Pairer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	return &Pairer{
		s: s, log: log.With("component", "gateways.session", "pairer", "web"),
		ctx: ctx, cancel: cancel,
		view: PairView{State: PairStateIdle, Updated: time.Now()},
	}
}

// Start begins pairing: with phone "" by QR codes, otherwise by a
// pairing code for that phone (E.164, e.g. "+919876543210"). It returns
// once the pairing runs in the background, and returns the refusals that
// come before it: ErrPairingInProgress while one runs, ErrAlreadyLinked
// when an account is linked (here or, by another process, in the device
// store), an error for a phone that is not a number, ErrClosed after
// Close or the session's Close. Connecting and everything after is
// reported by View. The pairing ends on success, timeout, error, Cancel
// or Close; its final state stays in View until the next Start.
func (p *Pairer) Start(phone string) error {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return ErrClosed
	case p.run != nil:
		p.mu.Unlock()
		return ErrPairingInProgress
	}
	ctx, cancel := context.WithCancel(p.ctx)
	run := &pairRun{cancel: cancel, done: make(chan struct{})}
	p.run = run
	p.mu.Unlock()

	// The device store is read outside the lock, so that pages polling
	// View do not wait for it; run, in place, keeps other Starts out.
	cctx, ccancel := context.WithTimeout(ctx, pairerCheckTimeout)
	_, err := p.s.checkPairing(cctx, phone)
	ccancel()

	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case run.cancelled:
		p.endLocked(run, PairView{State: PairStateIdle, Note: "Pairing cancelled."})
		return nil
	case ctx.Err() != nil:
		p.endLocked(run, p.view)
		return ErrClosed
	case err != nil:
		p.endLocked(run, p.view)
		return err
	}
	p.setLocked(PairView{State: PairStateWaitingQR})
	mode := "qr"
	if phone != "" {
		mode = "phone-code"
	}
	p.log.Info("whatsapp: pairing started from the admin page", "mode", mode)
	go p.pair(ctx, run, phone)
	return nil
}

// pair runs one pairing and records its events in the view.
func (p *Pairer) pair(ctx context.Context, run *pairRun, phone string) {
	evs, err := p.s.StartPairing(ctx, phone)
	if err != nil {
		p.finish(run, PairEvent{Kind: PairError, Err: err})
		return
	}
	var last PairEvent
	for ev := range evs {
		last = ev
		if !ev.Terminal() {
			p.apply(ev)
		}
	}
	if !last.Terminal() {
		last = PairEvent{Kind: PairError, Err: errors.New("whatsapp pairing ended without a result; try again")}
	}
	p.finish(run, last)
}

// apply records a non-terminal event.
func (p *Pairer) apply(ev PairEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.view
	switch ev.Kind {
	case PairQRCode:
		// A note (phone unsupported) stays while the codes rotate.
		v = PairView{State: PairStateQR, QR: ev.Code, QRSerial: v.QRSerial + 1, Note: v.Note}
	case PairPhoneCode:
		v = PairView{State: PairStateCode, Code: ev.Code, Phone: ev.Phone}
	case PairPhoneUnsupported:
		v.Note = "The phone scanned the code but its WhatsApp does not support linked devices; update WhatsApp on it and scan again."
	case PairConfirmed:
		v = PairView{State: PairStateLinked, Phone: ev.Phone, Note: "The phone confirmed the link; waiting for WhatsApp to connect."}
	default:
		return
	}
	p.setLocked(v)
}

// finish records the terminal event of run and ends it.
func (p *Pairer) finish(run *pairRun, ev PairEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var v PairView
	switch {
	case ev.Kind == PairSuccess:
		v = PairView{State: PairStateLinked, Phone: ev.Phone}
		if !ev.Connected {
			v.Note = "Linked, but WhatsApp has not connected yet."
		}
	case run.cancelled:
		v = PairView{State: PairStateIdle, Note: "Pairing cancelled."}
	case p.closed:
		v = PairView{State: PairStateIdle, Note: "Pairing stopped: the server is shutting down."}
	case ev.Kind == PairTimeout:
		v = PairView{State: PairStateTimeout, Err: errText(ev.Err, ErrPairTimeout)}
	default:
		v = PairView{State: PairStateFailed, Err: errText(ev.Err, errors.New("whatsapp pairing failed; try again"))}
	}
	p.endLocked(run, v)
}

// errText is err's text, or fallback's when err is nil.
func errText(err, fallback error) string {
	if err == nil {
		err = fallback
	}
	return err.Error()
}

// setLocked replaces the view, keeping QRSerial growing. Call with p.mu
// held.
func (p *Pairer) setLocked(v PairView) {
	v.QRSerial = max(v.QRSerial, p.view.QRSerial)
	v.Running = false // View computes it
	v.Updated = time.Now()
	p.view = v
}

// endLocked sets the view to v and marks run as ended. Call with p.mu
// held.
func (p *Pairer) endLocked(run *pairRun, v PairView) {
	p.setLocked(v)
	run.cancel()
	if p.run == run {
		p.run = nil
	}
	close(run.done)
}

// View returns the latest state. When no pairing runs it also follows
// the session: "linked" once it is linked (also by another process,
// once WaitLinked has switched to that link), "idle" once a linked
// account is logged out.
func (p *Pairer) View() PairView {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		jid := p.s.LinkedJID()
		switch {
		case !jid.IsEmpty() && (p.view.State != PairStateLinked || p.view.Phone != "+"+jid.User):
			p.setLocked(PairView{State: PairStateLinked, Phone: "+" + jid.User})
		case jid.IsEmpty() && p.view.State == PairStateLinked:
			p.setLocked(PairView{State: PairStateIdle})
		}
	}
	v := p.view
	v.Running = p.run != nil
	return v
}

// QRPNG renders the current QR code as a PNG of size×size pixels (256
// when size ≤ 0, at most 1024). It returns ErrNoQR when no QR code waits
// for a scan.
func (p *Pairer) QRPNG(size int) ([]byte, error) {
	p.mu.Lock()
	code := ""
	if p.run != nil && p.view.State == PairStateQR {
		code = p.view.QR
	}
	p.mu.Unlock()
	if code == "" {
		return nil, ErrNoQR
	}
	return QRPNG(code, min(size, pairerPNGMax))
}

// Cancel stops the running pairing, if any, and waits until it has
// ended; View then shows "idle" (or "linked" when the phone had already
// confirmed the link).
func (p *Pairer) Cancel() {
	p.mu.Lock()
	run := p.run
	if run != nil {
		run.cancelled = true
		run.cancel()
	}
	p.mu.Unlock()
	if run == nil {
		return
	}
	p.log.Info("whatsapp: pairing cancelled from the admin page")
	<-run.done
}

// Close stops the running pairing, if any, waits until it has ended and
// refuses further Starts. It is safe to call more than once.
func (p *Pairer) Close() {
	p.mu.Lock()
	p.closed = true
	run := p.run
	p.mu.Unlock()
	p.cancel(ErrClosed)
	if run != nil {
		<-run.done
	}
}
