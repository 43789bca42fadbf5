package session

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// failAfter bounds every wait in these tests; nothing should come close.
const failAfter = 10 * time.Second

var pairedJID = types.JID{User: "919876543210", Device: 12, Server: types.DefaultUserServer}

// unlinkedSession is a session on a fake client with no account linked
// and a buffered QR channel.
func unlinkedSession(t *testing.T) (*Session, *fakeConn) {
	t.Helper()
	c := newFakeConn()
	c.linked, c.loggedIn, c.connected = types.EmptyJID, false, false
	c.qr = make(chan whatsmeow.QRChannelItem, 8)
	s := newSession(c, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = s.Close() })
	return s, c
}

// link makes the fake linked, as whatsmeow's store is before it reports
// the pairing's success.
func (f *fakeConn) link(jid types.JID) {
	f.mu.Lock()
	f.linked = jid
	f.mu.Unlock()
}

// collect reads evs until it closes.
func collect(t *testing.T, evs <-chan PairEvent) []PairEvent {
	t.Helper()
	var got []PairEvent
	timeout := time.After(failAfter)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("the event channel did not close; events so far: %+v", got)
		}
	}
}

func kinds(evs []PairEvent) string {
	var ks []string
	for _, ev := range evs {
		ks = append(ks, ev.Kind.String())
	}
	return strings.Join(ks, ",")
}

func qrItem(code string, timeout time.Duration) whatsmeow.QRChannelItem {
	return whatsmeow.QRChannelItem{Event: whatsmeow.QRChannelEventCode, Code: code, Timeout: timeout}
}

func TestStartPairingQRRotationThenSuccess(t *testing.T) {
	t.Parallel()
	s, c := unlinkedSession(t)
	c.connectFn = func() {
		c.qr <- qrItem("2@first", 60*time.Second)
		c.qr <- qrItem("2@second", 20*time.Second)
		c.qr <- whatsmeow.QRChannelScannedWithoutMultidevice
		c.link(pairedJID)
		c.qr <- whatsmeow.QRChannelSuccess
		close(c.qr)
		c.emit(&events.Connected{})
	}
	evs, err := s.StartPairing(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, evs)
	if k := kinds(got); k != "qr-code,qr-code,phone-unsupported,confirmed,success" {
		t.Fatalf("events %s: %+v", k, got)
	}
	if got[0].Code != "2@first" || got[0].Expires != 60*time.Second || got[1].Code != "2@second" || got[1].Expires != 20*time.Second {
		t.Errorf("QR events %+v, %+v", got[0], got[1])
	}
	account := PairEvent{JID: "919876543210:12@s.whatsapp.net", Phone: "+919876543210"}
	if ev := got[3]; ev.JID != account.JID || ev.Phone != account.Phone {
		t.Errorf("confirmed = %+v", ev)
	}
	want := PairEvent{Kind: PairSuccess, JID: account.JID, Phone: account.Phone, Connected: true}
	if got[4] != want || !got[4].Terminal() {
		t.Errorf("success = %+v, want %+v", got[4], want)
	}
	if len(c.pairCalls) != 0 || c.disconns != 0 || !s.IsConnected() {
		t.Errorf("pairCalls %v, disconnects %d, connected %v; want no phone code and the connection kept",
			c.pairCalls, c.disconns, s.IsConnected())
	}
	if _, err := s.StartPairing(context.Background(), ""); !errors.Is(err, ErrAlreadyLinked) || !strings.Contains(err.Error(), "+919876543210") {
		t.Errorf("pairing again = %v, want ErrAlreadyLinked naming the number", err)
	}
}

func TestStartPairingPhoneCode(t *testing.T) {
	t.Parallel()
	s, c := unlinkedSession(t)
	c.connectFn = func() {
		c.qr <- qrItem("2@a", time.Second)
		c.qr <- qrItem("2@b", time.Second) // QR codes rotate; the phone code stays
		c.link(pairedJID)
		c.qr <- whatsmeow.QRChannelSuccess
		close(c.qr)
		c.emit(&events.Connected{})
	}
	evs, err := s.StartPairing(context.Background(), "+91 98765-43210")
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, evs)
	if k := kinds(got); k != "phone-code,confirmed,success" {
		t.Fatalf("events %s: %+v", k, got)
	}
	if want := (PairEvent{Kind: PairPhoneCode, Code: "ABCD-EFGH", Phone: "+919876543210"}); got[0] != want {
		t.Errorf("phone code event = %+v, want %+v", got[0], want)
	}
	if len(c.pairCalls) != 1 || c.pairCalls[0] != "919876543210|Chrome (Linux)" {
		t.Errorf("PairPhone calls = %v, want one for the digits", c.pairCalls)
	}
	if !got[2].Connected || got[2].Phone != "+919876543210" {
		t.Errorf("success = %+v", got[2])
	}
}

func TestStartPairingTimeout(t *testing.T) {
	t.Parallel()
	for _, phone := range []string{"", "+919876543210"} {
		s, c := unlinkedSession(t)
		c.connectFn = func() {
			c.qr <- qrItem("2@a", time.Second)
			c.qr <- qrItem("2@b", time.Second)
			c.qr <- whatsmeow.QRChannelTimeout
			close(c.qr)
		}
		evs, err := s.StartPairing(context.Background(), phone)
		if err != nil {
			t.Fatal(err)
		}
		got := collect(t, evs)
		last := got[len(got)-1]
		if last.Kind != PairTimeout || !errors.Is(last.Err, ErrPairTimeout) {
			t.Errorf("phone %q: events %s, last %+v; want a timeout", phone, kinds(got), last)
		}
		if c.disconns == 0 {
			t.Errorf("phone %q: a failed pairing should disconnect", phone)
		}
		// The pairing is over: another may start.
		c.qr = make(chan whatsmeow.QRChannelItem)
		c.connectFn = nil
		ctx, cancel := context.WithCancel(context.Background())
		evs, err = s.StartPairing(ctx, phone)
		if err != nil {
			t.Fatalf("phone %q: pairing again after a timeout = %v", phone, err)
		}
		cancel()
		collect(t, evs)
	}
}

func TestStartPairingFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		items []whatsmeow.QRChannelItem
		want  string
	}{
		{"unreachable", []whatsmeow.QRChannelItem{whatsmeow.QRChannelTimeout}, "could not reach WhatsApp"},
		{"pair error", []whatsmeow.QRChannelItem{{Event: whatsmeow.QRChannelEventError, Error: errors.New("bad signature")}}, "bad signature"},
		{"outdated", []whatsmeow.QRChannelItem{whatsmeow.QRChannelClientOutdated}, "out of date"},
		{"unexpected", []whatsmeow.QRChannelItem{whatsmeow.QRChannelErrUnexpectedEvent}, whatsmeow.QRChannelErrUnexpectedEvent.Event},
		{"no result", nil, "without a result"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := unlinkedSession(t)
			c.connectFn = func() {
				for _, it := range tt.items {
					c.qr <- it
				}
				close(c.qr)
			}
			evs, err := s.StartPairing(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			got := collect(t, evs)
			if len(got) != 1 || got[0].Kind != PairError || got[0].Err == nil || !strings.Contains(got[0].Err.Error(), tt.want) {
				t.Fatalf("events %+v, want one error with %q", got, tt.want)
			}
			if c.disconns == 0 {
				t.Error("a failed pairing should disconnect")
			}
		})
	}
}

// The link stands even when the first connection does not come.
func TestStartPairingLinkedWithoutConnection(t *testing.T) {
	t.Parallel()
	s, c := unlinkedSession(t)
	s.pairConnectWait = time.Millisecond
	c.connectFn = func() {
		c.qr <- qrItem("2@a", time.Second)
		c.link(pairedJID)
		c.qr <- whatsmeow.QRChannelSuccess
		close(c.qr)
	}
	evs, err := s.StartPairing(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, evs)
	want := PairEvent{Kind: PairSuccess, JID: "919876543210:12@s.whatsapp.net", Phone: "+919876543210"}
	if last := got[len(got)-1]; last != want {
		t.Errorf("last event %+v, want %+v", last, want)
	}
}

func TestStartPairingRefusals(t *testing.T) {
	t.Parallel()
	linked := newFakeConn()
	s := newSession(linked, slog.New(slog.DiscardHandler))
	if _, err := s.StartPairing(context.Background(), ""); !errors.Is(err, ErrAlreadyLinked) || linked.connects != 0 {
		t.Errorf("StartPairing while linked = %v (connects %d)", err, linked.connects)
	}

	s, c := unlinkedSession(t)
	for _, bad := range []string{"919876543210", "+0123456789", "+12", "+91abcdefghij"} {
		if _, err := s.StartPairing(context.Background(), bad); err == nil || c.connects != 0 {
			t.Errorf("StartPairing(%q) = %v, connects %d; want a refusal before connecting", bad, err, c.connects)
		}
	}

	// Linked by another process: the device store holds the account.
	s.loadLinked = func(context.Context) (conn, error) { return newFakeConn(), nil }
	if _, err := s.StartPairing(context.Background(), ""); !errors.Is(err, ErrAlreadyLinked) || !strings.Contains(err.Error(), "+15550001111") {
		t.Errorf("StartPairing with a stored account = %v", err)
	}
	s.loadLinked = func(context.Context) (conn, error) { return nil, errors.New("database is locked") }
	if _, err := s.StartPairing(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("StartPairing with an unreadable store = %v", err)
	}
	s.loadLinked = func(context.Context) (conn, error) { return nil, nil }

	c.qr = nil // GetQRChannel fails; the second try shows the first left no pairing behind
	for range 2 {
		if _, err := s.StartPairing(context.Background(), ""); err == nil || errors.Is(err, ErrPairingInProgress) {
			t.Errorf("StartPairing without a QR channel = %v", err)
		}
	}
	if c.connects != 0 {
		t.Errorf("connected %d times; every refusal comes before connecting", c.connects)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartPairing(context.Background(), ""); !errors.Is(err, ErrClosed) {
		t.Errorf("StartPairing after Close = %v, want ErrClosed", err)
	}
}

// One pairing at a time; cancelling ctx ends it, with ctx's error.
func TestStartPairingInProgressAndCancel(t *testing.T) {
	t.Parallel()
	s, c := unlinkedSession(t)
	c.connectFn = func() { c.qr <- qrItem("2@a", time.Minute) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, err := s.StartPairing(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-evs:
		if ev.Kind != PairQRCode {
			t.Fatalf("first event %+v", ev)
		}
	case <-time.After(failAfter):
		t.Fatal("no QR code")
	}
	if _, err := s.StartPairing(context.Background(), ""); !errors.Is(err, ErrPairingInProgress) {
		t.Errorf("second StartPairing = %v, want ErrPairingInProgress", err)
	}
	cancel()
	got := collect(t, evs)
	if len(got) != 1 || got[0].Kind != PairError || !errors.Is(got[0].Err, context.Canceled) {
		t.Errorf("after cancel: %+v, want one error wrapping context.Canceled", got)
	}
	if c.disconns == 0 {
		t.Error("a cancelled pairing should disconnect")
	}

	// Close stops a pairing too.
	c.qr = make(chan whatsmeow.QRChannelItem)
	c.connectFn = nil
	evs, err = s.StartPairing(context.Background(), "")
	if err != nil {
		t.Fatalf("StartPairing after the cancelled one = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got = collect(t, evs)
	if len(got) != 1 || !errors.Is(got[0].Err, ErrClosed) {
		t.Errorf("after Close: %+v, want one error wrapping ErrClosed", got)
	}
}

func TestQRPNG(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ size, want int }{{300, 300}, {0, qrPNGSize}} {
		b, err := QRPNG("2@abc,def,ghi,jkl", tt.size)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("size %d: not a PNG: %v", tt.size, err)
		}
		if cfg.Width != tt.want || cfg.Height != tt.want {
			t.Errorf("size %d: image %dx%d, want %dx%[3]d", tt.size, cfg.Width, cfg.Height, tt.want)
		}
	}
	if _, err := QRPNG("", 256); err == nil {
		t.Error("an empty code rendered")
	}
}

func TestPrintPairEvent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ev   PairEvent
		want []string
	}{
		{PairEvent{Kind: PairQRCode, Code: "2@abc,def,ghi", Expires: 60 * time.Second}, []string{"Scan this QR code", "Linked devices", "60 seconds", "▀"}},
		{PairEvent{Kind: PairPhoneCode, Code: "ABCD-EFGH", Phone: "+919876543210"}, []string{"+919876543210", "ABCD-EFGH", "phone number instead"}},
		{PairEvent{Kind: PairPhoneUnsupported}, []string{"update WhatsApp"}},
		{PairEvent{Kind: PairConfirmed, Phone: "+919876543210"}, []string{"confirmed the link"}},
		{PairEvent{Kind: PairSuccess, Phone: "+919876543210", Connected: true}, []string{"Linked: +919876543210 is now connected"}},
		{PairEvent{Kind: PairSuccess, Phone: "+919876543210"}, []string{"not connected yet", "whatsapp status"}},
		{PairEvent{Kind: PairTimeout, Err: ErrPairTimeout}, nil},
		{PairEvent{Kind: PairError, Err: errors.New("boom")}, nil},
	} {
		var out bytes.Buffer
		if err := PrintPairEvent(&out, tt.ev); err != nil {
			t.Fatalf("%s: %v", tt.ev.Kind, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.ev.Kind, w, out.String())
			}
		}
		if tt.want == nil && out.Len() != 0 {
			t.Errorf("%s: printed %q; the caller reports the error", tt.ev.Kind, out.String())
		}
	}
	if s := PairEventKind(99).String(); s != "PairEventKind(99)" {
		t.Errorf("unknown kind = %s", s)
	}
}
