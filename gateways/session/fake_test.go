package session

import (
	"context"
	"errors"
	"sync"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
)

// fakeConn is a whatsmeow client stand-in built from function fields and
// records; nothing touches the network.
type fakeConn struct {
	mu        sync.Mutex
	linked    types.JID
	loggedIn  bool
	connected bool
	device    DeviceInfo

	sends     []fakeSend
	uploads   []fakeUpload
	lookups   [][]string
	connects  int
	disconns  int
	logouts   int
	deletes   int
	pairCalls []string

	sendFn   func(to types.JID, msg *waE2E.Message) (whatsmeow.SendResponse, error)
	uploadFn func(data []byte, mt whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	lookupFn func(phones []string) ([]types.IsOnWhatsAppResponse, error)
	logoutFn func() error
	// connectFn runs in ConnectContext, e.g. to emit events.
	connectFn func()
	qr        chan whatsmeow.QRChannelItem

	handlers []whatsmeow.EventHandler
}

type fakeSend struct {
	to  types.JID
	msg *waE2E.Message
}

type fakeUpload struct {
	data []byte
	mt   whatsmeow.MediaType
}

var _ conn = (*fakeConn)(nil)

func newFakeConn() *fakeConn {
	return &fakeConn{
		linked:   types.NewJID("15550001111", types.DefaultUserServer),
		loggedIn: true, connected: true,
	}
}

func (f *fakeConn) emit(evt any) {
	f.mu.Lock()
	hs := append([]whatsmeow.EventHandler(nil), f.handlers...)
	f.mu.Unlock()
	for _, h := range hs {
		h(evt)
	}
}

func (f *fakeConn) SendMessage(_ context.Context, to types.JID, msg *waE2E.Message, _ ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	f.mu.Lock()
	f.sends = append(f.sends, fakeSend{to, msg})
	n := len(f.sends)
	fn := f.sendFn
	f.mu.Unlock()
	if fn != nil {
		return fn(to, msg)
	}
	return whatsmeow.SendResponse{ID: "3EB0" + string(rune('A'+n-1))}, nil
}

func (f *fakeConn) Upload(_ context.Context, data []byte, mt whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	f.mu.Lock()
	f.uploads = append(f.uploads, fakeUpload{data, mt})
	fn := f.uploadFn
	f.mu.Unlock()
	if fn != nil {
		return fn(data, mt)
	}
	return whatsmeow.UploadResponse{
		URL: "https://mmg.whatsapp.net/x", DirectPath: "/v/t62/x", MediaKey: []byte("key"),
		FileEncSHA256: []byte("enc"), FileSHA256: []byte("plain"), FileLength: uint64(len(data)),
	}, nil
}

func (f *fakeConn) Download(context.Context, whatsmeow.DownloadableMessage) ([]byte, error) {
	return nil, errors.New("not used")
}

func (f *fakeConn) IsOnWhatsApp(_ context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	f.mu.Lock()
	f.lookups = append(f.lookups, phones)
	fn := f.lookupFn
	f.mu.Unlock()
	if fn != nil {
		return fn(phones)
	}
	out := make([]types.IsOnWhatsAppResponse, len(phones))
	for i, p := range phones {
		out[i] = types.IsOnWhatsAppResponse{Query: p, IsIn: true, JID: types.NewJID(p[1:], types.DefaultUserServer)}
	}
	return out, nil
}

func (f *fakeConn) IsLoggedIn() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loggedIn
}

func (f *fakeConn) IsConnected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

func (f *fakeConn) setLoggedIn(v bool) {
	f.mu.Lock()
	f.loggedIn, f.connected = v, v
	f.mu.Unlock()
}

func (f *fakeConn) LinkedJID() types.JID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.linked
}

func (f *fakeConn) ConnectContext(context.Context) error {
	f.mu.Lock()
	f.connects++
	f.connected = true
	fn := f.connectFn
	f.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

func (f *fakeConn) Disconnect() {
	f.mu.Lock()
	f.disconns++
	f.connected, f.loggedIn = false, false
	f.mu.Unlock()
}

func (f *fakeConn) Logout(context.Context) error {
	f.mu.Lock()
	f.logouts++
	fn := f.logoutFn
	f.mu.Unlock()
	if fn != nil {
		if err := fn(); err != nil {
			return err
		}
	}
	f.mu.Lock()
	f.linked = types.EmptyJID
	f.mu.Unlock()
	return nil
}

func (f *fakeConn) GetQRChannel(context.Context) (<-chan whatsmeow.QRChannelItem, error) {
	if f.qr == nil {
		return nil, errors.New("no QR channel in this test")
	}
	return f.qr, nil
}

func (f *fakeConn) PairPhone(_ context.Context, phone string, _ bool, _ whatsmeow.PairClientType, display string) (string, error) {
	f.mu.Lock()
	f.pairCalls = append(f.pairCalls, phone+"|"+display)
	f.mu.Unlock()
	return "ABCD-EFGH", nil
}

func (f *fakeConn) AddEventHandler(h whatsmeow.EventHandler) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers = append(f.handlers, h)
	return uint32(len(f.handlers))
}

func (f *fakeConn) RemoveEventHandler(uint32) bool { return true }

func (f *fakeConn) Device() DeviceInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.device
	d.JID = f.linked
	return d
}

func (f *fakeConn) DeleteLocal(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	f.linked = types.EmptyJID
	return nil
}

func (f *fakeConn) PNForLID(context.Context, types.JID) (types.JID, error) {
	return types.EmptyJID, nil
}
