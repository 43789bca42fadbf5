package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	wastore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// Name is the gateway's name in settings and on queue items.
const Name = "session"

// DeviceFile is the device store's file name in the data directory. It
// holds the linked device's keys: whoever has it can send as the number.
const DeviceFile = "whatsapp.db"

// deviceName is what the phone lists under Linked devices.
const deviceName = "MessageBridge"

// deleteTimeout bounds deleting the local keys after a failed logout.
const deleteTimeout = 10 * time.Second

// logoutConnectWait bounds Logout's wait for a connection.
const logoutConnectWait = 30 * time.Second

var setOSInfo sync.Once

// Session is one linked WhatsApp account: the whatsmeow client and its
// device store. Its methods are safe for concurrent use.
type Session struct {
	container *sqlstore.Container // nil in tests
	log       *slog.Logger

	// connMu guards c, which WaitLinked replaces when another process
	// links an account, and pairing, set while StartPairing runs.
	connMu  sync.RWMutex
	c       conn
	pairing bool
	// linked is closed, and replaced, when this session becomes linked;
	// WaitLinked wakes on it. Guarded by connMu.
	linked chan struct{}

	// loadLinked reads the device store and returns a client for the
	// linked device stored there, or nil when none is; nil in tests that
	// do not set it. WaitLinked uses it to see a link made by another
	// process.
	loadLinked func(ctx context.Context) (conn, error)
	// adoptAfter is how long a device linked by another process must have
	// been stored before WaitLinked switches to it (linkSettle).
	adoptAfter time.Duration
	// pairConnectWait bounds the pairing's wait for the first connection
	// after the phone confirmed the link (pairConnectWait).
	pairConnectWait time.Duration

	// ctx lives as long as the session: the connection's event handling
	// and reconnects run on it.
	ctx    context.Context
	cancel context.CancelFunc

	// connectWait bounds Logout's wait for a connection (logoutConnectWait).
	connectWait time.Duration

	mu       sync.RWMutex
	handlers []handler
	nextID   int

	closeOnce sync.Once
}

type handler struct {
	id int
	fn func(evt any)
}

var _ Client = (*Session)(nil)

// Open opens (creating if needed) the device store dataDir/whatsapp.db and
// returns a Session for its device. It does not connect: call Connect to
// send and receive, or StartPairing to link an account first. Close it
// when done.
func Open(ctx context.Context, dataDir string, log *slog.Logger) (*Session, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(dataDir) == "" {
		return nil, errors.New("whatsapp session: no data directory")
	}
	if st, err := os.Stat(dataDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("whatsapp session: data directory %s does not exist", dataDir)
	}
	path := filepath.Join(dataDir, DeviceFile)
	dsn, err := sqliteDSN(path)
	if err != nil {
		return nil, err
	}
	// The file holds the device's keys: create it private to its owner
	// (SQLite gives its -wal and -shm files the same mode).
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		_ = f.Close()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("whatsapp session: open %s: %w", path, err)
	}
	waLogger := newWALogger(log)
	container := sqlstore.NewWithDB(db, "sqlite", waLogger.Sub("Database"))
	if err := container.Upgrade(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("whatsapp session: prepare device store %s: %w", path, err)
	}
	device, err := container.GetFirstDevice(ctx)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("whatsapp session: read device store %s: %w", path, err)
	}
	setOSInfo.Do(func() { wastore.SetOSInfo(deviceName, [3]uint32{1, 0, 0}) })
	s := newSession(newRealClient(device, waLogger), log)
	s.container = container
	s.loadLinked = func(ctx context.Context) (conn, error) {
		// GetFirstDevice reads the table on every call (the container
		// caches no devices); without a stored row it returns a new,
		// unsaved device, whose ID is nil.
		d, err := container.GetFirstDevice(ctx)
		if err != nil {
			return nil, fmt.Errorf("whatsapp session: read device store %s: %w", path, err)
		}
		if d.ID == nil {
			return nil, nil
		}
		return newRealClient(d, waLogger), nil
	}
	return s, nil
}

// newRealClient makes a whatsmeow client for a device of the store.
func newRealClient(device *wastore.Device, waLogger waLog.Logger) realClient {
	client := whatsmeow.NewClient(device, waLogger.Sub("Client"))
	// Keep trying when WhatsApp cannot be reached at start instead of
	// failing Connect; the Sender retries meanwhile.
	client.InitialAutoReconnect = true
	return realClient{client}
}

// sqliteDSN is the modernc.org/sqlite DSN for the device store. whatsmeow's
// schema upgrade refuses to run without foreign keys; WAL and a busy
// timeout let the CLI and the server open the file at once, and immediate
// transactions avoid lock upgrades that fail at once under WAL.
func sqliteDSN(path string) (string, error) {
	if strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("whatsapp session: the device store path %s may not contain '?' or '#'", path)
	}
	params := url.Values{}
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Set("_txlock", "immediate")
	return "file:" + path + "?" + params.Encode(), nil
}

func newSession(c conn, log *slog.Logger) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{c: c, log: log.With("component", "gateways.session"), ctx: ctx, cancel: cancel,
		connectWait: logoutConnectWait, pairConnectWait: pairConnectWait, adoptAfter: linkSettle,
		linked: make(chan struct{})}
	c.AddEventHandler(s.dispatch)
	return s
}

// client is the whatsmeow client in use.
func (s *Session) client() conn {
	s.connMu.RLock()
	defer s.connMu.RUnlock()
	return s.c
}

// Connect connects to WhatsApp with the linked account; whatsmeow then
// reconnects by itself after network trouble until Close. It returns
// ErrNotLinked when no account is linked (the Sender then reports every
// send as sender-blocked; WaitLinked waits for a link, after which
// Connect succeeds) and nil when the first attempt failed for a
// network reason (it keeps trying in the background). Events reach the
// handlers from now on; add them before.
func (s *Session) Connect() error {
	c := s.client()
	if c.LinkedJID().IsEmpty() {
		return ErrNotLinked
	}
	if c.IsConnected() {
		return nil
	}
	if err := c.ConnectContext(s.ctx); err != nil && !errors.Is(err, whatsmeow.ErrAlreadyConnected) {
		return fmt.Errorf("whatsapp session: connect: %w", err)
	}
	return nil
}

// Close disconnects and closes the device store. It is safe to call more
// than once.
func (s *Session) Close() error {
	var err error
	s.closeOnce.Do(func() {
		// Under connMu, so that WaitLinked does not switch clients after
		// the disconnect.
		s.connMu.Lock()
		s.cancel()
		c := s.c
		s.connMu.Unlock()
		c.Disconnect()
		if s.container != nil {
			err = s.container.Close()
		}
	})
	return err
}

// AddHandler adds fn to the handlers that get every whatsmeow event, in
// the order added, and returns a function that removes it. Handlers run on
// whatsmeow's event goroutine: they must return quickly and hand long work
// to a goroutine of their own. A panicking handler is logged; the others
// still get the event.
func (s *Session) AddHandler(fn func(evt any)) (remove func()) {
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	// Copy on write: dispatch reads the slice without the lock.
	hs := make([]handler, len(s.handlers), len(s.handlers)+1)
	copy(hs, s.handlers)
	s.handlers = append(hs, handler{id: id, fn: fn})
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		hs := make([]handler, 0, len(s.handlers))
		for _, h := range s.handlers {
			if h.id != id {
				hs = append(hs, h)
			}
		}
		s.handlers = hs
	}
}

// dispatch hands one whatsmeow event to every handler.
func (s *Session) dispatch(evt any) {
	s.mu.RLock()
	hs := s.handlers
	s.mu.RUnlock()
	for _, h := range hs {
		s.call(h, evt)
	}
}

func (s *Session) call(h handler, evt any) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("whatsapp: event handler panicked", "event", fmt.Sprintf("%T", evt), "panic", fmt.Sprint(p))
		}
	}()
	h.fn(evt)
}

// waitFor adds a handler until ctx ends or match returns done, and
// returns match's error, or ctx's. start runs after the handler is in
// place, so that an event it causes is not missed.
func (s *Session) waitFor(ctx context.Context, start func() error, match func(evt any) (done bool, err error)) error {
	result := make(chan error, 1)
	var once sync.Once
	remove := s.AddHandler(func(evt any) {
		if done, err := match(evt); done {
			once.Do(func() { result <- err })
		}
	})
	defer remove()
	if start != nil {
		if err := start(); err != nil {
			return err
		}
	}
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// untilConnected is a waitFor match: done at Connected, failed at an event
// after which the session cannot send.
func untilConnected(evt any) (bool, error) {
	st, reason, ok := StateFor(evt)
	switch {
	case !ok:
		return false, nil
	case st == StateConnected:
		return true, nil
	case st == StateBlocked:
		return true, errors.New(reason)
	}
	return false, nil
}

// StatusInfo is the linked account as this process sees it.
type StatusInfo struct {
	// Linked: the device store holds a linked account.
	Linked bool
	// JID is the linked device, e.g. "919876543210:12@s.whatsapp.net".
	JID string
	// Phone is the account's number in E.164, e.g. "+919876543210".
	Phone string
	// PushName and BusinessName are the account's names as last synced.
	PushName     string
	BusinessName string
	Platform     string
	// Connected and LoggedIn describe this process's connection only.
	Connected bool
	LoggedIn  bool
}

// Status reports the linked account from the device store as the
// session's client holds it. It does not connect: a second connection
// with the same keys would disconnect a running server's ("stream
// replaced"). It does not read the store again either, so a link made by
// another process shows only once WaitLinked has switched to it. ctx is
// unused today.
func (s *Session) Status(ctx context.Context) (StatusInfo, error) {
	c := s.client()
	d := c.Device()
	info := StatusInfo{
		Linked:    !d.JID.IsEmpty(),
		Connected: c.IsConnected(),
		LoggedIn:  c.IsLoggedIn(),
	}
	if info.Linked {
		info.JID = d.JID.String()
		info.Phone = "+" + d.JID.User
		info.PushName, info.BusinessName, info.Platform = d.PushName, d.BusinessName, d.Platform
	}
	return info, nil
}

// Logout unlinks the account: it connects if needed, asks WhatsApp to
// remove this device and deletes its keys from the device store. When
// WhatsApp cannot be reached or refuses, the keys are deleted anyway and
// the error wraps ErrUnlinkUnconfirmed. Stop a running server first:
// connecting here disconnects it. It waits at most 30 s for a connection.
func (s *Session) Logout(ctx context.Context) error {
	c := s.client()
	if c.LinkedJID().IsEmpty() {
		return ErrNotLinked
	}
	var cause error
	if !c.IsLoggedIn() {
		cctx, cancel := context.WithTimeout(ctx, s.connectWait)
		var gone atomic.Bool // WhatsApp says the device is already removed
		cause = s.waitFor(cctx, func() error {
			if c.IsConnected() {
				return nil
			}
			return c.ConnectContext(s.ctx)
		}, func(evt any) (bool, error) {
			if _, ok := evt.(*events.LoggedOut); ok {
				gone.Store(true)
				return true, nil
			}
			return untilConnected(evt)
		})
		cancel()
		if gone.Load() {
			// whatsmeow deletes the keys itself after LoggedOut.
			c.Disconnect()
			s.log.Info("whatsapp: the linked device was already removed")
			return nil
		}
		if errors.Is(cause, context.DeadlineExceeded) && ctx.Err() == nil {
			cause = errors.New("could not connect to WhatsApp")
		}
	}
	if cause == nil {
		cause = c.Logout(ctx)
		if cause == nil {
			s.log.Info("whatsapp: logged out; the linked device is removed")
			return nil
		}
	}
	c.Disconnect()
	// Local deletion must not depend on the caller's ctx, which may be
	// what ended the attempt.
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer dcancel()
	if err := c.DeleteLocal(dctx); err != nil {
		return fmt.Errorf("whatsapp session: logout failed (%v), and deleting the local keys failed too: %w", cause, err)
	}
	return fmt.Errorf("%w (%v)", ErrUnlinkUnconfirmed, cause)
}

// The Client and transport methods, passed through to whatsmeow.

// SendMessage sends msg to a user or group JID.
func (s *Session) SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	return s.client().SendMessage(ctx, to, msg, extra...)
}

// Upload encrypts and uploads media for a message.
func (s *Session) Upload(ctx context.Context, data []byte, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	return s.client().Upload(ctx, data, mediaType)
}

// Download fetches and decrypts the media of a received message.
func (s *Session) Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error) {
	return s.client().Download(ctx, msg)
}

// IsOnWhatsApp looks numbers ("+919876543210") up.
func (s *Session) IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	return s.client().IsOnWhatsApp(ctx, phones)
}

// IsLoggedIn reports whether the session is connected and authenticated.
func (s *Session) IsLoggedIn() bool { return s.client().IsLoggedIn() }

// IsConnected reports whether the websocket is up.
func (s *Session) IsConnected() bool { return s.client().IsConnected() }

// LinkedJID is the linked device's JID, empty when nothing is linked.
func (s *Session) LinkedJID() types.JID { return s.client().LinkedJID() }

// PNForLID returns the phone-number JID the device store knows for a LID
// ("hidden user" JID), or an empty JID.
func (s *Session) PNForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	return s.client().PNForLID(ctx, lid)
}
