package session

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"
)

// newTestPairer is a Pairer on an unlinked fake session, closed at the
// end of the test before the session.
func newTestPairer(t *testing.T) (*Pairer, *Session, *fakeConn) {
	t.Helper()
	s, c := unlinkedSession(t)
	p := NewPairer(s, slog.New(slog.DiscardHandler))
	t.Cleanup(p.Close) // runs before the session's Close
	return p, s, c
}

// waitView polls p.View until ok accepts it.
func waitView(t *testing.T, p *Pairer, what string, ok func(PairView) bool) PairView {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	for {
		v := p.View()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: view is %+v", what, v)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPairerQRRotationThenLinked(t *testing.T) {
	t.Parallel()
	p, s, c := newTestPairer(t)
	if v := p.View(); v.State != PairStateIdle || v.Running || v.Updated.IsZero() {
		t.Fatalf("new pairer's view %+v", v)
	}
	if _, err := p.QRPNG(0); !errors.Is(err, ErrNoQR) {
		t.Errorf("QRPNG before a pairing = %v, want ErrNoQR", err)
	}
	if err := p.Start(""); err != nil {
		t.Fatal(err)
	}
	if v := p.View(); v.State != PairStateWaitingQR || !v.Running {
		t.Errorf("right after Start: %+v, want waiting_qr and running", v)
	}

	var serials []int
	for _, code := range []string{"2@first", "2@second", "2@third"} {
		c.qr <- qrItem(code, 20*time.Second)
		v := waitView(t, p, code, func(v PairView) bool { return v.QR == code })
		if v.State != PairStateQR || !v.Running || v.Code != "" || v.Phone != "" {
			t.Errorf("showing %s: %+v", code, v)
		}
		serials = append(serials, v.QRSerial)
		b, err := p.QRPNG(300)
		if err != nil {
			t.Fatalf("QRPNG showing %s: %v", code, err)
		}
		if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 300 {
			t.Errorf("QRPNG showing %s: %v, width %d", code, err, cfg.Width)
		}
	}
	if serials[0] < 1 || serials[1] != serials[0]+1 || serials[2] != serials[1]+1 {
		t.Errorf("QR serials %v, want each rotation to count up", serials)
	}
	// A size from a request cannot make a huge image.
	if b, err := p.QRPNG(1 << 20); err != nil {
		t.Fatal(err)
	} else if cfg, err := png.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != pairerPNGMax {
		t.Errorf("QRPNG(1<<20): %v, width %d, want %d", err, cfg.Width, pairerPNGMax)
	}

	c.qr <- whatsmeow.QRChannelScannedWithoutMultidevice
	v := waitView(t, p, "the unsupported-phone note", func(v PairView) bool { return v.Note != "" })
	if v.State != PairStateQR || v.QR != "2@third" || !strings.Contains(v.Note, "update WhatsApp") {
		t.Errorf("after a scan by an old phone: %+v", v)
	}

	c.link(pairedJID)
	c.qr <- whatsmeow.QRChannelSuccess
	c.emit(&events.Connected{})
	v = waitView(t, p, "the end of the pairing", func(v PairView) bool { return !v.Running })
	want := PairView{State: PairStateLinked, Phone: "+919876543210", QRSerial: serials[2]}
	if v.Updated.IsZero() {
		t.Error("Updated not set")
	}
	v.Updated = time.Time{}
	if v != want {
		t.Errorf("after success: %+v, want %+v", v, want)
	}
	if _, err := p.QRPNG(0); !errors.Is(err, ErrNoQR) {
		t.Errorf("QRPNG after success = %v, want ErrNoQR", err)
	}
	if !s.IsConnected() {
		t.Error("the session should stay connected after the link")
	}
	// The linked state stays.
	if v := p.View(); v.State != PairStateLinked || v.Phone != "+919876543210" {
		t.Errorf("later: %+v", v)
	}
	if err := p.Start(""); !errors.Is(err, ErrAlreadyLinked) {
		t.Errorf("Start while linked = %v, want ErrAlreadyLinked", err)
	}

	// A logout, from wherever, shows.
	c.setLoggedIn(true)
	if err := s.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := p.View(); v.State != PairStateIdle || v.Phone != "" {
		t.Errorf("after logout: %+v, want idle", v)
	}
}

func TestPairerPhoneCode(t *testing.T) {
	t.Parallel()
	p, _, c := newTestPairer(t)
	if err := p.Start("+91 98765 43210"); err != nil {
		t.Fatal(err)
	}
	c.qr <- qrItem("2@a", time.Second)
	v := waitView(t, p, "the code", func(v PairView) bool { return v.State == PairStateCode })
	if v.Code != "ABCD-EFGH" || v.Phone != "+919876543210" || v.QR != "" || !v.Running {
		t.Errorf("code view %+v", v)
	}
	if _, err := p.QRPNG(0); !errors.Is(err, ErrNoQR) {
		t.Errorf("QRPNG while pairing by code = %v, want ErrNoQR", err)
	}
	c.qr <- qrItem("2@b", time.Second) // rotates underneath; the code stays
	c.link(pairedJID)
	c.qr <- whatsmeow.QRChannelSuccess
	c.emit(&events.Connected{})
	v = waitView(t, p, "the end", func(v PairView) bool { return !v.Running })
	if v.State != PairStateLinked || v.Phone != "+919876543210" || v.Code != "" {
		t.Errorf("after success: %+v", v)
	}
}

func TestPairerRefusals(t *testing.T) {
	t.Parallel()
	p, s, c := newTestPairer(t)
	for _, bad := range []string{"919876543210", "+0123", "call me"} {
		if err := p.Start(bad); err == nil || !strings.Contains(err.Error(), "international format") {
			t.Errorf("Start(%q) = %v, want a refusal of the number", bad, err)
		}
	}
	s.loadLinked = func(context.Context) (conn, error) { return newFakeConn(), nil }
	if err := p.Start(""); !errors.Is(err, ErrAlreadyLinked) || !strings.Contains(err.Error(), "+15550001111") {
		t.Errorf("Start with an account in the device store = %v", err)
	}
	s.loadLinked = nil
	if v := p.View(); v.State != PairStateIdle || v.Running {
		t.Errorf("after refusals: %+v, want idle and nothing running", v)
	}
	if c.connects != 0 {
		t.Errorf("connected %d times; refusals come first", c.connects)
	}

	// Two at once: one runs, the other is refused.
	if err := p.Start(""); err != nil {
		t.Fatal(err)
	}
	if err := p.Start("+919876543210"); !errors.Is(err, ErrPairingInProgress) {
		t.Errorf("second Start = %v, want ErrPairingInProgress", err)
	}
}

func TestPairerFailureAndTimeoutStay(t *testing.T) {
	t.Parallel()
	p, _, c := newTestPairer(t)
	c.connectFn = func() {
		c.qr <- whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventError, Error: errors.New("bad signature")}
	}
	if err := p.Start(""); err != nil {
		t.Fatal(err)
	}
	v := waitView(t, p, "the failure", func(v PairView) bool { return !v.Running })
	if v.State != PairStateFailed || !strings.Contains(v.Err, "bad signature") {
		t.Errorf("after an error: %+v", v)
	}
	if again := p.View(); again.State != PairStateFailed || again.Err != v.Err || !again.Updated.Equal(v.Updated) {
		t.Errorf("the failure did not stay: %+v", again)
	}

	// The next Start replaces it.
	c.qr = make(chan whatsmeow.QRChannelItem, 8)
	c.connectFn = func() {
		c.qr <- qrItem("2@a", time.Second)
		c.qr <- whatsmeow.QRChannelTimeout
	}
	if err := p.Start(""); err != nil {
		t.Fatalf("Start after a failure = %v", err)
	}
	v = waitView(t, p, "the timeout", func(v PairView) bool { return !v.Running })
	if v.State != PairStateTimeout || v.Err != ErrPairTimeout.Error() || v.QR != "" {
		t.Errorf("after a timeout: %+v", v)
	}

	// A pairing that cannot start in the background fails in the view.
	c.qr = nil
	c.connectFn = nil
	if err := p.Start(""); err != nil {
		t.Fatalf("Start = %v", err)
	}
	v = waitView(t, p, "the failure to start", func(v PairView) bool { return !v.Running })
	if v.State != PairStateFailed || !strings.Contains(v.Err, "no QR channel") {
		t.Errorf("after GetQRChannel failed: %+v", v)
	}
}

func TestPairerCancel(t *testing.T) {
	t.Parallel()
	p, s, c := newTestPairer(t)
	p.Cancel() // nothing runs: a no-op
	if err := p.Start(""); err != nil {
		t.Fatal(err)
	}
	c.qr <- qrItem("2@a", time.Minute)
	waitView(t, p, "the QR code", func(v PairView) bool { return v.State == PairStateQR })
	p.Cancel()
	// Cancel waits: the result shows at once.
	v := p.View()
	if v.State != PairStateIdle || v.Running || v.QR != "" || !strings.Contains(v.Note, "cancelled") || v.Err != "" {
		t.Errorf("after Cancel: %+v", v)
	}
	if c.disconns == 0 {
		t.Error("a cancelled pairing should disconnect")
	}
	s.connMu.RLock()
	pairing := s.pairing
	s.connMu.RUnlock()
	if pairing {
		t.Error("the session still pairs after Cancel")
	}
	if err := p.Start(""); err != nil {
		t.Errorf("Start after Cancel = %v", err)
	}
}

// Close ends the background pairing and waits for it; Start is refused
// after.
func TestPairerCloseStopsThePairing(t *testing.T) {
	t.Parallel()
	p, s, c := newTestPairer(t)
	if err := p.Start(""); err != nil {
		t.Fatal(err)
	}
	c.qr <- qrItem("2@a", time.Minute)
	waitView(t, p, "the QR code", func(v PairView) bool { return v.State == PairStateQR })
	p.mu.Lock()
	done := p.run.done
	p.mu.Unlock()

	closed := make(chan struct{})
	go func() { p.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(failAfter):
		t.Fatal("Close did not return")
	}
	select {
	case <-done:
	default:
		t.Fatal("Close returned before the pairing ended")
	}
	if v := p.View(); v.Running || v.State != PairStateIdle || v.Err != "" {
		t.Errorf("after Close: %+v, want idle", v)
	}
	if c.disconns == 0 {
		t.Error("the closed pairing should disconnect")
	}
	// The session's own goroutine has ended too: another pairing of it
	// may start, and ends when cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	evs, err := s.StartPairing(ctx, "")
	if err != nil {
		t.Fatalf("StartPairing after the Pairer's Close = %v", err)
	}
	cancel()
	collect(t, evs)

	if err := p.Start(""); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	p.Close() // again: fine
}

// Admins poll, start and cancel at once; run with -race.
func TestPairerConcurrentUse(t *testing.T) {
	t.Parallel()
	p, _, c := newTestPairer(t)
	c.connectFn = func() {
		select {
		case c.qr <- qrItem("2@a", time.Minute):
		default:
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v := p.View()
				if v.State == PairStateQR && v.QR == "" {
					t.Errorf("QR state without a code: %+v", v)
					return
				}
				_, _ = p.QRPNG(64)
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 50 {
				if err := p.Start(""); err != nil && !errors.Is(err, ErrPairingInProgress) {
					t.Errorf("Start = %v", err)
					return
				}
				p.Cancel()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	p.Close()
	if v := p.View(); v.Running {
		t.Errorf("after Close: %+v", v)
	}
}
