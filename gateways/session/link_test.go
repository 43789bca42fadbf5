package session

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types/events"
)

// storeReads makes s read the device store through the test: every read
// arrives on the returned channel, and the test answers with the client
// of the stored device, or nil for none.
func storeReads(s *Session) <-chan chan<- conn {
	reads := make(chan chan<- conn)
	s.loadLinked = func(ctx context.Context) (conn, error) {
		reply := make(chan conn)
		select {
		case reads <- reply:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		select {
		case c := <-reply:
			return c, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return reads
}

// nextRead waits for WaitLinked's next read of the device store.
func nextRead(t *testing.T, reads <-chan chan<- conn) chan<- conn {
	t.Helper()
	select {
	case r := <-reads:
		return r
	case <-time.After(failAfter):
		t.Fatal("WaitLinked did not read the device store")
		return nil
	}
}

// waitLinked runs WaitLinked in a goroutine; its result arrives on the
// channel.
func waitLinked(ctx context.Context, s *Session, poll time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.WaitLinked(ctx, poll) }()
	return done
}

func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(failAfter):
		t.Fatal("WaitLinked did not return")
		return nil
	}
}

func notReturned(t *testing.T, done <-chan error, when string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("WaitLinked returned %v %s", err, when)
	default:
	}
}

func TestWaitLinkedAlreadyLinked(t *testing.T) {
	t.Parallel()
	s := newSession(newFakeConn(), slog.New(slog.DiscardHandler))
	if err := result(t, waitLinked(context.Background(), s, time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// A pairing in this process wakes WaitLinked at once: with an hour
// between polls nothing else could.
func TestWaitLinkedWakesOnPairing(t *testing.T) {
	t.Parallel()
	s, c := unlinkedSession(t)
	reads := storeReads(s)
	done := waitLinked(context.Background(), s, time.Hour)
	nextRead(t, reads) <- nil // WaitLinked has checked and now waits
	notReturned(t, done, "with nothing linked")

	s.loadLinked = nil // StartPairing reads the store too; not through the test
	c.connectFn = func() {
		c.qr <- qrItem("2@a", time.Minute)
		c.link(pairedJID)
		c.qr <- whatsmeow.QRChannelSuccess
		close(c.qr)
		c.emit(&events.Connected{})
	}
	evs, err := s.StartPairing(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	collect(t, evs)
}

// A device stored by another process: WaitLinked switches the session to
// it, not before it is there.
func TestWaitLinkedAdoptsStoredDevice(t *testing.T) {
	t.Parallel()
	s, old := unlinkedSession(t)
	s.adoptAfter = 0
	var handled atomic.Int32
	s.AddHandler(func(any) { handled.Add(1) })
	reads := storeReads(s)
	done := waitLinked(context.Background(), s, time.Millisecond)
	nextRead(t, reads) <- nil
	nextRead(t, reads) <- nil
	r := nextRead(t, reads)
	notReturned(t, done, "with nothing linked")
	if info, _ := s.Status(context.Background()); info.Linked {
		t.Fatalf("linked before the device was stored: %+v", info)
	}

	stored := newFakeConn()
	stored.linked = pairedJID
	stored.loggedIn, stored.connected = false, false
	r <- stored
	if err := result(t, done); err != nil {
		t.Fatal(err)
	}
	info, err := s.Status(context.Background())
	if err != nil || !info.Linked || info.Phone != "+919876543210" {
		t.Errorf("Status after the switch = %+v, %v", info, err)
	}
	if s.LinkedJID() != pairedJID || old.disconns == 0 {
		t.Errorf("LinkedJID %v, old client disconnected %d times", s.LinkedJID(), old.disconns)
	}
	if err := s.Connect(); err != nil || stored.connects != 1 {
		t.Errorf("Connect = %v, stored client connected %d times", err, stored.connects)
	}
	stored.emit(&events.Connected{})
	if handled.Load() != 1 {
		t.Errorf("handlers got %d events of the new client, want 1", handled.Load())
	}
}

// A device stored elsewhere is not taken before it settled, nor while a
// pairing of this session runs.
func TestWaitLinkedHoldsOff(t *testing.T) {
	t.Parallel()
	stored := newFakeConn()
	stored.linked = pairedJID
	t.Run("settling", func(t *testing.T) {
		t.Parallel()
		s, _ := unlinkedSession(t)
		s.adoptAfter = time.Hour
		reads := storeReads(s)
		ctx, cancel := context.WithCancel(context.Background())
		done := waitLinked(ctx, s, time.Millisecond)
		nextRead(t, reads) <- stored
		nextRead(t, reads) <- stored
		nextRead(t, reads) // not answered: cancel meanwhile
		notReturned(t, done, "before the stored device settled")
		cancel()
		if err := result(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("WaitLinked = %v, want context.Canceled", err)
		}
		if !s.LinkedJID().IsEmpty() {
			t.Error("switched to a device that had not settled")
		}
	})
	t.Run("pairing", func(t *testing.T) {
		t.Parallel()
		s, c := unlinkedSession(t)
		s.adoptAfter = 0
		c.qr = make(chan whatsmeow.QRChannelItem)
		ctx, cancel := context.WithCancel(context.Background())
		evs, err := s.StartPairing(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		reads := storeReads(s)
		done := waitLinked(ctx, s, time.Millisecond)
		nextRead(t, reads) <- stored
		nextRead(t, reads) <- stored
		nextRead(t, reads)
		notReturned(t, done, "while a pairing runs")
		cancel()
		if err := result(t, done); !errors.Is(err, context.Canceled) {
			t.Errorf("WaitLinked = %v, want context.Canceled", err)
		}
		collect(t, evs)
		if !s.LinkedJID().IsEmpty() {
			t.Error("switched clients under a running pairing")
		}
	})
}

func TestWaitLinkedEnds(t *testing.T) {
	t.Parallel()
	s, _ := unlinkedSession(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := waitLinked(ctx, s, time.Hour)
	cancel()
	if err := result(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitLinked after cancel = %v", err)
	}

	done = waitLinked(context.Background(), s, time.Hour)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := result(t, done); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitLinked after Close = %v, want ErrClosed", err)
	}
	s.loadLinked = func(context.Context) (conn, error) { return newFakeConn(), nil }
	s.adoptAfter = 0
	if err := result(t, waitLinked(context.Background(), s, time.Hour)); !errors.Is(err, ErrClosed) || !s.LinkedJID().IsEmpty() {
		t.Errorf("WaitLinked on a closed session = %v, linked %v; want no switch", err, s.LinkedJID())
	}
}

// Two sessions on one data directory stand for the server and a
// `whatsapp pair` process: a device the second stores in whatsapp.db is
// not in the first's Status, and WaitLinked finds it and switches to it.
func TestWaitLinkedSeesDeviceStoredByAnotherSession(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	server, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.adoptAfter = 0
	pairer, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pairer.Close()

	// What whatsmeow stores when the phone confirms a link.
	dev := pairer.container.NewDevice()
	dev.ID = &pairedJID
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte("details"), AccountSignature: make([]byte, 64),
		AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	dev.PushName = "Shop"
	if err := dev.Save(ctx); err != nil {
		t.Fatal(err)
	}

	if info, _ := server.Status(ctx); info.Linked {
		t.Fatalf("Status saw the other session's device without WaitLinked: %+v", info)
	}
	if err := result(t, waitLinked(ctx, server, time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	info, err := server.Status(ctx)
	if err != nil || !info.Linked || info.JID != "919876543210:12@s.whatsapp.net" || info.PushName != "Shop" || info.Connected {
		t.Errorf("Status after WaitLinked = %+v, %v", info, err)
	}
	if _, err := server.StartPairing(ctx, ""); !errors.Is(err, ErrAlreadyLinked) {
		t.Errorf("StartPairing = %v, want ErrAlreadyLinked", err)
	}
}
