package session

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// TestOpenCreatesDeviceStore opens the real SQLite device store in a temp
// dir. Open does not connect, so this needs no network.
func TestOpenCreatesDeviceStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DeviceFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %o, want 600: it holds the device keys", DeviceFile, mode)
	}
	info, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Linked || info.Connected || info.LoggedIn || info.JID != "" {
		t.Errorf("fresh store: %+v, want nothing linked or connected", info)
	}
	if err := s.Connect(); !errors.Is(err, ErrNotLinked) {
		t.Errorf("Connect on a fresh store = %v, want ErrNotLinked (and no connection attempt)", err)
	}
	if s.IsConnected() {
		t.Error("connected without a linked account")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// The schema is there, and the file opens again.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow("SELECT version FROM whatsmeow_version").Scan(&version); err != nil || version < 1 {
		t.Errorf("whatsmeow_version: %d, %v", version, err)
	}
	var devices int
	if err := db.QueryRow("SELECT COUNT(*) FROM whatsmeow_device").Scan(&devices); err != nil || devices != 0 {
		t.Errorf("devices: %d, %v; want none before pairing", devices, err)
	}
	s2, err := Open(ctx, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
}

func TestOpenNeedsDataDir(t *testing.T) {
	t.Parallel()
	if _, err := Open(context.Background(), "", nil); err == nil {
		t.Error("Open with no dir succeeded")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Error("Open with a missing dir succeeded")
	}
	if _, err := sqliteDSN("/tmp/a?b/whatsapp.db"); err == nil {
		t.Error("a '?' in the path was accepted")
	}
	dsn, _ := sqliteDSN("/data/whatsapp.db")
	if !strings.Contains(dsn, "foreign_keys%281%29") || !strings.HasPrefix(dsn, "file:/data/whatsapp.db?") {
		t.Errorf("dsn = %s", dsn)
	}
}

func TestDispatchFansOutAndRecovers(t *testing.T) {
	t.Parallel()
	c := newFakeConn()
	var logs bytes.Buffer
	s := newSession(c, slog.New(slog.NewTextHandler(&logs, nil)))
	var mu sync.Mutex
	var got []string
	s.AddHandler(func(evt any) {
		mu.Lock()
		got = append(got, "first")
		mu.Unlock()
		panic("boom")
	})
	remove := s.AddHandler(func(evt any) {
		mu.Lock()
		got = append(got, "second")
		mu.Unlock()
	})
	c.emit(&events.Connected{})
	remove()
	c.emit(&events.Disconnected{})
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != "first,second,first" {
		t.Errorf("calls = %v", got)
	}
	if !strings.Contains(logs.String(), "panicked") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	c := newFakeConn()
	c.linked = types.JID{User: "919876543210", Device: 12, Server: types.DefaultUserServer}
	c.device = DeviceInfo{PushName: "Shop", Platform: "smba"}
	s := newSession(c, slog.New(slog.DiscardHandler))
	info, err := s.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := StatusInfo{Linked: true, JID: "919876543210:12@s.whatsapp.net", Phone: "+919876543210",
		PushName: "Shop", Platform: "smba", Connected: true, LoggedIn: true}
	if info != want {
		t.Errorf("Status = %+v, want %+v", info, want)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	t.Run("connected", func(t *testing.T) {
		t.Parallel()
		c := newFakeConn()
		s := newSession(c, slog.New(slog.DiscardHandler))
		if err := s.Logout(context.Background()); err != nil {
			t.Fatal(err)
		}
		if c.logouts != 1 || c.deletes != 0 || c.connects != 0 {
			t.Errorf("logouts %d deletes %d connects %d", c.logouts, c.deletes, c.connects)
		}
	})
	t.Run("connects first", func(t *testing.T) {
		t.Parallel()
		c := newFakeConn()
		c.loggedIn, c.connected = false, false
		s := newSession(c, slog.New(slog.DiscardHandler))
		c.connectFn = func() {
			go func() {
				c.setLoggedIn(true)
				c.emit(&events.Connected{})
			}()
		}
		if err := s.Logout(context.Background()); err != nil {
			t.Fatal(err)
		}
		if c.connects != 1 || c.logouts != 1 {
			t.Errorf("connects %d logouts %d", c.connects, c.logouts)
		}
	})
	t.Run("refused: keys deleted anyway", func(t *testing.T) {
		t.Parallel()
		c := newFakeConn()
		c.logoutFn = func() error { return errors.New("info query timed out") }
		s := newSession(c, slog.New(slog.DiscardHandler))
		err := s.Logout(context.Background())
		if !errors.Is(err, ErrUnlinkUnconfirmed) || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("Logout = %v", err)
		}
		if c.deletes != 1 || !c.LinkedJID().IsEmpty() {
			t.Errorf("deletes %d, linked %v", c.deletes, c.LinkedJID())
		}
	})
	t.Run("banned while connecting", func(t *testing.T) {
		t.Parallel()
		c := newFakeConn()
		c.loggedIn, c.connected = false, false
		s := newSession(c, slog.New(slog.DiscardHandler))
		c.connectFn = func() { go c.emit(&events.TemporaryBan{Code: events.TempBanSentToTooManyPeople}) }
		err := s.Logout(context.Background())
		if !errors.Is(err, ErrUnlinkUnconfirmed) || !strings.Contains(err.Error(), "banned") || c.logouts != 0 {
			t.Errorf("Logout = %v (logouts %d)", err, c.logouts)
		}
	})
	t.Run("WhatsApp unreachable: keys deleted anyway", func(t *testing.T) {
		t.Parallel()
		c := newFakeConn()
		c.loggedIn, c.connected = false, false
		s := newSession(c, slog.New(slog.DiscardHandler))
		s.connectWait = 20 * time.Millisecond
		c.connectFn = func() { go c.emit(&events.Disconnected{}) }
		err := s.Logout(context.Background())
		if !errors.Is(err, ErrUnlinkUnconfirmed) || !strings.Contains(err.Error(), "could not connect") {
			t.Errorf("Logout = %v", err)
		}
		if c.deletes != 1 || c.logouts != 0 {
			t.Errorf("deletes %d logouts %d", c.deletes, c.logouts)
		}
	})
	t.Run("already removed on the phone", func(t *testing.T) {
		t.Parallel()
		c := newFakeConn()
		c.loggedIn, c.connected = false, false
		s := newSession(c, slog.New(slog.DiscardHandler))
		c.connectFn = func() { go c.emit(&events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureLoggedOut}) }
		if err := s.Logout(context.Background()); err != nil {
			t.Errorf("Logout = %v, want nil: the device is gone either way", err)
		}
		if c.logouts != 0 || c.deletes != 0 {
			t.Errorf("logouts %d deletes %d; whatsmeow deletes the keys itself", c.logouts, c.deletes)
		}
	})
	t.Run("not linked", func(t *testing.T) {
		t.Parallel()
		c := newFakeConn()
		c.linked = types.EmptyJID
		s := newSession(c, slog.New(slog.DiscardHandler))
		if err := s.Logout(context.Background()); !errors.Is(err, ErrNotLinked) {
			t.Errorf("Logout = %v", err)
		}
	})
}
