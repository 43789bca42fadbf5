package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"
)

// pairConnectWait bounds the wait for the first connection after the phone
// confirmed the link.
const pairConnectWait = time.Minute

// pairDisplayName is how a phone-code link presents itself; WhatsApp
// accepts only "Browser (OS)" names of common browsers.
const pairDisplayName = "Chrome (Linux)"

// pairEventBuffer is the capacity of StartPairing's channel: more than a
// whole pairing's events (WhatsApp sends six QR codes), so that a slow
// reader delays nothing.
const pairEventBuffer = 16

// qrPNGSize is QRPNG's size when none is given.
const qrPNGSize = 256

// PairEventKind says what a PairEvent reports.
type PairEventKind int

// The kinds of PairEvent. PairSuccess, PairTimeout and PairError end a
// pairing; the others may be followed by more events.
const (
	// PairQRCode: Code is a QR payload to show for the phone to scan
	// (WhatsApp → Settings → Linked devices → Link a device); Expires is
	// how long it is valid. WhatsApp rotates the codes: a new event
	// replaces the previous code.
	PairQRCode PairEventKind = iota + 1
	// PairPhoneCode: Code is the 8-character pairing code to type on the
	// phone whose number is Phone ("Link with phone number instead").
	// It comes once and stays valid while the pairing runs.
	PairPhoneCode
	// PairPhoneUnsupported: the phone scanned the code, but its WhatsApp
	// does not support linked devices; update it and scan again.
	PairPhoneUnsupported
	// PairConfirmed: the phone confirmed the link; the device is stored.
	// The pairing waits up to a minute for the first connection, then
	// sends PairSuccess.
	PairConfirmed
	// PairSuccess: linked. JID and Phone name the account; Connected
	// says whether the first connection came up (the session stays
	// connected until Close).
	PairSuccess
	// PairTimeout: nobody used the codes in time (about 160 s). Err is
	// ErrPairTimeout.
	PairTimeout
	// PairError: the pairing failed or was stopped. Err says why: ctx's
	// cause when ctx ended, ErrClosed when the session was closed.
	PairError
)

// String names the kind in logs and JSON, e.g. "qr-code".
func (k PairEventKind) String() string {
	switch k {
	case PairQRCode:
		return "qr-code"
	case PairPhoneCode:
		return "phone-code"
	case PairPhoneUnsupported:
		return "phone-unsupported"
	case PairConfirmed:
		return "confirmed"
	case PairSuccess:
		return "success"
	case PairTimeout:
		return "timeout"
	case PairError:
		return "error"
	}
	return fmt.Sprintf("PairEventKind(%d)", int(k))
}

// PairEvent is one step of a pairing; see PairEventKind for which fields
// each kind sets.
type PairEvent struct {
	Kind PairEventKind
	// Code is the QR payload (PairQRCode) or the pairing code
	// (PairPhoneCode).
	Code string
	// Expires is how long the QR code is valid (PairQRCode).
	Expires time.Duration
	// JID is the linked device, e.g. "919876543210:12@s.whatsapp.net"
	// (PairConfirmed, PairSuccess).
	JID string
	// Phone is a number in E.164, e.g. "+919876543210": the one the code
	// is for (PairPhoneCode) or the linked one (PairConfirmed,
	// PairSuccess).
	Phone string
	// Connected: the first connection after the link is up (PairSuccess).
	Connected bool
	// Err is why the pairing ended (PairTimeout, PairError).
	Err error
}

// Terminal reports whether the event ends the pairing.
func (e PairEvent) Terminal() bool {
	return e.Kind == PairSuccess || e.Kind == PairTimeout || e.Kind == PairError
}

// StartPairing links a WhatsApp account to this session and reports the
// steps on the returned channel. With phone "" it sends QR codes to show,
// a new one as each expires. With a phone number (E.164, e.g.
// "+919876543210") it sends a pairing code to type on that phone instead.
// The channel closes after a terminal event (PairSuccess, PairTimeout,
// PairError). Read it until it closes, or cancel ctx: the pairing stops,
// disconnects and the channel closes, after a PairError event with ctx's
// cause if there is room for it.
//
// It returns an error, without connecting, when phone is not a number,
// ErrAlreadyLinked when an account is linked (also by another process:
// it reads the device store), ErrPairingInProgress when a pairing of
// this session runs, ErrClosed after Close, and whatsmeow's error when it
// cannot start. After success the session stays connected until Close;
// WaitLinked returns.
func (s *Session) StartPairing(ctx context.Context, phone string) (<-chan PairEvent, error) {
	digits, err := s.checkPairing(ctx, phone)
	if err != nil {
		return nil, err
	}
	c, err := s.beginPairing()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(s.ctx, func() { cancel(ErrClosed) })
	qr, err := c.GetQRChannel(ctx)
	if err != nil {
		stop()
		cancel(nil)
		s.endPairing()
		return nil, fmt.Errorf("whatsapp pairing: %w", err)
	}
	connected := make(chan struct{}, 1)
	remove := s.AddHandler(func(evt any) {
		if _, ok := evt.(*events.Connected); ok {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	})
	if err := c.ConnectContext(s.ctx); err != nil {
		remove()
		stop()
		cancel(nil)
		c.Disconnect()
		s.endPairing()
		return nil, fmt.Errorf("whatsapp pairing: connect: %w", err)
	}
	out := make(chan PairEvent, pairEventBuffer)
	p := &pairing{s: s, c: c, qr: qr, connected: connected, digits: digits, out: out}
	go func() {
		defer close(out)
		defer stop()
		defer cancel(nil)
		ev := p.run(ctx)
		remove()
		if ev.Kind == PairSuccess {
			s.log.Info("whatsapp: paired", "phone", ev.Phone, "connected", ev.Connected)
		} else {
			c.Disconnect()
			s.log.Warn("whatsapp: pairing ended", "result", ev.Kind.String(), "err", ev.Err)
		}
		// A reader that sees the terminal event may start again at once.
		s.endPairing()
		p.deliver(ctx, ev)
	}()
	return out, nil
}

// checkPairing returns StartPairing's refusals that come before it
// connects: a phone that is not a number, an account linked here or in
// the device store, a pairing in progress, a closed session. It returns
// the phone's digits ("" for QR codes). It reserves nothing: a pairing
// may still start between it and beginPairing, which checks again.
func (s *Session) checkPairing(ctx context.Context, phone string) (digits string, err error) {
	if phone != "" {
		if digits, err = pairingPhone(phone); err != nil {
			return "", err
		}
	}
	s.connMu.RLock()
	closed, busy, jid := s.ctx.Err() != nil, s.pairing, s.c.LinkedJID()
	s.connMu.RUnlock()
	switch {
	case closed:
		return "", ErrClosed
	case busy:
		return "", ErrPairingInProgress
	case !jid.IsEmpty():
		return "", fmt.Errorf("%w (+%s)", ErrAlreadyLinked, jid.User)
	}
	if s.loadLinked != nil {
		stored, err := s.loadLinked(ctx)
		if err != nil {
			return "", fmt.Errorf("whatsapp pairing: %w", err)
		}
		if stored != nil {
			return "", fmt.Errorf("%w (+%s)", ErrAlreadyLinked, stored.LinkedJID().User)
		}
	}
	return digits, nil
}

// beginPairing marks a pairing as running and returns the client to pair.
func (s *Session) beginPairing() (conn, error) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch {
	case s.ctx.Err() != nil:
		return nil, ErrClosed
	case s.pairing:
		return nil, ErrPairingInProgress
	}
	if jid := s.c.LinkedJID(); !jid.IsEmpty() {
		return nil, fmt.Errorf("%w (+%s)", ErrAlreadyLinked, jid.User)
	}
	s.pairing = true
	return s.c, nil
}

// endPairing marks the pairing as ended.
func (s *Session) endPairing() {
	s.connMu.Lock()
	s.pairing = false
	s.connMu.Unlock()
}

// signalLinked wakes WaitLinked.
func (s *Session) signalLinked() {
	s.connMu.Lock()
	close(s.linked)
	s.linked = make(chan struct{})
	s.connMu.Unlock()
}

// pairing is one run of StartPairing.
type pairing struct {
	s         *Session
	c         conn
	qr        <-chan whatsmeow.QRChannelItem
	connected <-chan struct{}
	digits    string // pair by a code for this number; "" for QR codes
	out       chan<- PairEvent
}

// send sends a non-terminal event; false when ctx ended first.
func (p *pairing) send(ctx context.Context, ev PairEvent) bool {
	select {
	case p.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// deliver sends the terminal event: while ctx lasts, or if there is room
// after it ended.
func (p *pairing) deliver(ctx context.Context, ev PairEvent) {
	if p.send(ctx, ev) {
		return
	}
	select {
	case p.out <- ev:
	default:
	}
}

// run drives whatsmeow's QR channel and returns the terminal event.
func (p *pairing) run(ctx context.Context) PairEvent {
	fail := func(err error) PairEvent { return PairEvent{Kind: PairError, Err: err} }
	stopped := func() PairEvent { return fail(fmt.Errorf("whatsapp pairing stopped: %w", context.Cause(ctx))) }
	codeSent := false // the phone code was sent
	gotCode := false  // WhatsApp answered with at least one code
	for {
		var item whatsmeow.QRChannelItem
		var open bool
		select {
		case <-ctx.Done():
			return stopped()
		case item, open = <-p.qr:
		}
		if !open {
			if ctx.Err() != nil {
				return stopped()
			}
			return fail(errors.New("whatsapp pairing ended without a result; try again"))
		}
		switch item.Event {
		case whatsmeow.QRChannelEventCode:
			gotCode = true
			if p.digits == "" {
				if !p.send(ctx, PairEvent{Kind: PairQRCode, Code: item.Code, Expires: item.Timeout}) {
					return stopped()
				}
				continue
			}
			if codeSent {
				continue // the phone code stays valid while QR codes rotate
			}
			code, err := p.c.PairPhone(ctx, p.digits, true, whatsmeow.PairClientChrome, pairDisplayName)
			if err != nil {
				if ctx.Err() != nil {
					return stopped()
				}
				return fail(fmt.Errorf("whatsapp pairing: requesting a code for +%s: %w", p.digits, err))
			}
			codeSent = true
			if !p.send(ctx, PairEvent{Kind: PairPhoneCode, Code: code, Phone: "+" + p.digits}) {
				return stopped()
			}
		case whatsmeow.QRChannelSuccess.Event:
			return p.linked(ctx)
		case whatsmeow.QRChannelTimeout.Event:
			if !gotCode {
				// Disconnected before any code: WhatsApp was not reached.
				return fail(errors.New("whatsapp pairing: could not reach WhatsApp; check the network and try again"))
			}
			return PairEvent{Kind: PairTimeout, Err: ErrPairTimeout}
		case whatsmeow.QRChannelEventError:
			return fail(fmt.Errorf("whatsapp pairing failed: %w", item.Error))
		case whatsmeow.QRChannelClientOutdated.Event:
			return fail(errors.New("whatsapp pairing failed: WhatsApp refuses this client as out of date; upgrade MessageBridge"))
		case whatsmeow.QRChannelScannedWithoutMultidevice.Event:
			if !p.send(ctx, PairEvent{Kind: PairPhoneUnsupported}) {
				return stopped()
			}
		default:
			return fail(fmt.Errorf("whatsapp pairing failed: %s", item.Event))
		}
	}
}

// linked follows the phone's confirmation: it wakes WaitLinked, reports
// PairConfirmed and waits for the first connection.
func (p *pairing) linked(ctx context.Context) PairEvent {
	p.s.signalLinked()
	// The device is linked now, whatever happens to ctx: the result is
	// PairSuccess.
	p.send(ctx, withAccount(PairEvent{Kind: PairConfirmed}, p.c))
	wait := time.NewTimer(p.s.pairConnectWait)
	defer wait.Stop()
	connected := false
	select {
	case <-p.connected:
		connected = true
	case <-wait.C:
	case <-ctx.Done():
	}
	return withAccount(PairEvent{Kind: PairSuccess, Connected: connected}, p.c)
}

// withAccount sets ev's JID and Phone to c's linked account, if any.
func withAccount(ev PairEvent, c conn) PairEvent {
	if jid := c.LinkedJID(); !jid.IsEmpty() {
		ev.JID, ev.Phone = jid.String(), "+"+jid.User
	}
	return ev
}

// QRPNG renders a QR payload (PairEvent.Code of a PairQRCode event) as a
// PNG image of size×size pixels (256 when size ≤ 0; larger when the code
// needs more).
func QRPNG(code string, size int) ([]byte, error) {
	if code == "" {
		return nil, errors.New("whatsapp pairing: no QR code to render")
	}
	if size <= 0 {
		size = qrPNGSize
	}
	png, err := qrcode.Encode(code, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("whatsapp pairing: rendering the QR code: %w", err)
	}
	return png, nil
}

// QRText renders a QR payload as text, two rows of modules per line, for
// a terminal with a dark background.
func QRText(code string) (string, error) {
	q, err := qrcode.New(code, qrcode.Low)
	if err != nil {
		return "", fmt.Errorf("whatsapp pairing: rendering the QR code: %w", err)
	}
	return q.ToSmallString(false), nil
}

// PrintPairEvent writes ev for a person at a terminal: the QR code as
// text, the pairing code, a note or the result. It writes nothing for
// PairTimeout and PairError: return their Err instead.
func PrintPairEvent(out io.Writer, ev PairEvent) error {
	var err error
	switch ev.Kind {
	case PairQRCode:
		var qr string
		if qr, err = QRText(ev.Code); err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "Scan this QR code with WhatsApp on the phone (Settings → Linked devices → Link a device).\n"+
			"It is valid for %d seconds; a new one follows.\n\n%s\n", int(ev.Expires.Seconds()), qr)
	case PairPhoneCode:
		_, err = fmt.Fprintf(out, "On the phone with number %s, open WhatsApp → Settings → Linked devices → Link a device →\n"+
			"\"Link with phone number instead\", and enter this code:\n\n    %s\n\n", ev.Phone, ev.Code)
	case PairPhoneUnsupported:
		_, err = fmt.Fprintln(out, "The phone scanned the code but does not support linked devices; update WhatsApp on it and scan again.")
	case PairConfirmed:
		_, err = fmt.Fprintln(out, "The phone confirmed the link; waiting for WhatsApp to connect…")
	case PairSuccess:
		if ev.Connected {
			_, err = fmt.Fprintf(out, "Linked: %s is now connected as %s.\n", ev.Phone, deviceName)
		} else {
			_, err = fmt.Fprintf(out, "Linked %s, but WhatsApp has not connected yet; check with `messagebridge whatsapp status`.\n", ev.Phone)
		}
	}
	if err != nil {
		return fmt.Errorf("whatsapp pairing: %w", err)
	}
	return nil
}

// pairingPhone checks a phone number for pairing and returns its digits.
func pairingPhone(phone string) (string, error) {
	p := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(phone))
	digits, ok := strings.CutPrefix(p, "+")
	if !ok || !allDigits(digits) || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", fmt.Errorf("whatsapp pairing: %q is not a phone number in international format like +919876543210", phone)
	}
	return digits, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
