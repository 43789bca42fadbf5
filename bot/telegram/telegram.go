// Package telegram is the Telegram transport: it long-polls the Bot API for
// messages, hands them to a bot.Handler and sends the handler's replies back
// to the same chat.
//
// Messages are handled concurrently across chats and in order within a
// chat: each chat with work has its own worker goroutine, so a long /import
// in the operators' group does not hold up a staff member's message in
// another chat, while two commands in one chat never overtake each other.
// Config.MaxConcurrentChats bounds how many chats are handled at once.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/store/words"
)

// CursorStore keeps the position of the last handled update across
// restarts. store.DB implements it.
type CursorStore interface {
	// Cursor returns the saved position and whether one is saved.
	Cursor(ctx context.Context, name string) (int64, bool, error)
	SetCursor(ctx context.Context, name string, pos int64) error
}

// Config configures a Transport.
type Config struct {
	// Token is the bot token from @BotFather. It is a secret: the transport
	// never logs it or puts it in an error.
	Token string
	// APIEndpoint is the base URL of a self-hosted Bot API server, e.g.
	// http://127.0.0.1:8081. Empty means https://api.telegram.org.
	APIEndpoint string
	// MaxFileSize is the largest attachment Open reads, in bytes. The
	// default is 20 MB with the public API (its download limit) and
	// 2000 MB with a custom APIEndpoint.
	MaxFileSize int64
	// PollTimeout is the getUpdates long-poll timeout; default 30s, whole
	// seconds.
	PollTimeout time.Duration
	// HTTPClient is optional. Its Timeout, if set, must be longer than
	// PollTimeout; the transport sets its own per-request deadlines.
	HTTPClient *http.Client
	// Logger is optional; default slog.Default().
	Logger *slog.Logger
	// MaxConcurrentChats is how many chats' messages are handled at the
	// same time; default 16. Messages of one chat are always handled one
	// after another. When that many chats are busy, Run waits for one to
	// finish before taking the next chat's message; it drops none.
	MaxConcurrentChats int
	// ShutdownGrace is how long Run waits, once its context is cancelled,
	// for handlers still running (they see the cancelled context) before
	// it returns without them; default 3s.
	ShutdownGrace time.Duration
	// HeldPollInterval is how often Telegram is asked for new updates
	// while an earlier one is still being handled (1s): such polls return
	// at once, so they are spaced.
	HeldPollInterval time.Duration
}

// Transport connects a bot.Handler to Telegram.
type Transport struct {
	token       string
	base        *url.URL // API base, no trailing slash
	apiFormat   string   // tgbotapi endpoint format: <base>/bot%s/%s
	maxFileSize int64
	pollTimeout time.Duration
	client      *http.Client
	log         *slog.Logger
	cursors     CursorStore
	handler     bot.Handler
	maxChats    int
	grace       time.Duration
	heldPoll    time.Duration
	running     atomic.Bool

	// Tunables; tests shorten them.
	minBackoff   time.Duration // first wait after a failed getUpdates
	maxBackoff   time.Duration
	sendAttempts int // sendMessage/sendDocument tries under flood control
}

const (
	defaultEndpoint = "https://api.telegram.org"
	cursorName      = "telegram.updates"

	publicMaxFileSize = 20 << 20   // the public Bot API's download limit
	localMaxFileSize  = 2000 << 20 // a self-hosted Bot API server's limit
	defaultPoll       = 30 * time.Second
	defaultMaxChats   = 16
	defaultGrace      = 3 * time.Second
	maxWaiting        = 1024 // updates dispatched and not yet handled, over all chats

	maxMessageLen = 4096 // sendMessage text limit, UTF-16 code units
	maxCaptionLen = 1024 // sendDocument caption limit

	callTimeout       = 2 * time.Minute  // one API call other than getUpdates
	cursorSaveTimeout = 10 * time.Second // saving the cursor after a cancel
)

// CheckToken says what is wrong with a bot token's shape, without
// repeating it.
func CheckToken(token string) error {
	if token == "" {
		return errors.New("the bot token is empty")
	}
	if strings.ContainsFunc(token, func(r rune) bool { return unicode.IsSpace(r) || r == '/' || r == '%' }) {
		return errors.New("the bot token contains spaces, '/' or '%'; check how it was pasted")
	}
	return nil
}

// New checks cfg and returns a Transport. It does no I/O: Run checks the
// token.
func New(cfg Config, cursors CursorStore, h bot.Handler) (*Transport, error) {
	if cursors == nil {
		return nil, errors.New("telegram: no cursor store")
	}
	if h == nil {
		return nil, errors.New("telegram: no handler")
	}
	if err := CheckToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	t := &Transport{
		token:        cfg.Token,
		maxFileSize:  cfg.MaxFileSize,
		pollTimeout:  cfg.PollTimeout,
		client:       cfg.HTTPClient,
		log:          cfg.Logger,
		cursors:      cursors,
		handler:      h,
		maxChats:     cfg.MaxConcurrentChats,
		grace:        cfg.ShutdownGrace,
		heldPoll:     cfg.HeldPollInterval,
		minBackoff:   time.Second,
		maxBackoff:   30 * time.Second,
		sendAttempts: 5,
	}
	endpoint := strings.TrimRight(cfg.APIEndpoint, "/")
	if endpoint == "" {
		endpoint = defaultEndpoint
		if t.maxFileSize <= 0 {
			t.maxFileSize = publicMaxFileSize
		}
	} else if t.maxFileSize <= 0 {
		t.maxFileSize = localMaxFileSize
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("telegram: APIEndpoint %q is not an http(s) base URL like http://127.0.0.1:8081",
			t.scrubText(cfg.APIEndpoint))
	}
	t.base = u
	t.apiFormat = strings.ReplaceAll(endpoint, "%", "%%") + "/bot%s/%s"
	if t.pollTimeout <= 0 {
		t.pollTimeout = defaultPoll
	}
	if t.client == nil {
		t.client = &http.Client{}
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	if t.maxChats <= 0 {
		t.maxChats = defaultMaxChats
	}
	if t.grace <= 0 {
		t.grace = defaultGrace
	}
	if t.heldPoll <= 0 {
		t.heldPoll = time.Second
	}
	return t, nil
}

// Run checks the token with getMe, then long-polls for updates and hands
// each message to its chat's worker (see the package comment) until ctx is
// cancelled, when it returns nil. It returns an error if the token is
// refused or the cursor cannot be read.
//
// Polling runs ahead of the handlers: each getUpdates asks for the update
// after the last one dispatched. The saved cursor lags behind it: it is the
// highest update_id that, with every lower update dispatched, has been
// handled and its replies sent, so it never passes an update still in
// flight. After a restart polling starts after the saved cursor, so what
// was in flight is asked for again, and so is what other chats finished
// after it. A replayed message is handled a second time; a replayed staff
// number is caught by the command layer's duplicate guard. Telegram
// forgets an update once a getUpdates asks past it, so polls never ask past
// an update still being handled: after a crash Telegram still has it.
//
// When ctx is cancelled Run dispatches nothing more and no queued message
// is started; handlers already running finish with the cancelled ctx and
// count as handled (running one again could repeat a command). Run waits
// for them up to Config.ShutdownGrace; an update whose handler is still
// running then stays unhandled in the cursor, and finishing later saves
// nothing.
func (t *Transport) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("telegram: Run is already running")
	}
	defer t.running.Store(false)

	var me tgbotapi.User
	err := t.do(ctx, "getMe", callTimeout, 0, func(api *tgbotapi.BotAPI) (err error) {
		me, err = api.GetMe()
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("telegram: checking the bot token (is it right, and is the API endpoint reachable?): %w", err)
	}
	t.log.Info("telegram: connected", "bot", me.UserName, "bot_id", me.ID, "endpoint", t.scrubText(t.base.String()))

	pos, ok, err := t.cursors.Cursor(ctx, cursorName)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("telegram: reading cursor %q: %w", cursorName, err)
	}
	var offset int64 // next update_id wanted; 0 asks for all pending ones
	if ok {
		offset = pos + 1
	}

	cursor := newUpdateCursor(t.cursors, t.log, t.scrubText, pos, ok)
	chats := bot.NewChatQueues[int64](t.maxChats, maxWaiting,
		func(ctx context.Context, u tgbotapi.Update) {
			t.handleUpdate(ctx, u)
			cursor.finish(ctx, int64(u.UpdateID))
		},
		func(u tgbotapi.Update) {
			t.log.Info("telegram: shutting down; message not handled and not saved as handled",
				"update_id", u.UpdateID, "chat_id", u.Message.Chat.ID)
		})
	t.poll(ctx, offset, cursor, chats)

	if !chats.Wait(t.grace) {
		t.log.Warn("telegram: handlers still running at shutdown; their updates are not saved as handled",
			"chats", chats.Busy(), "grace", t.grace)
	}
	cursor.close()
	if pos, ok := cursor.position(); ok {
		t.log.Info("telegram: stopped", "cursor", pos)
	}
	return nil
}

// poll long-polls from offset on and dispatches the updates until ctx is
// done.
//
// Polls ask from the oldest update still being handled, not from the next
// new one, so Telegram does not forget an update before it is handled; the
// ones already dispatched that come back are skipped. When a poll brings
// nothing new because an earlier update is still in flight, the next poll
// waits for a handler to finish or HeldPollInterval, rather than spin.
func (t *Transport) poll(ctx context.Context, offset int64, cursor *updateCursor, chats *bot.ChatQueues[int64, tgbotapi.Update]) {
	var backoff time.Duration
	for ctx.Err() == nil {
		ask := cursor.oldestUnhandled(offset)
		updates, err := t.getUpdates(ctx, ask)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, t.minBackoff), t.maxBackoff)
			t.log.Warn("telegram: getUpdates failed; retrying", "err", err.Error(), "retry_in", backoff)
			if sleep(ctx, backoff) != nil {
				return
			}
			continue
		}
		backoff = 0
		fresh := 0
		for _, u := range updates {
			id := int64(u.UpdateID)
			if id < offset {
				continue // already dispatched, still being handled
			}
			fresh++
			if ctx.Err() != nil {
				return
			}
			cursor.dispatched(id)
			if m := u.Message; m == nil || m.Chat == nil {
				cursor.finish(ctx, id) // nothing to handle
			} else if chats.Dispatch(ctx, m.Chat.ID, u) != nil {
				return // cancelled while waiting for a free chat worker
			}
			offset = id + 1
		}
		if fresh == 0 && ask < offset {
			// Only updates in flight came back: Telegram answers such a
			// poll at once, so wait for progress before asking again.
			t := time.NewTimer(t.heldPoll)
			select {
			case <-ctx.Done():
			case <-cursor.progress:
			case <-t.C:
			}
			t.Stop()
		}
	}
}

// getUpdates long-polls for the updates from offset on.
func (t *Transport) getUpdates(ctx context.Context, offset int64) ([]tgbotapi.Update, error) {
	cfg := tgbotapi.UpdateConfig{
		Offset:         int(offset),
		Timeout:        int(math.Ceil(t.pollTimeout.Seconds())),
		AllowedUpdates: []string{"message"},
	}
	var updates []tgbotapi.Update
	err := t.do(ctx, "getUpdates", t.pollTimeout+30*time.Second, 0, func(api *tgbotapi.BotAPI) (err error) {
		updates, err = api.GetUpdates(cfg)
		return err
	})
	return updates, err
}

// handleUpdate hands the update's message to the handler and sends the
// replies. It runs on the chat's worker.
func (t *Transport) handleUpdate(ctx context.Context, u tgbotapi.Update) {
	m := u.Message
	msg := t.message(m)
	if replies, ok := t.callHandler(ctx, u.UpdateID, msg); ok {
		t.sendReplies(ctx, m.Chat.ID, m.MessageID, replies)
	}
}

// callHandler runs the handler, turning a panic into a log line so that
// one bad message cannot stop the transport for good.
func (t *Transport) callHandler(ctx context.Context, updateID int, m bot.Message) (replies []bot.Reply, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			t.log.Error("telegram: handler panicked", "update_id", updateID, "chat_id", m.ChatID,
				"panic", t.scrubText(fmt.Sprint(p)))
			replies, ok = nil, false
		}
	}()
	return t.handler.Handle(ctx, m), true
}

// message converts a Telegram message to a bot.Message.
func (t *Transport) message(m *tgbotapi.Message) bot.Message {
	msg := bot.Message{
		Transport: bot.Telegram,
		ChatID:    strconv.FormatInt(m.Chat.ID, 10),
		MessageID: strconv.Itoa(m.MessageID),
		From:      identity(m),
		Text:      textOf(m),
		At:        time.Unix(int64(m.Date), 0).UTC(),
	}
	if m.ReplyToMessage != nil {
		msg.ReplyToText = textOf(m.ReplyToMessage)
	}
	msg.Attachment = t.attachment(m)
	return msg
}

func textOf(m *tgbotapi.Message) string {
	if m.Text != "" {
		return m.Text
	}
	return m.Caption
}

// identity is the message's sender: the user, or for a message sent on
// behalf of a chat with no user, that chat.
func identity(m *tgbotapi.Message) bot.Identity {
	id := bot.Identity{Transport: bot.Telegram}
	switch {
	case m.From != nil:
		id.ID = strconv.FormatInt(m.From.ID, 10)
		id.Name = strings.TrimSpace(m.From.FirstName + " " + m.From.LastName)
		if id.Name == "" {
			id.Name = m.From.UserName
		}
	case m.SenderChat != nil:
		id.ID = strconv.FormatInt(m.SenderChat.ID, 10)
		id.Name = m.SenderChat.Title
		if id.Name == "" {
			id.Name = m.SenderChat.UserName
		}
	}
	return id
}

// attachment describes the message's document, photo (largest size) or
// video, or returns nil.
func (t *Transport) attachment(m *tgbotapi.Message) *bot.Attachment {
	var name, mime, fileID string
	var size int
	switch {
	case m.Document != nil:
		d := m.Document
		name, mime, fileID, size = d.FileName, d.MimeType, d.FileID, d.FileSize
		if name == "" {
			name = "document"
		}
	case len(m.Photo) > 0:
		p := m.Photo[0]
		for _, q := range m.Photo[1:] {
			if q.FileSize > p.FileSize || (q.FileSize == p.FileSize && q.Width*q.Height > p.Width*p.Height) {
				p = q
			}
		}
		// Telegram stores photos as JPEG.
		name, mime, fileID, size = "photo.jpg", "image/jpeg", p.FileID, p.FileSize
	case m.Video != nil:
		v := m.Video
		name, mime, fileID, size = v.FileName, v.MimeType, v.FileID, v.FileSize
		if name == "" {
			name = "video.mp4"
		}
	default:
		return nil
	}
	a := &bot.Attachment{Name: name, MIME: mime, Size: int64(size)}
	if size <= 0 {
		a.Size = -1
	}
	a.Open = t.opener(name, fileID, a.Size)
	return a
}

// opener returns an Attachment.Open that fetches the file with getFile and
// downloads it, refusing files over MaxFileSize.
func (t *Transport) opener(name, fileID string, size int64) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		if size > t.maxFileSize {
			return nil, t.tooBig(name, size)
		}
		var f tgbotapi.File
		err := t.do(ctx, "getFile", callTimeout, t.sendAttempts, func(api *tgbotapi.BotAPI) (err error) {
			f, err = api.GetFile(tgbotapi.FileConfig{FileID: fileID})
			return err
		})
		if err != nil {
			if strings.Contains(err.Error(), "file is too big") {
				return nil, &bot.FileError{Message: fmt.Sprintf(
					"%s is too big for Telegram to hand to bots (the limit is %s). Please send a smaller file.",
					name, words.SizeLimit(min(t.maxFileSize, publicMaxFileSize)))}
			}
			return nil, fmt.Errorf("telegram: getting %s: %w", name, err)
		}
		if int64(f.FileSize) > t.maxFileSize {
			return nil, t.tooBig(name, int64(f.FileSize))
		}
		if f.FilePath == "" {
			return nil, &bot.FileError{Message: fmt.Sprintf(
				"Telegram no longer has %s. Please send it again.", name)}
		}

		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.fileURL(f.FilePath), nil)
		if err != nil {
			return nil, fmt.Errorf("telegram: downloading %s: %w", name, t.scrub(err))
		}
		resp, err := t.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("telegram: downloading %s: %w", name, t.scrub(err))
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest {
				return nil, &bot.FileError{Message: fmt.Sprintf(
					"Telegram no longer has %s. Please send it again.", name)}
			}
			return nil, fmt.Errorf("telegram: downloading %s: HTTP %s", name, resp.Status)
		}
		if resp.ContentLength > t.maxFileSize {
			resp.Body.Close()
			return nil, t.tooBig(name, resp.ContentLength)
		}
		return &limitedBody{
			r:     io.LimitReader(resp.Body, t.maxFileSize+1),
			c:     resp.Body,
			limit: t.maxFileSize,
			tooBigF: func() error {
				return &bot.FileError{Message: fmt.Sprintf(
					"%s is over the %s limit, so I cannot read it. Please send a smaller file.",
					name, words.SizeLimit(t.maxFileSize))}
			},
		}, nil
	}
}

func (t *Transport) tooBig(name string, size int64) error {
	return &bot.FileError{Message: fmt.Sprintf(
		"%s is %s; the limit is %s, so I cannot read it. Please send a smaller file.",
		name, words.Size(size), words.SizeLimit(t.maxFileSize))}
}

// fileURL is where a getFile path downloads from:
// <base>/file/bot<token>/<path>. (tgbotapi's File.Link always uses
// api.telegram.org.)
func (t *Transport) fileURL(path string) string {
	return t.base.JoinPath("file", "bot"+t.token, path).String()
}

// limitedBody reads a download, failing with a *bot.FileError once more
// than limit bytes arrive, whatever size was declared.
type limitedBody struct {
	r       io.Reader
	c       io.Closer
	n       int64
	limit   int64
	tooBigF func() error
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.n > b.limit {
		return 0, b.tooBigF()
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.limit {
		return n - int(b.n-b.limit), b.tooBigF()
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.c.Close() }

// sendReplies sends the replies in order, the first one as a reply to the
// incoming message. Failures are logged; the remaining replies still go.
func (t *Transport) sendReplies(ctx context.Context, chatID int64, replyTo int, replies []bot.Reply) {
	for i, r := range replies {
		if ctx.Err() != nil {
			t.log.Warn("telegram: shutting down; replies not sent", "chat_id", chatID, "count", len(replies)-i)
			return
		}
		text := r.Text
		if r.File == nil {
			t.sendText(ctx, chatID, &replyTo, text)
			continue
		}
		caption := ""
		if utf16Len(text) <= maxCaptionLen {
			caption, text = text, ""
		}
		t.sendText(ctx, chatID, &replyTo, text)
		t.sendDocument(ctx, chatID, &replyTo, r.File, caption)
	}
}

// sendText sends text with sendMessage, split into messages Telegram
// accepts. *replyTo, when not 0, is answered by the first message sent and
// then cleared.
func (t *Transport) sendText(ctx context.Context, chatID int64, replyTo *int, text string) {
	for _, chunk := range splitText(text, maxMessageLen) {
		if ctx.Err() != nil {
			return
		}
		cfg := tgbotapi.NewMessage(chatID, chunk)
		if *replyTo != 0 {
			cfg.ReplyToMessageID = *replyTo
			cfg.AllowSendingWithoutReply = true
		}
		err := t.do(ctx, "sendMessage", callTimeout, t.sendAttempts, func(api *tgbotapi.BotAPI) error {
			_, err := api.Send(cfg)
			return err
		})
		if err != nil {
			t.log.Error("telegram: sending a message failed", "chat_id", chatID, "err", err.Error())
			continue
		}
		*replyTo = 0
	}
}

func (t *Transport) sendDocument(ctx context.Context, chatID int64, replyTo *int, f *bot.File, caption string) {
	if len(f.Data) == 0 {
		t.log.Warn("telegram: not sending an empty file", "chat_id", chatID, "file", f.Name)
		return
	}
	name := f.Name
	if name == "" {
		name = "file"
	}
	cfg := tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: name, Bytes: f.Data})
	cfg.Caption = caption
	if *replyTo != 0 {
		cfg.ReplyToMessageID = *replyTo
		cfg.AllowSendingWithoutReply = true
	}
	err := t.do(ctx, "sendDocument", callTimeout, t.sendAttempts, func(api *tgbotapi.BotAPI) error {
		_, err := api.Send(cfg)
		return err
	})
	if err != nil {
		t.log.Error("telegram: sending a document failed", "chat_id", chatID, "file", name, "err", err.Error())
		return
	}
	*replyTo = 0
}

// splitText cuts text into messages of at most limit UTF-16 code units
// (Telegram's unit), at most bot.MaxReplyMessages of them: bot.SplitText,
// the one splitter of every transport.
func splitText(text string, limit int) []string {
	return bot.SplitText(text, bot.TextLimit{Max: limit, UTF16: true, Messages: bot.MaxReplyMessages})
}

func utf16Len(s string) int { return bot.TextLimit{UTF16: true}.Len(s) }

// do runs one Bot API call with a fresh per-call client bound to ctx and
// the timeout. On flood control (HTTP 429 with retry_after) it waits as
// told and tries again, at most attempts times in all (0: no limit). The
// error it returns names the method and never contains the token.
func (t *Transport) do(ctx context.Context, method string, timeout time.Duration, attempts int, call func(*tgbotapi.BotAPI) error) error {
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		api := &tgbotapi.BotAPI{Token: t.token, Client: ctxClient{ctx: cctx, c: t.client}}
		api.SetAPIEndpoint(t.apiFormat)
		err := call(api)
		cancel()
		if err == nil {
			return nil
		}
		var tgErr *tgbotapi.Error
		if !errors.As(err, &tgErr) || tgErr.RetryAfter <= 0 || ctx.Err() != nil ||
			(attempts > 0 && attempt >= attempts) {
			return fmt.Errorf("telegram %s: %w", method, t.scrub(err))
		}
		wait := time.Duration(tgErr.RetryAfter) * time.Second
		t.log.Warn("telegram: flood control; waiting before retrying", "method", method,
			"retry_after", wait, "attempt", attempt)
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("telegram %s: %w", method, err)
		}
	}
}

// ctxClient sends tgbotapi's requests (built without a context) with ctx.
type ctxClient struct {
	ctx context.Context
	c   *http.Client
}

// Do also turns a failed response that is not Bot API JSON (a proxy's
// "502 Bad Gateway" page) into an error naming the HTTP status, which
// tgbotapi would report as a JSON syntax error.
func (c ctxClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.c.Do(req.WithContext(c.ctx))
	if err != nil || resp.StatusCode/100 == 2 || strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return resp, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	return nil, fmt.Errorf("HTTP %s from the Bot API", resp.Status)
}

// scrub returns err with the token replaced by "[token]" in its text.
// errors.Is still sees through it (for context.Canceled); the original,
// which may hold the token in a URL, cannot be unwrapped.
func (t *Transport) scrub(err error) error {
	if err == nil {
		return nil
	}
	return &scrubbedError{msg: t.scrubText(err.Error()), inner: err}
}

func (t *Transport) scrubText(s string) string {
	if t.token == "" {
		return s
	}
	for _, form := range []string{t.token, url.PathEscape(t.token), url.QueryEscape(t.token)} {
		s = strings.ReplaceAll(s, form, "[token]")
	}
	return s
}

type scrubbedError struct {
	msg   string
	inner error
}

func (e *scrubbedError) Error() string { return e.msg }

// Is reports whether the scrubbed error matches target, without exposing
// the original error through Unwrap.
func (e *scrubbedError) Is(target error) bool { return errors.Is(e.inner, target) }

// sleep waits d or until ctx is done, returning ctx.Err() then.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
