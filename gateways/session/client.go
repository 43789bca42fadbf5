package session

import (
	"context"
	"fmt"
	"log/slog"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// Client is what the Sender needs from the WhatsApp connection. *Session
// satisfies it; tests use a fake.
type Client interface {
	SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, data []byte, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error)
	// IsLoggedIn reports whether the client is connected and authenticated.
	IsLoggedIn() bool
	// LinkedJID is the linked account's device JID, empty when no account
	// is linked.
	LinkedJID() types.JID
}

// DeviceInfo describes the linked device as the device store knows it.
type DeviceInfo struct {
	JID          types.JID // empty when nothing is linked
	LID          types.JID
	PushName     string
	BusinessName string
	Platform     string
}

// conn is everything Session needs from *whatsmeow.Client. realClient
// adapts the real one; tests use a fake.
type conn interface {
	Client
	Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error)
	IsConnected() bool
	ConnectContext(ctx context.Context) error
	Disconnect()
	Logout(ctx context.Context) error
	GetQRChannel(ctx context.Context) (<-chan whatsmeow.QRChannelItem, error)
	PairPhone(ctx context.Context, phone string, showPushNotification bool, clientType whatsmeow.PairClientType, clientDisplayName string) (string, error)
	AddEventHandler(handler whatsmeow.EventHandler) uint32
	RemoveEventHandler(id uint32) bool
	// Device reads the device store's record of the linked account.
	Device() DeviceInfo
	// DeleteLocal deletes the linked device's keys from the device store
	// without telling WhatsApp.
	DeleteLocal(ctx context.Context) error
	// PNForLID looks up the phone-number JID of a LID in the device store.
	PNForLID(ctx context.Context, lid types.JID) (types.JID, error)
}

// realClient adapts *whatsmeow.Client to conn.
type realClient struct {
	*whatsmeow.Client
}

var _ conn = realClient{}

func (c realClient) LinkedJID() types.JID { return c.Store.GetJID() }

func (c realClient) Device() DeviceInfo {
	d := c.Store
	return DeviceInfo{JID: d.GetJID(), LID: d.GetLID(), PushName: d.PushName, BusinessName: d.BusinessName, Platform: d.Platform}
}

func (c realClient) DeleteLocal(ctx context.Context) error {
	if c.Store.ID == nil {
		return nil
	}
	return c.Store.Delete(ctx)
}

func (c realClient) PNForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	return c.Store.LIDs.GetPNForLID(ctx, lid)
}

// waLogger sends whatsmeow's log lines to slog. whatsmeow logs a lot at
// debug level (whole XML nodes), so debug lines are formatted only when the
// handler wants them.
type waLogger struct {
	log *slog.Logger
}

func newWALogger(log *slog.Logger) waLog.Logger {
	return waLogger{log: log.With("component", "whatsmeow")}
}

func (l waLogger) logf(level slog.Level, msg string, args []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(msg, args...))
}

func (l waLogger) Errorf(msg string, args ...any) { l.logf(slog.LevelError, msg, args) }
func (l waLogger) Warnf(msg string, args ...any)  { l.logf(slog.LevelWarn, msg, args) }
func (l waLogger) Infof(msg string, args ...any)  { l.logf(slog.LevelInfo, msg, args) }
func (l waLogger) Debugf(msg string, args ...any) { l.logf(slog.LevelDebug, msg, args) }

func (l waLogger) Sub(module string) waLog.Logger {
	return waLogger{log: l.log.With("module", module)}
}
