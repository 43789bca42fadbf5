// Package whatsapp is the WhatsApp transport of the operator bot: it
// listens on the linked WhatsApp session (gateways/session) for messages in
// the configured operator chats, hands them to a bot.Handler and sends the
// handler's replies back to the same chat.
//
// It shares the linked number with the session gateway, so the bot answers
// as that number. Messages the number sends itself (including from the
// phone), edits, reactions, protocol messages and status updates are
// ignored, as is every chat not in Config.AllowedChats.
//
// Messages are handled concurrently across chats and in order within a
// chat: each chat with work has its own worker goroutine, so a long /import
// in one operator chat does not hold up another chat, while two commands in
// one chat never overtake each other. Config.MaxConcurrentChats bounds how
// many chats are handled at once.
//
// Talking to WhatsApp needs a real, paired account and is not exercised by
// the tests; they drive the transport with whatsmeow event structs and a
// fake session.
package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/store/words"
)

// Session is what the transport needs from the linked session;
// *session.Session (package gateways/session) satisfies it.
type Session interface {
	SendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, data []byte, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error)
	// PNForLID returns the phone-number JID known for a LID, or an empty JID.
	PNForLID(ctx context.Context, lid types.JID) (types.JID, error)
	// AddHandler subscribes to whatsmeow events until remove is called.
	AddHandler(fn func(evt any)) (remove func())
}

// Config configures a Transport.
type Config struct {
	// AllowedChats are the operator chats the bot listens in: group JIDs
	// ("120363012345678901@g.us") or people, as JIDs
	// ("919876543210@s.whatsapp.net") or E.164 numbers ("+919876543210").
	// Messages anywhere else are ignored. At least one is required.
	AllowedChats []string
	// MaxFileSize is the largest attachment Open reads, in bytes (100 MB).
	MaxFileSize int64
	// Logger is optional; default slog.Default().
	Logger *slog.Logger
	// MaxConcurrentChats is how many chats' messages are handled at the
	// same time; default 16. Messages of one chat are always handled one
	// after another. When that many chats are busy, Run waits for one to
	// finish before taking the next chat's message; meanwhile new messages
	// wait in the inbox, which drops them once full as it always has.
	MaxConcurrentChats int
	// ShutdownGrace is how long Run waits, once its context is cancelled,
	// for handlers still running (they see the cancelled context) before
	// it returns without them; default 3s.
	ShutdownGrace time.Duration
}

// Transport connects a bot.Handler to WhatsApp operator chats.
type Transport struct {
	sess        Session
	handler     bot.Handler
	allowed     map[types.JID]bool
	maxFileSize int64
	log         *slog.Logger
	maxChats    int
	grace       time.Duration
	inbox       chan incoming
	running     atomic.Bool
}

// incoming is a message waiting for the handler, with what a quoted reply
// needs.
type incoming struct {
	msg    bot.Message
	chat   types.JID
	sender types.JID
	raw    *waE2E.Message
}

const (
	defaultMaxFileSize = 100 << 20
	inboxSize          = 64
	maxWaiting         = 256 // messages handed to chat workers and not yet handled
	defaultMaxChats    = 16
	defaultGrace       = 3 * time.Second
	callTimeout        = 2 * time.Minute // one send or upload
	lookupTimeout      = 5 * time.Second // a LID → phone lookup in the device store
	maxTextLen         = 4000            // characters per text message we send (WhatsApp takes 65,536; long ones read badly)
	maxCaptionLen      = 1000            // runes of reply text sent as a document caption
)

// New checks cfg and returns a Transport. It does no I/O.
func New(cfg Config, sess Session, h bot.Handler) (*Transport, error) {
	if sess == nil {
		return nil, errors.New("whatsapp: no session")
	}
	if h == nil {
		return nil, errors.New("whatsapp: no handler")
	}
	allowed, err := ParseAllowedChats(cfg.AllowedChats)
	if err != nil {
		return nil, err
	}
	t := &Transport{
		sess:        sess,
		handler:     h,
		allowed:     allowed,
		maxFileSize: cfg.MaxFileSize,
		log:         cfg.Logger,
		maxChats:    cfg.MaxConcurrentChats,
		grace:       cfg.ShutdownGrace,
		inbox:       make(chan incoming, inboxSize),
	}
	if t.maxFileSize <= 0 {
		t.maxFileSize = defaultMaxFileSize
	}
	if t.maxChats <= 0 {
		t.maxChats = defaultMaxChats
	}
	if t.grace <= 0 {
		t.grace = defaultGrace
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	t.log = t.log.With("component", "bot.whatsapp")
	return t, nil
}

// ParseAllowedChats parses Config.AllowedChats into chat JIDs.
func ParseAllowedChats(chats []string) (map[types.JID]bool, error) {
	allowed := map[types.JID]bool{}
	for _, c := range chats {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		var jid types.JID
		if phone, ok := strings.CutPrefix(c, "+"); ok {
			if !allDigits(phone) || len(phone) < 7 || len(phone) > 15 {
				return nil, fmt.Errorf("whatsapp: allowed chat %q is not an E.164 number like +919876543210", c)
			}
			jid = types.NewJID(phone, types.DefaultUserServer)
		} else {
			var err error
			jid, err = types.ParseJID(c)
			if err != nil || jid.User == "" {
				return nil, fmt.Errorf("whatsapp: allowed chat %q is not a JID like 120363012345678901@g.us or 919876543210@s.whatsapp.net", c)
			}
			switch jid.Server {
			case types.GroupServer, types.DefaultUserServer, types.HiddenUserServer:
			case types.LegacyUserServer:
				jid.Server = types.DefaultUserServer
			default:
				return nil, fmt.Errorf("whatsapp: allowed chat %q is not a group or a person", c)
			}
		}
		allowed[jid.ToNonAD()] = true
	}
	if len(allowed) == 0 {
		return nil, errors.New("whatsapp: no allowed chats: name the operator groups or numbers the bot should listen to")
	}
	return allowed, nil
}

// Run subscribes to the session's events and hands each operator message
// to its chat's worker (see the package comment) until ctx is cancelled,
// when it returns nil. Messages that arrive while Run is not running are
// not seen; connect the session after starting Run, or accept that
// messages from before are missed.
//
// When ctx is cancelled Run takes no further message and no queued one is
// started; handlers already running finish with the cancelled ctx, and Run
// waits for them up to Config.ShutdownGrace.
func (t *Transport) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("whatsapp: Run is already running")
	}
	defer t.running.Store(false)
	remove := t.sess.AddHandler(t.onEvent)
	defer remove()
	chats := bot.NewChatQueues[types.JID](t.maxChats, maxWaiting, t.handle, func(in incoming) {
		t.log.Warn("whatsapp: shutting down; message not handled", "chat", in.msg.ChatID, "id", in.msg.MessageID)
	})
	t.log.Info("whatsapp: listening for operator messages", "chats", len(t.allowed))
	t.dispatch(ctx, chats)
	if !chats.Wait(t.grace) {
		t.log.Warn("whatsapp: handlers still running at shutdown", "chats", chats.Busy(), "grace", t.grace)
	}
	return nil
}

// dispatch hands the inbox's messages to their chats' workers until ctx is
// done.
func (t *Transport) dispatch(ctx context.Context, chats *bot.ChatQueues[types.JID, incoming]) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-t.inbox:
			if chats.Dispatch(ctx, in.chat, in) != nil {
				return // cancelled while waiting for a free chat worker
			}
		}
	}
}

// onEvent runs on whatsmeow's event goroutine: it converts and queues, and
// never waits for the handler.
func (t *Transport) onEvent(evt any) {
	switch e := evt.(type) {
	case *events.Message:
		in, skip := t.convert(e)
		if skip != "" {
			t.log.Debug("whatsapp: message ignored", "chat", e.Info.Chat.String(), "id", e.Info.ID, "why", skip)
			return
		}
		select {
		case t.inbox <- in:
		default:
			t.log.Warn("whatsapp: too many operator messages waiting; dropped one", "chat", in.msg.ChatID, "id", in.msg.MessageID)
		}
	case *events.Receipt, *events.Connected, *events.Disconnected, *events.LoggedOut, *events.StreamReplaced,
		*events.TemporaryBan, *events.UndecryptableMessage, *events.HistorySync, *events.Presence, *events.ChatPresence:
		// Ignored on purpose: delivery and connection state are the
		// gateway's; history is not replayed as commands; undecryptable
		// messages cannot be read (whatsmeow asks the sender's phone to
		// resend, which arrives as a new Message).
	default:
		// Everything else (app state, groups, calls, …) is not for the bot.
	}
}

// convert maps an event to a queued message with its attachment's opener,
// or says why it is skipped.
func (t *Transport) convert(e *events.Message) (incoming, string) {
	resolve := func(lid types.JID) types.JID {
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		pn, err := t.sess.PNForLID(ctx, lid)
		if err != nil {
			t.log.Warn("whatsapp: looking up a LID's phone number failed", "lid", lid.String(), "err", err)
			return types.EmptyJID
		}
		return pn
	}
	m, media, skip := Convert(e, t.allowed, resolve)
	if skip != "" {
		return incoming{}, skip
	}
	if media != nil {
		m.Attachment.Open = t.opener(m.Attachment.Name, m.Attachment.Size, media)
	}
	chat, _ := types.ParseJID(m.ChatID)
	return incoming{msg: m, chat: chat, sender: e.Info.Sender, raw: e.Message}, ""
}

// Convert maps a whatsmeow message event to a bot.Message, or returns why
// it is skipped. allowed holds the operator chats. resolvePN, which may be
// nil, finds the phone-number JID of a LID when the event does not carry
// it. media is the attachment to download, if any; the Attachment's Open
// is left nil for the caller to fill.
func Convert(e *events.Message, allowed map[types.JID]bool, resolvePN func(lid types.JID) types.JID) (m bot.Message, media whatsmeow.DownloadableMessage, skip string) {
	info := e.Info
	msg := e.Message
	switch {
	case msg == nil:
		return m, nil, "no message content"
	case info.IsFromMe:
		return m, nil, "sent by this number"
	case info.Chat == types.StatusBroadcastJID || info.Chat.Server == types.BroadcastServer:
		return m, nil, "status or broadcast list"
	case e.IsEdit || info.Edit != types.EditAttributeEmpty:
		return m, nil, "edit"
	case msg.ReactionMessage != nil || msg.EncReactionMessage != nil:
		return m, nil, "reaction"
	case msg.ProtocolMessage != nil:
		return m, nil, "protocol message"
	}

	// The sender's phone number: from a phone-number JID, or for a LID
	// from its alternative address or the device store.
	phone := phoneJID(info.Sender, info.SenderAlt, resolvePN)

	// The chat: groups as they are; a direct chat by phone number when
	// known, so that it matches the configured numbers.
	chat := info.Chat.ToNonAD()
	if !info.IsGroup && chat.Server == types.HiddenUserServer && !phone.IsEmpty() {
		chat = phone
	}
	if !allowed[chat] && !allowed[info.Chat.ToNonAD()] {
		return m, nil, "chat not allowed"
	}
	if phone.IsEmpty() {
		return m, nil, "the sender's phone number is unknown"
	}

	m = bot.Message{
		Transport: bot.WhatsApp,
		ChatID:    chat.String(),
		MessageID: info.ID,
		From:      bot.Identity{Transport: bot.WhatsApp, ID: "+" + phone.User, Name: info.PushName},
		At:        info.Timestamp,
	}
	var ctxInfo *waE2E.ContextInfo
	switch {
	case msg.GetConversation() != "":
		m.Text = msg.GetConversation()
	case msg.ExtendedTextMessage != nil:
		m.Text = msg.ExtendedTextMessage.GetText()
		ctxInfo = msg.ExtendedTextMessage.GetContextInfo()
	case msg.DocumentMessage != nil:
		d := msg.DocumentMessage
		m.Text, ctxInfo, media = d.GetCaption(), d.GetContextInfo(), d
		name := d.GetFileName()
		if name == "" {
			name = d.GetTitle()
		}
		if name == "" {
			name = "document" + extension(d.GetMimetype())
		}
		m.Attachment = attachment(name, d.GetMimetype(), d.GetFileLength())
	case msg.ImageMessage != nil:
		i := msg.ImageMessage
		m.Text, ctxInfo, media = i.GetCaption(), i.GetContextInfo(), i
		m.Attachment = attachment("image"+extensionOr(i.GetMimetype(), ".jpg"), i.GetMimetype(), i.GetFileLength())
	case msg.VideoMessage != nil:
		v := msg.VideoMessage
		m.Text, ctxInfo, media = v.GetCaption(), v.GetContextInfo(), v
		m.Attachment = attachment("video"+extensionOr(v.GetMimetype(), ".mp4"), v.GetMimetype(), v.GetFileLength())
	default:
		// Stickers, voice notes, locations, contacts, polls, …
		return bot.Message{}, nil, "not text, a document, an image or a video"
	}
	if q := ctxInfo.GetQuotedMessage(); q != nil {
		m.ReplyToText = textOf(q)
	}
	if strings.TrimSpace(m.Text) == "" && m.Attachment == nil {
		return bot.Message{}, nil, "empty"
	}
	return m, media, ""
}

// phoneJID is the sender's phone-number JID, or empty if unknown.
func phoneJID(sender, alt types.JID, resolvePN func(types.JID) types.JID) types.JID {
	for _, j := range []types.JID{sender, alt} {
		if j.Server == types.DefaultUserServer && j.User != "" {
			return j.ToNonAD()
		}
	}
	if sender.Server == types.HiddenUserServer && resolvePN != nil {
		if pn := resolvePN(sender.ToNonAD()); pn.Server == types.DefaultUserServer && pn.User != "" {
			return pn.ToNonAD()
		}
	}
	return types.EmptyJID
}

func attachment(name, mimeType string, size uint64) *bot.Attachment {
	a := &bot.Attachment{Name: name, MIME: mimeType, Size: int64(size)}
	if size == 0 {
		a.Size = -1
	}
	return a
}

// textOf is the text or caption of a (quoted) message.
func textOf(m *waE2E.Message) string {
	switch {
	case m.GetConversation() != "":
		return m.GetConversation()
	case m.GetExtendedTextMessage() != nil:
		return m.GetExtendedTextMessage().GetText()
	case m.GetImageMessage() != nil:
		return m.GetImageMessage().GetCaption()
	case m.GetVideoMessage() != nil:
		return m.GetVideoMessage().GetCaption()
	case m.GetDocumentMessage() != nil:
		if c := m.GetDocumentMessage().GetCaption(); c != "" {
			return c
		}
		return m.GetDocumentMessage().GetFileName()
	case m.GetDocumentWithCaptionMessage().GetMessage() != nil:
		return textOf(m.GetDocumentWithCaptionMessage().GetMessage())
	}
	return ""
}

func extension(mimeType string) string {
	exts, _ := mime.ExtensionsByType(strings.TrimSpace(strings.Split(mimeType, ";")[0]))
	if len(exts) == 0 {
		return ""
	}
	// Prefer the common spelling where Go lists several (".jpe", ".jpeg", ".jpg").
	for _, e := range exts {
		if e == ".jpg" || e == ".mp4" || e == ".pdf" || e == ".xlsx" || e == ".csv" {
			return e
		}
	}
	return exts[0]
}

func extensionOr(mimeType, def string) string {
	if e := extension(mimeType); e != "" {
		return e
	}
	return def
}

// opener returns an Attachment.Open that downloads the file through the
// session, refusing files over MaxFileSize.
func (t *Transport) opener(name string, size int64, media whatsmeow.DownloadableMessage) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		if size > t.maxFileSize {
			return nil, t.tooBig(name)
		}
		data, err := t.sess.Download(ctx, media)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("whatsapp: downloading %s: %w", name, ctx.Err())
			}
			t.log.Warn("whatsapp: download failed", "file", name, "err", err)
			var httpErr whatsmeow.DownloadHTTPError
			if errors.As(err, &httpErr) && (httpErr.StatusCode == http.StatusNotFound ||
				httpErr.StatusCode == http.StatusGone || httpErr.StatusCode == http.StatusForbidden) {
				return nil, &bot.FileError{Message: fmt.Sprintf("WhatsApp no longer has %s. Please send it again.", name)}
			}
			return nil, &bot.FileError{Message: fmt.Sprintf("I could not download %s from WhatsApp. Please send it again.", name)}
		}
		if int64(len(data)) > t.maxFileSize {
			return nil, t.tooBig(name)
		}
		return io.NopCloser(bytes.NewReader(data)), nil
	}
}

func (t *Transport) tooBig(name string) error {
	return &bot.FileError{Message: fmt.Sprintf("%s is over the %s limit, so I cannot read it. Please send a smaller file.",
		name, words.SizeLimit(t.maxFileSize))}
}

// handle runs the handler on one message and sends its replies. It runs
// on the chat's worker.
func (t *Transport) handle(ctx context.Context, in incoming) {
	replies, ok := t.callHandler(ctx, in.msg)
	if !ok {
		return
	}
	quote := &waE2E.ContextInfo{
		StanzaID:      proto.String(in.msg.MessageID),
		Participant:   proto.String(in.sender.ToNonAD().String()),
		QuotedMessage: in.raw,
	}
	for i, r := range replies {
		if ctx.Err() != nil {
			t.log.Warn("whatsapp: shutting down; replies not sent", "chat", in.msg.ChatID, "count", len(replies)-i)
			return
		}
		if t.sendReply(ctx, in.chat, quote, r) {
			quote = nil // only the first message answers the command
		}
	}
}

// callHandler runs the handler, turning a panic into a log line.
func (t *Transport) callHandler(ctx context.Context, m bot.Message) (replies []bot.Reply, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			t.log.Error("whatsapp: handler panicked", "chat", m.ChatID, "id", m.MessageID, "panic", fmt.Sprint(p))
			replies, ok = nil, false
		}
	}()
	return t.handler.Handle(ctx, m), true
}

// sendReply sends one reply: its text, and its file as a document (with
// the text as caption when short). It reports whether anything was sent.
func (t *Transport) sendReply(ctx context.Context, chat types.JID, quote *waE2E.ContextInfo, r bot.Reply) bool {
	sent := false
	text := r.Text
	caption := ""
	if r.File != nil && utf8.RuneCountInString(text) <= maxCaptionLen {
		caption, text = text, ""
	}
	for _, chunk := range splitText(text, maxTextLen) {
		msg := &waE2E.Message{Conversation: proto.String(chunk)}
		if quote != nil && !sent {
			msg = &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(chunk), ContextInfo: quote}}
		}
		if t.send(ctx, chat, msg, "text") {
			sent = true
		}
	}
	if r.File == nil {
		return sent
	}
	if sent {
		quote = nil
	}
	f := r.File
	if len(f.Data) == 0 {
		t.log.Warn("whatsapp: not sending an empty file", "chat", chat.String(), "file", f.Name)
		return sent
	}
	name := f.Name
	if name == "" {
		name = "file"
	}
	mimeType := f.MIME
	if mimeType == "" {
		mimeType = http.DetectContentType(f.Data)
	}
	uctx, cancel := context.WithTimeout(ctx, callTimeout)
	up, err := t.sess.Upload(uctx, f.Data, whatsmeow.MediaDocument)
	cancel()
	if err != nil {
		t.log.Error("whatsapp: uploading a document failed", "chat", chat.String(), "file", name, "err", err)
		return sent
	}
	return t.send(ctx, chat, DocumentMessage(up, name, mimeType, caption, quote), "document") || sent
}

// DocumentMessage is a document message for an uploaded file.
func DocumentMessage(up whatsmeow.UploadResponse, name, mimeType, caption string, quote *waE2E.ContextInfo) *waE2E.Message {
	d := &waE2E.DocumentMessage{
		URL:           proto.String(up.URL),
		DirectPath:    proto.String(up.DirectPath),
		MediaKey:      up.MediaKey,
		FileEncSHA256: up.FileEncSHA256,
		FileSHA256:    up.FileSHA256,
		FileLength:    proto.Uint64(up.FileLength),
		Mimetype:      proto.String(mimeType),
		FileName:      proto.String(name),
		Title:         proto.String(name),
		ContextInfo:   quote,
	}
	if strings.TrimSpace(caption) != "" {
		d.Caption = proto.String(caption)
	}
	return &waE2E.Message{DocumentMessage: d}
}

func (t *Transport) send(ctx context.Context, chat types.JID, msg *waE2E.Message, what string) bool {
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := t.sess.SendMessage(sctx, chat, msg); err != nil {
		t.log.Error("whatsapp: sending a reply failed", "chat", chat.String(), "kind", what, "err", err)
		return false
	}
	return true
}

// splitText cuts text into messages of at most limit characters, at most
// bot.MaxReplyMessages of them: bot.SplitText, the one splitter of every
// transport.
func splitText(text string, limit int) []string {
	return bot.SplitText(text, bot.TextLimit{Max: limit, Messages: bot.MaxReplyMessages})
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
