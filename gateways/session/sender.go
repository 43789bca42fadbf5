package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
)

var _ queue.Sender = (*Sender)(nil)

// SenderOptions configure a Sender. Zero values take the defaults shown.
type SenderOptions struct {
	// Receipts gets delivered/read receipts (nil: receipts are dropped).
	Receipts ReceiptSink
	// Pacer spaces sends (NewPacer(DefaultMinGap, DefaultMaxGap)).
	Pacer *Pacer
	// SkipNumberCheck skips asking WhatsApp whether each recipient has an
	// account before sending (false: ask, and fail numbers without one
	// permanently).
	SkipNumberCheck bool
	// MaxMediaSize is the largest image or video sent, in bytes (100 MB).
	MaxMediaSize int64
	// MediaCacheTTL is how long an uploaded file is reused for further
	// recipients instead of uploading it again (6h; negative: never).
	MediaCacheTTL time.Duration
	// ConnectWait is how long a send waits for a session that is still
	// connecting before it gives up as Retry (10s).
	ConnectWait time.Duration
	// OnStateChange is called after each change of state, outside any
	// lock, e.g. to show Warning to admins or lift a gateway block once
	// the session is connected again.
	OnStateChange func(state State, reason string)
	// Logger is optional.
	Logger *slog.Logger
}

// Sender sends queue deliveries through a linked session. Add its
// HandleEvent to the session's handlers so that it sees the connection
// state and delivery receipts. It is safe for concurrent use.
type Sender struct {
	c     Client
	opts  SenderOptions
	pacer *Pacer
	log   *slog.Logger

	mu      sync.Mutex
	state   State
	reason  string
	changed chan struct{} // closed and replaced on every state change
	uploads map[string]cachedUpload
}

type cachedUpload struct {
	resp whatsmeow.UploadResponse
	at   time.Time
}

const (
	defaultMaxMedia    = 100 << 20
	defaultCacheTTL    = 6 * time.Hour
	defaultConnectWait = 10 * time.Second
	maxCachedUploads   = 64
	receiptTimeout     = 10 * time.Second
)

// NewSender returns a sender over c (normally the *Session).
func NewSender(c Client, opts SenderOptions) *Sender {
	if opts.Pacer == nil {
		opts.Pacer = NewPacer(DefaultMinGap, DefaultMaxGap)
	}
	if opts.MaxMediaSize <= 0 {
		opts.MaxMediaSize = defaultMaxMedia
	}
	if opts.MediaCacheTTL == 0 {
		opts.MediaCacheTTL = defaultCacheTTL
	}
	if opts.ConnectWait <= 0 {
		opts.ConnectWait = defaultConnectWait
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{
		c:       c,
		opts:    opts,
		pacer:   opts.Pacer,
		log:     opts.Logger.With("component", "gateways.session"),
		changed: make(chan struct{}),
		uploads: map[string]cachedUpload{},
	}
	switch {
	case c.LinkedJID().IsEmpty():
		s.state, s.reason = StateNotLinked, NotLinkedReason
	case c.IsLoggedIn():
		s.state = StateConnected
	}
	return s
}

// State returns the session state as the sender last saw it, and why.
func (s *Sender) State() (State, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.reason
}

// Warning is a message for admins while the number cannot send (logged
// out, replaced, banned, not linked), and "" otherwise.
func (s *Sender) Warning() string {
	st, reason := s.State()
	if st == StateBlocked || st == StateNotLinked {
		return reason
	}
	return ""
}

// HandleEvent is the sender's whatsmeow event handler: it follows the
// connection state and applies delivery receipts.
func (s *Sender) HandleEvent(evt any) {
	switch e := evt.(type) {
	case *events.Receipt:
		s.applyReceipts(e)
		return
	case *events.Message, *events.UndecryptableMessage, *events.HistorySync,
		*events.Presence, *events.ChatPresence, *events.PushName, *events.BusinessName,
		*events.AppState, *events.AppStateSyncComplete, *events.OfflineSyncPreview, *events.OfflineSyncCompleted,
		*events.QR, *events.KeepAliveTimeout, *events.KeepAliveRestored, *events.ManualLoginReconnect:
		// Ignored on purpose: incoming messages are Inbound's and the
		// bot transport's; history, presence and app state do not affect
		// sending; the socket notices a dead link by itself after
		// keepalive timeouts.
		return
	}
	if st, reason, ok := StateFor(evt); ok {
		s.setState(st, reason)
	}
}

// setState records a state. Once blocked, only a new connection (or a
// newer block) changes it: the disconnect that follows a logout must not
// hide why.
func (s *Sender) setState(st State, reason string) {
	s.mu.Lock()
	if (s.state == StateBlocked && st != StateConnected && st != StateBlocked) ||
		(s.state == st && s.reason == reason) {
		s.mu.Unlock()
		return
	}
	s.state, s.reason = st, reason
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	switch st {
	case StateBlocked:
		s.log.Error("whatsapp: this number cannot send; sends are held", "state", st.String(), "reason", reason)
	case StateConnected:
		s.log.Info("whatsapp: connected")
	default:
		s.log.Warn("whatsapp: session state changed", "state", st.String(), "reason", reason)
	}
	if s.opts.OnStateChange != nil {
		s.opts.OnStateChange(st, reason)
	}
}

func (s *Sender) applyReceipts(e *events.Receipt) {
	if s.opts.Receipts == nil {
		return
	}
	for _, r := range ReceiptsFor(e) {
		ctx, cancel := context.WithTimeout(context.Background(), receiptTimeout)
		_, err := s.opts.Receipts.ApplyReceipt(ctx, r)
		cancel()
		if err != nil {
			s.log.Warn("whatsapp: receipt not applied", "provider_id", r.ProviderMessageID, "status", r.Status, "err", err)
		}
	}
}

// Send implements queue.Sender: it sends one text, image or video message
// and returns WhatsApp's message id.
func (s *Sender) Send(ctx context.Context, d queue.Delivery) (string, error) {
	switch d.Kind {
	case queue.KindTemplate, queue.KindFlow:
		return "", queue.Classify(queue.Permanent, "", fmt.Errorf("%w (this item is a %s)", ErrUnsupported, d.Kind))
	case queue.KindText, queue.KindImage, queue.KindVideo:
	default:
		return "", queue.Classify(queue.Permanent, "", fmt.Errorf("unknown message kind %q", d.Kind))
	}
	to, err := RecipientJID(d.Phone)
	if err != nil {
		return "", queue.Classify(queue.Permanent, "", err)
	}
	if d.Kind == queue.KindText && strings.TrimSpace(d.Text) == "" {
		return "", queue.Classify(queue.Permanent, "", errors.New("the message text is empty"))
	}
	if err := s.ready(ctx); err != nil {
		return "", err
	}
	var media *mediaData
	if d.Kind != queue.KindText {
		if media, err = s.readMedia(ctx, d); err != nil {
			return "", err
		}
	}

	if err := s.pacer.Wait(ctx); err != nil {
		var pe *PaceError
		if errors.As(err, &pe) {
			return "", queue.RateLimitedFor(max(pe.Wait, time.Second), "", err)
		}
		return "", queue.Classify(queue.Retry, "", err)
	}
	if !s.opts.SkipNumberCheck {
		if to, err = s.checkNumber(ctx, to); err != nil {
			return "", s.fail(err)
		}
	}
	var msg *waE2E.Message
	if media == nil {
		msg = TextMessage(d.Text)
	} else {
		up, err := s.upload(ctx, media)
		if err != nil {
			return "", s.fail(fmt.Errorf("upload %s: %w", media.name, err))
		}
		msg = MediaMessage(d.Kind, up, media.mime, d.Text)
	}
	resp, err := s.c.SendMessage(ctx, to, msg)
	if err != nil {
		return "", s.fail(err)
	}
	s.log.Debug("whatsapp: sent", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "kind", d.Kind, "provider_id", resp.ID)
	return resp.ID, nil
}

// fail classifies a send error and remembers a blocked sender.
func (s *Sender) fail(err error) error {
	e, class := classify(err)
	if class == queue.SenderBlocked {
		s.setState(StateBlocked, e.Error())
	}
	return e
}

// ready returns nil when the session can send: sender-blocked when it is
// blocked or not linked, Retry when it stays disconnected for ConnectWait.
func (s *Sender) ready(ctx context.Context) error {
	var timeout <-chan time.Time
	for {
		s.mu.Lock()
		st, reason, changed := s.state, s.reason, s.changed
		s.mu.Unlock()
		switch {
		case st == StateBlocked:
			return queue.Classify(queue.SenderBlocked, "", errors.New(reason))
		case s.c.LinkedJID().IsEmpty():
			return gateways.NotReady(NotLinkedReason)
		case s.c.IsLoggedIn():
			return nil
		}
		if timeout == nil {
			t := time.NewTimer(s.opts.ConnectWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
		case <-timeout:
			err := ErrNotConnected
			if reason != "" {
				err = fmt.Errorf("%w: %s", ErrNotConnected, reason)
			}
			return queue.Classify(queue.Retry, "", err)
		case <-ctx.Done():
			return queue.Classify(queue.Retry, "", fmt.Errorf("%w: %w", ErrNotConnected, ctx.Err()))
		}
	}
}

// checkNumber asks WhatsApp whether to has an account, and returns the
// JID WhatsApp knows it by.
func (s *Sender) checkNumber(ctx context.Context, to types.JID) (types.JID, error) {
	resp, err := s.c.IsOnWhatsApp(ctx, []string{"+" + to.User})
	if err != nil {
		return to, fmt.Errorf("checking the number: %w", err)
	}
	for _, r := range resp {
		if !r.IsIn {
			continue
		}
		if r.JID.Server == types.DefaultUserServer && r.JID.User != "" {
			return r.JID.ToNonAD(), nil
		}
		return to, nil
	}
	return to, ErrNotOnWhatsApp
}

// RecipientJID is the WhatsApp user JID for an E.164 phone number:
// "+919876543210" → 919876543210@s.whatsapp.net.
func RecipientJID(phone string) (types.JID, error) {
	digits, ok := strings.CutPrefix(strings.TrimSpace(phone), "+")
	if !ok || !allDigits(digits) || len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return types.EmptyJID, fmt.Errorf("invalid phone number %q: want E.164 like +919876543210", gateways.MaskPhone(phone))
	}
	return types.NewJID(digits, types.DefaultUserServer), nil
}

// TextMessage is a text message: a plain Conversation, or an
// ExtendedTextMessage when the text holds a link (as WhatsApp's own
// clients send links).
func TextMessage(text string) *waE2E.Message {
	if hasLink(text) {
		return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(text)}}
	}
	return &waE2E.Message{Conversation: proto.String(text)}
}

func hasLink(text string) bool {
	t := strings.ToLower(text)
	return strings.Contains(t, "http://") || strings.Contains(t, "https://") || strings.Contains(t, "www.")
}

// MediaMessage is an image or video message for an uploaded file.
func MediaMessage(kind queue.Kind, up whatsmeow.UploadResponse, mimeType, caption string) *waE2E.Message {
	var capt *string
	if strings.TrimSpace(caption) != "" {
		capt = proto.String(caption)
	}
	if kind == queue.KindVideo {
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			URL:           proto.String(up.URL),
			DirectPath:    proto.String(up.DirectPath),
			MediaKey:      up.MediaKey,
			FileEncSHA256: up.FileEncSHA256,
			FileSHA256:    up.FileSHA256,
			FileLength:    proto.Uint64(up.FileLength),
			Mimetype:      proto.String(mimeType),
			Caption:       capt,
		}}
	}
	return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
		URL:           proto.String(up.URL),
		DirectPath:    proto.String(up.DirectPath),
		MediaKey:      up.MediaKey,
		FileEncSHA256: up.FileEncSHA256,
		FileSHA256:    up.FileSHA256,
		FileLength:    proto.Uint64(up.FileLength),
		Mimetype:      proto.String(mimeType),
		Caption:       capt,
	}}
}

// mediaData is a delivery's file, read and checked.
type mediaData struct {
	name      string
	data      []byte
	mime      string
	mediaType whatsmeow.MediaType
	key       string // upload cache key: media type and SHA-256
}

// readMedia reads and checks the delivery's image or video.
func (s *Sender) readMedia(ctx context.Context, d queue.Delivery) (*mediaData, error) {
	m := d.Media
	if m == nil || m.Open == nil {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("the %s message has no file", d.Kind))
	}
	name := m.Name
	if name == "" {
		name = fmt.Sprintf("media %d", m.ID)
	}
	limit := s.opts.MaxMediaSize
	if m.Size > limit {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("%s is %d bytes; a linked session sends at most %d", name, m.Size, limit))
	}
	r, err := m.Open(ctx)
	if err != nil {
		return nil, queue.Classify(queue.Retry, "", fmt.Errorf("read %s: %w", name, err))
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	_ = r.Close()
	if err != nil {
		return nil, queue.Classify(queue.Retry, "", fmt.Errorf("read %s: %w", name, err))
	}
	if int64(len(data)) > limit {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("%s is over %d bytes, the most a linked session sends", name, limit))
	}
	if len(data) == 0 {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("%s is empty", name))
	}
	mt, _, _ := mime.ParseMediaType(m.MIME)
	if mt == "" || mt == "application/octet-stream" {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(data))
	}
	md := &mediaData{name: name, data: data, mime: mt, mediaType: whatsmeow.MediaImage}
	want := "image/"
	if d.Kind == queue.KindVideo {
		want, md.mediaType = "video/", whatsmeow.MediaVideo
	}
	if !strings.HasPrefix(mt, want) {
		return nil, queue.Classify(queue.Permanent, "", fmt.Errorf("%s is %s, not %s", name, mt, strings.TrimSuffix(want, "/")))
	}
	sum := sha256.Sum256(data)
	md.key = string(md.mediaType) + "/" + hex.EncodeToString(sum[:])
	return md, nil
}

// upload uploads the file, or reuses a recent upload of the same bytes:
// WhatsApp lets one upload serve many recipients, as forwarding does.
func (s *Sender) upload(ctx context.Context, m *mediaData) (whatsmeow.UploadResponse, error) {
	ttl := s.opts.MediaCacheTTL
	if ttl > 0 {
		s.mu.Lock()
		c, ok := s.uploads[m.key]
		s.mu.Unlock()
		if ok && time.Since(c.at) < ttl {
			return c.resp, nil
		}
	}
	resp, err := s.c.Upload(ctx, m.data, m.mediaType)
	if err != nil || ttl <= 0 {
		return resp, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, c := range s.uploads {
		if now.Sub(c.at) >= ttl {
			delete(s.uploads, k)
		}
	}
	for len(s.uploads) >= maxCachedUploads {
		oldest := ""
		for k, c := range s.uploads {
			if oldest == "" || c.at.Before(s.uploads[oldest].at) {
				oldest = k
			}
		}
		delete(s.uploads, oldest)
	}
	s.uploads[m.key] = cachedUpload{resp: resp, at: now}
	return resp, nil
}
