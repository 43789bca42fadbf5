package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/messagebridge/messagebridge/bot"
)

var (
	group   = types.NewJID("120363012345678901", types.GroupServer)
	other   = types.NewJID("120363099999999999", types.GroupServer)
	opPN    = types.NewJID("919876543210", types.DefaultUserServer)
	opLID   = types.NewJID("123456789012345", types.HiddenUserServer)
	dmPN    = types.NewJID("14155550100", types.DefaultUserServer)
	dmLID   = types.NewJID("987654321098765", types.HiddenUserServer)
	msgTime = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
)

func allowedChats(t *testing.T) map[types.JID]bool {
	t.Helper()
	a, err := ParseAllowedChats([]string{"120363012345678901@g.us", "+14155550100"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// groupMsg is a message from the operator in the allowed group.
func groupMsg(msg *waE2E.Message) *events.Message {
	return &events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: group, Sender: opPN, IsGroup: true},
			ID:            "M1", PushName: "Asha", Timestamp: msgTime,
		},
		Message: msg,
	}
}

func with(e *events.Message, f func(e *events.Message)) *events.Message {
	f(e)
	return e
}

func text(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

func TestConvert(t *testing.T) {
	t.Parallel()
	asha := bot.Identity{Transport: bot.WhatsApp, ID: "+919876543210", Name: "Asha"}
	base := func(f func(m *bot.Message)) bot.Message {
		m := bot.Message{Transport: bot.WhatsApp, ChatID: "120363012345678901@g.us", MessageID: "M1", From: asha, At: msgTime}
		if f != nil {
			f(&m)
		}
		return m
	}
	resolve := func(lid types.JID) types.JID {
		if lid == opLID {
			return opPN
		}
		return types.EmptyJID
	}
	tests := []struct {
		name      string
		evt       *events.Message
		want      bot.Message
		wantMedia bool
		skip      string
	}{
		{name: "text in group", evt: groupMsg(text("status")),
			want: base(func(m *bot.Message) { m.Text = "status" })},
		{name: "extended text answering a message",
			evt: groupMsg(&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text:        proto.String("retry 42"),
				ContextInfo: &waE2E.ContextInfo{QuotedMessage: text("Item 42 failed")},
			}}),
			want: base(func(m *bot.Message) { m.Text, m.ReplyToText = "retry 42", "Item 42 failed" })},
		{name: "image with caption",
			evt: groupMsg(&waE2E.Message{ImageMessage: &waE2E.ImageMessage{
				Caption: proto.String("see this"), Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(2048)}}),
			want: base(func(m *bot.Message) {
				m.Text = "see this"
				m.Attachment = &bot.Attachment{Name: "image.jpg", MIME: "image/jpeg", Size: 2048}
			}), wantMedia: true},
		{name: "document with caption",
			evt: with(groupMsg(&waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
				FileName: proto.String("contacts.xlsx"), Caption: proto.String("import"),
				Mimetype: proto.String("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}}),
				func(e *events.Message) { e.IsDocumentWithCaption = true }),
			want: base(func(m *bot.Message) {
				m.Text = "import"
				m.Attachment = &bot.Attachment{Name: "contacts.xlsx",
					MIME: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Size: -1}
			}), wantMedia: true},
		{name: "document without a name",
			evt: groupMsg(&waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
				Mimetype: proto.String("application/pdf"), FileLength: proto.Uint64(10)}}),
			want: base(func(m *bot.Message) {
				m.Attachment = &bot.Attachment{Name: "document.pdf", MIME: "application/pdf", Size: 10}
			}), wantMedia: true},
		{name: "video",
			evt: groupMsg(&waE2E.Message{VideoMessage: &waE2E.VideoMessage{
				Mimetype: proto.String("video/mp4"), FileLength: proto.Uint64(99)}}),
			want: base(func(m *bot.Message) {
				m.Attachment = &bot.Attachment{Name: "video.mp4", MIME: "video/mp4", Size: 99}
			}), wantMedia: true},
		{name: "LID sender with phone alternative",
			evt: with(groupMsg(text("hi")), func(e *events.Message) {
				e.Info.Sender, e.Info.SenderAlt = opLID, opPN
			}),
			want: base(func(m *bot.Message) { m.Text = "hi" })},
		{name: "LID sender found in the device store",
			evt:  with(groupMsg(text("hi")), func(e *events.Message) { e.Info.Sender = opLID }),
			want: base(func(m *bot.Message) { m.Text = "hi" })},
		{name: "LID sender without phone number",
			evt:  with(groupMsg(text("hi")), func(e *events.Message) { e.Info.Sender = types.NewJID("555", types.HiddenUserServer) }),
			skip: "phone number is unknown"},
		{name: "device JID sender",
			evt: with(groupMsg(text("hi")), func(e *events.Message) {
				e.Info.Sender = types.JID{User: opPN.User, Device: 3, Server: types.DefaultUserServer}
			}),
			want: base(func(m *bot.Message) { m.Text = "hi" })},
		{name: "direct chat by number",
			evt: with(groupMsg(text("hello")), func(e *events.Message) {
				e.Info.MessageSource = types.MessageSource{Chat: dmPN, Sender: dmPN}
				e.Info.PushName = "Ravi"
			}),
			want: bot.Message{Transport: bot.WhatsApp, ChatID: "14155550100@s.whatsapp.net", MessageID: "M1",
				From: bot.Identity{Transport: bot.WhatsApp, ID: "+14155550100", Name: "Ravi"}, Text: "hello", At: msgTime}},
		{name: "direct chat addressed by LID",
			evt: with(groupMsg(text("hello")), func(e *events.Message) {
				e.Info.MessageSource = types.MessageSource{Chat: dmLID, Sender: dmLID, SenderAlt: dmPN}
				e.Info.PushName = "Ravi"
			}),
			want: bot.Message{Transport: bot.WhatsApp, ChatID: "14155550100@s.whatsapp.net", MessageID: "M1",
				From: bot.Identity{Transport: bot.WhatsApp, ID: "+14155550100", Name: "Ravi"}, Text: "hello", At: msgTime}},
		{name: "own message", evt: with(groupMsg(text("ok")), func(e *events.Message) { e.Info.IsFromMe = true }),
			skip: "sent by this number"},
		{name: "edit", evt: with(groupMsg(text("status!")), func(e *events.Message) { e.IsEdit = true }), skip: "edit"},
		{name: "edit attribute", evt: with(groupMsg(text("status!")), func(e *events.Message) {
			e.Info.Edit = types.EditAttributeMessageEdit
		}), skip: "edit"},
		{name: "reaction", evt: groupMsg(&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍")}}),
			skip: "reaction"},
		{name: "protocol message", evt: groupMsg(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_REVOKE.Enum()}}), skip: "protocol"},
		{name: "status broadcast", evt: with(groupMsg(text("my status")), func(e *events.Message) {
			e.Info.MessageSource = types.MessageSource{Chat: types.StatusBroadcastJID, Sender: dmPN}
		}), skip: "status"},
		{name: "chat not allowed", evt: with(groupMsg(text("status")), func(e *events.Message) { e.Info.Chat = other }),
			skip: "not allowed"},
		{name: "direct chat not allowed", evt: with(groupMsg(text("status")), func(e *events.Message) {
			e.Info.MessageSource = types.MessageSource{Chat: opPN, Sender: opPN}
		}), skip: "not allowed"},
		{name: "sticker", evt: groupMsg(&waE2E.Message{StickerMessage: &waE2E.StickerMessage{}}), skip: "not text"},
		{name: "blank text", evt: groupMsg(&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("  ")}}),
			skip: "empty"},
		{name: "no content", evt: groupMsg(nil), skip: "no message"},
	}
	allowed := allowedChats(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, media, skip := Convert(tt.evt, allowed, resolve)
			if tt.skip != "" {
				if !strings.Contains(skip, tt.skip) {
					t.Fatalf("skip = %q, want it to mention %q (message %+v)", skip, tt.skip, got)
				}
				return
			}
			if skip != "" {
				t.Fatalf("skipped: %s", skip)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Convert =\n%+v\nwant\n%+v", got, tt.want)
				if got.Attachment != nil && tt.want.Attachment != nil {
					t.Errorf("attachment %+v, want %+v", *got.Attachment, *tt.want.Attachment)
				}
			}
			if (media != nil) != tt.wantMedia {
				t.Errorf("media = %v, want present: %v", media, tt.wantMedia)
			}
		})
	}
}

func TestParseAllowedChats(t *testing.T) {
	t.Parallel()
	got, err := ParseAllowedChats([]string{" 120363012345678901@g.us ", "+14155550100", "919876543210@c.us", "919876543210:4@s.whatsapp.net", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := map[types.JID]bool{group: true, dmPN: true, opPN: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range [][]string{nil, {""}, {"+91abc"}, {"status@broadcast"}, {"g.us"}, {"1203630@newsletter"}} {
		if _, err := ParseAllowedChats(bad); err == nil {
			t.Errorf("ParseAllowedChats(%q) accepted", bad)
		}
	}
}

// fakeSession records sends and lets tests emit events.
type fakeSession struct {
	mu         sync.Mutex
	handlers   map[int]func(any)
	nextID     int
	sends      []sentMsg
	uploads    []whatsmeow.MediaType
	downloads  int
	downloadFn func(whatsmeow.DownloadableMessage) ([]byte, error)
	sendErr    error
}

type sentMsg struct {
	to  types.JID
	msg *waE2E.Message
}

func newFakeSession() *fakeSession { return &fakeSession{handlers: map[int]func(any){}} }

func (f *fakeSession) SendMessage(_ context.Context, to types.JID, msg *waE2E.Message, _ ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends = append(f.sends, sentMsg{to, msg})
	return whatsmeow.SendResponse{ID: "R"}, f.sendErr
}

func (f *fakeSession) Upload(_ context.Context, data []byte, mt whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads = append(f.uploads, mt)
	return whatsmeow.UploadResponse{URL: "https://mmg/x", DirectPath: "/v/x", MediaKey: []byte("k"),
		FileEncSHA256: []byte("e"), FileSHA256: []byte("s"), FileLength: uint64(len(data))}, nil
}

func (f *fakeSession) Download(_ context.Context, m whatsmeow.DownloadableMessage) ([]byte, error) {
	f.mu.Lock()
	f.downloads++
	fn := f.downloadFn
	f.mu.Unlock()
	if fn == nil {
		return nil, errors.New("no download in this test")
	}
	return fn(m)
}

func (f *fakeSession) PNForLID(context.Context, types.JID) (types.JID, error) {
	return types.EmptyJID, nil
}

func (f *fakeSession) AddHandler(fn func(any)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := f.nextID
	f.handlers[id] = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.handlers, id)
	}
}

func (f *fakeSession) emit(evt any) {
	f.mu.Lock()
	var hs []func(any)
	for _, h := range f.handlers {
		hs = append(hs, h)
	}
	f.mu.Unlock()
	for _, h := range hs {
		h(evt)
	}
}

func (f *fakeSession) sent() []sentMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMsg(nil), f.sends...)
}

func (f *fakeSession) handlerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.handlers)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runTransport starts Run and returns a stop function that waits for it.
func runTransport(t *testing.T, sess *fakeSession, h bot.Handler) (*Transport, func()) {
	t.Helper()
	return runTransportWith(t, sess, h, nil)
}

// runTransportWith is runTransport with edit applied to the Config.
func runTransportWith(t *testing.T, sess *fakeSession, h bot.Handler, edit func(*Config)) (*Transport, func()) {
	t.Helper()
	cfg := Config{AllowedChats: []string{"120363012345678901@g.us"}, MaxFileSize: 100,
		Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := New(cfg, sess, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	eventually(t, "Run to subscribe", func() bool { return sess.handlerCount() == 1 })
	return tr, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}
}

func TestRunHandlesAndReplies(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	var mu sync.Mutex
	var seen []bot.Message
	h := bot.HandlerFunc(func(_ context.Context, m bot.Message) []bot.Reply {
		mu.Lock()
		seen = append(seen, m)
		mu.Unlock()
		return []bot.Reply{
			{Text: "3 queued, 1 failed"},
			{Text: "Report attached", File: &bot.File{Name: "report.csv", MIME: "text/csv", Data: []byte("a,b\n")}},
		}
	})
	tr, stop := runTransport(t, sess, h)

	sess.emit(with(groupMsg(text("mine")), func(e *events.Message) { e.Info.IsFromMe = true }))
	sess.emit(with(groupMsg(text("elsewhere")), func(e *events.Message) { e.Info.Chat = other }))
	sess.emit(&events.Receipt{})
	sess.emit(groupMsg(text("status")))
	eventually(t, "two replies", func() bool { return len(sess.sent()) == 2 })
	if err := tr.Run(context.Background()); err == nil {
		t.Error("a second Run should fail while the first runs")
	}
	stop()
	if n := sess.handlerCount(); n != 0 {
		t.Errorf("%d handlers left after Run returned", n)
	}

	mu.Lock()
	if len(seen) != 1 || seen[0].Text != "status" {
		t.Errorf("handler saw %+v, want only the allowed message", seen)
	}
	mu.Unlock()
	sends := sess.sent()
	first := sends[0]
	if first.to != group {
		t.Errorf("reply went to %s", first.to)
	}
	ext := first.msg.GetExtendedTextMessage()
	if ext.GetText() != "3 queued, 1 failed" || ext.GetContextInfo().GetStanzaID() != "M1" ||
		ext.GetContextInfo().GetParticipant() != opPN.String() || ext.GetContextInfo().GetQuotedMessage().GetConversation() != "status" {
		t.Errorf("first reply should quote the command: %v", first.msg)
	}
	doc := sends[1].msg.GetDocumentMessage()
	if doc == nil || doc.GetFileName() != "report.csv" || doc.GetMimetype() != "text/csv" || doc.GetCaption() != "Report attached" ||
		doc.GetURL() != "https://mmg/x" || doc.GetDirectPath() != "/v/x" || string(doc.GetMediaKey()) != "k" ||
		string(doc.GetFileEncSHA256()) != "e" || string(doc.GetFileSHA256()) != "s" || doc.GetFileLength() != 4 {
		t.Errorf("document reply = %v", sends[1].msg)
	}
	if doc.GetContextInfo() != nil {
		t.Error("only the first reply quotes the command")
	}
	if len(sess.uploads) != 1 || sess.uploads[0] != whatsmeow.MediaDocument {
		t.Errorf("uploads = %v", sess.uploads)
	}
}

// A reply far past what a chat should carry goes out as at most
// bot.MaxReplyMessages messages within the per-message cap, the first
// quoting the command and the last saying how many lines were left out.
func TestHugeReplyIsBounded(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	var lines []string
	for i := range 9300 {
		lines = append(lines, fmt.Sprintf("✓ #%d → +9198%08d", i+1, i))
	}
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply {
		return []bot.Reply{{Text: strings.Join(lines, "\n")}}
	})
	_, stop := runTransport(t, sess, h)
	sess.emit(groupMsg(text("status")))
	eventually(t, "the replies", func() bool { return len(sess.sent()) == bot.MaxReplyMessages })
	time.Sleep(50 * time.Millisecond) // no further message may follow
	stop()
	sends := sess.sent()
	if len(sends) != bot.MaxReplyMessages {
		t.Fatalf("sent %d messages, want %d", len(sends), bot.MaxReplyMessages)
	}
	var last string
	for i, s := range sends {
		body := s.msg.GetConversation()
		if i == 0 {
			body = s.msg.GetExtendedTextMessage().GetText()
		}
		if n := len([]rune(body)); n > maxTextLen {
			t.Errorf("message %d has %d characters", i, n)
		}
		last = body
	}
	if !strings.HasSuffix(last, " more lines not shown: the reply is too long for a chat.") {
		t.Errorf("the last message does not say lines were left out: …%s", last[max(0, len(last)-100):])
	}
}

func TestRunSurvivesHandlerPanic(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	h := bot.HandlerFunc(func(_ context.Context, m bot.Message) []bot.Reply {
		if m.Text == "boom" {
			panic("handler bug")
		}
		return []bot.Reply{{Text: "ok"}}
	})
	_, stop := runTransport(t, sess, h)
	defer stop()
	sess.emit(groupMsg(text("boom")))
	sess.emit(with(groupMsg(text("next")), func(e *events.Message) { e.Info.ID = "M2" }))
	eventually(t, "the reply to the next message", func() bool { return len(sess.sent()) == 1 })
	if got := sess.sent()[0].msg.GetExtendedTextMessage().GetContextInfo().GetStanzaID(); got != "M2" {
		t.Errorf("reply answers %q, want M2", got)
	}
}

func TestSendFailuresDoNotStopReplies(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	sess.sendErr = errors.New("timed out")
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply {
		return []bot.Reply{{Text: "one"}, {Text: "two"}}
	})
	_, stop := runTransport(t, sess, h)
	defer stop()
	sess.emit(groupMsg(text("status")))
	eventually(t, "both replies tried", func() bool { return len(sess.sent()) == 2 })
	// The first reply failed, so the second still quotes the command.
	if sess.sent()[1].msg.GetExtendedTextMessage().GetContextInfo() == nil {
		t.Error("second reply should carry the quote the failed first one lost")
	}
}

func TestAttachmentOpen(t *testing.T) {
	t.Parallel()
	doc := func(size uint64) *events.Message {
		return groupMsg(&waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			FileName: proto.String("list.csv"), Mimetype: proto.String("text/csv"), FileLength: proto.Uint64(size)}})
	}
	tests := []struct {
		name      string
		evt       *events.Message
		download  func(whatsmeow.DownloadableMessage) ([]byte, error)
		want      string
		fileError string
		downloads int
	}{
		{"ok", doc(5), func(m whatsmeow.DownloadableMessage) ([]byte, error) {
			if _, ok := m.(*waE2E.DocumentMessage); !ok {
				return nil, errors.New("wrong message handed to Download")
			}
			return []byte("a,b\n1"), nil
		}, "a,b\n1", "", 1},
		{"declared too big", doc(500), nil, "", "over the 100 bytes limit", 0},
		{"bigger than declared", doc(5), func(whatsmeow.DownloadableMessage) ([]byte, error) {
			return make([]byte, 101), nil
		}, "", "over the", 1},
		{"expired on the server", doc(5), func(whatsmeow.DownloadableMessage) ([]byte, error) {
			return nil, whatsmeow.DownloadHTTPError{Response: &http.Response{StatusCode: 404}}
		}, "", "no longer has list.csv", 1},
		{"other failure", doc(5), func(whatsmeow.DownloadableMessage) ([]byte, error) {
			return nil, whatsmeow.ErrInvalidMediaHMAC
		}, "", "could not download list.csv", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sess := newFakeSession()
			sess.downloadFn = tt.download
			tr, err := New(Config{AllowedChats: []string{group.String()}, MaxFileSize: 100}, sess, bot.HandlerFunc(
				func(context.Context, bot.Message) []bot.Reply { return nil }))
			if err != nil {
				t.Fatal(err)
			}
			in, skip := tr.convert(tt.evt)
			if skip != "" || in.msg.Attachment == nil || in.msg.Attachment.Open == nil {
				t.Fatalf("no attachment: %q %+v", skip, in.msg)
			}
			rc, err := in.msg.Attachment.Open(context.Background())
			if tt.fileError != "" {
				var fe *bot.FileError
				if !errors.As(err, &fe) || !strings.Contains(fe.Message, tt.fileError) {
					t.Fatalf("Open = %v, want a FileError mentioning %q", err, tt.fileError)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(rc)
				rc.Close()
				if string(data) != tt.want {
					t.Errorf("read %q", data)
				}
			}
			if sess.downloads != tt.downloads {
				t.Errorf("%d downloads, want %d", sess.downloads, tt.downloads)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply { return nil })
	if _, err := New(Config{}, newFakeSession(), h); err == nil {
		t.Error("no allowed chats accepted")
	}
	if _, err := New(Config{AllowedChats: []string{"+14155550100"}}, nil, h); err == nil {
		t.Error("nil session accepted")
	}
	if _, err := New(Config{AllowedChats: []string{"+14155550100"}}, newFakeSession(), nil); err == nil {
		t.Error("nil handler accepted")
	}
}
