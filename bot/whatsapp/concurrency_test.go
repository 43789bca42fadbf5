package whatsapp

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/messagebridge/messagebridge/bot"
)

// heldHandler answers "done <text>" and logs each message's start and end;
// a message whose text is in hold closes started[text] and waits for its
// release or for ctx to be done, then sends ctx.Err() to ctxErr.
type heldHandler struct {
	mu      sync.Mutex
	events  []string
	hold    map[string]chan struct{}
	started map[string]chan struct{}
	ctxErr  chan error
	once    map[string]*sync.Once
	// ignoreCtx makes held messages wait for their release only.
	ignoreCtx bool
}

func newHeldHandler(t *testing.T, held ...string) *heldHandler {
	h := &heldHandler{hold: map[string]chan struct{}{}, started: map[string]chan struct{}{},
		ctxErr: make(chan error, len(held)), once: map[string]*sync.Once{}}
	for _, text := range held {
		h.hold[text] = make(chan struct{})
		h.started[text] = make(chan struct{})
		h.once[text] = &sync.Once{}
	}
	t.Cleanup(func() {
		for _, text := range held {
			h.release(text)
		}
	})
	return h
}

func (h *heldHandler) release(text string) { h.once[text].Do(func() { close(h.hold[text]) }) }

func (h *heldHandler) log(e string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

func (h *heldHandler) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

func (h *heldHandler) Handle(ctx context.Context, m bot.Message) []bot.Reply {
	h.log("start " + m.Text)
	if release, ok := h.hold[m.Text]; ok {
		close(h.started[m.Text])
		if h.ignoreCtx {
			<-release
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		h.ctxErr <- ctx.Err()
	}
	h.log("end " + m.Text)
	return []bot.Reply{{Text: "done " + m.Text}}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// groupText and dmText are operator messages in the group and in the
// allowed direct chat.
func groupText(id, s string) *events.Message {
	return with(groupMsg(text(s)), func(e *events.Message) { e.Info.ID = id })
}

func dmText(id, s string) *events.Message {
	return with(groupMsg(text(s)), func(e *events.Message) {
		e.Info.ID = id
		e.Info.MessageSource = types.MessageSource{Chat: dmPN, Sender: dmPN}
	})
}

func withDM(c *Config) { c.AllowedChats = append(c.AllowedChats, "+14155550100") }

// replies lists each sent reply as "<chat user>: <text>".
func replies(sess *fakeSession) []string {
	var out []string
	for _, s := range sess.sent() {
		text := s.msg.GetConversation()
		if text == "" {
			text = s.msg.GetExtendedTextMessage().GetText()
		}
		out = append(out, s.to.User+": "+text)
	}
	return out
}

// A held message in the group does not stop the direct chat's message from
// being handled and answered; the group's reply follows once it is let go.
func TestChatsRunConcurrently(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	h := newHeldHandler(t, "/import")
	_, stop := runTransportWith(t, sess, h, withDM)
	defer stop()

	sess.emit(groupText("G1", "/import"))
	recv(t, h.started["/import"], "the group's handler to start")
	sess.emit(dmText("D1", "status"))
	eventually(t, "the direct chat's reply", func() bool { return len(sess.sent()) == 1 })
	if got := replies(sess); !reflect.DeepEqual(got, []string{dmPN.User + ": done status"}) {
		t.Fatalf("while the group is held, sent %q, want only the direct chat's reply", got)
	}

	h.release("/import")
	eventually(t, "the group's reply", func() bool { return len(sess.sent()) == 2 })
	if got, want := replies(sess), []string{dmPN.User + ": done status", group.User + ": done /import"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// Two messages in one chat are handled in order, the second only after the
// slow first one is done.
func TestSameChatInOrder(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	h := newHeldHandler(t, "first")
	tr, stop := runTransportWith(t, sess, h, nil)
	defer stop()

	sess.emit(groupText("G1", "first"))
	recv(t, h.started["first"], "the first handler to start")
	sess.emit(groupText("G2", "second"))
	eventually(t, "Run to take the second message", func() bool { return len(tr.inbox) == 0 })
	if got := h.list(); !reflect.DeepEqual(got, []string{"start first"}) {
		t.Fatalf("while the first message is held, events = %q", got)
	}
	h.release("first")
	eventually(t, "both replies", func() bool { return len(sess.sent()) == 2 })

	if got, want := h.list(), []string{"start first", "end first", "start second", "end second"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if got, want := replies(sess), []string{group.User + ": done first", group.User + ": done second"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// With MaxConcurrentChats 1 the direct chat waits for the group.
func TestMaxConcurrentChats(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	h := newHeldHandler(t, "/import")
	_, stop := runTransportWith(t, sess, h, func(c *Config) { withDM(c); c.MaxConcurrentChats = 1 })
	defer stop()

	sess.emit(groupText("G1", "/import"))
	recv(t, h.started["/import"], "the group's handler to start")
	sess.emit(dmText("D1", "status"))
	h.release("/import")
	eventually(t, "both replies", func() bool { return len(sess.sent()) == 2 })
	if got, want := h.list(), []string{"start /import", "end /import", "start status", "end status"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

// On cancel Run waits for the running handler, which sees the cancelled
// ctx, and does not start the message queued behind it.
func TestRunWaitsForRunningHandler(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	h := newHeldHandler(t, "/import")
	tr, stop := runTransportWith(t, sess, h, nil)

	sess.emit(groupText("G1", "/import"))
	recv(t, h.started["/import"], "the handler to start")
	sess.emit(groupText("G2", "second"))
	eventually(t, "Run to take the second message", func() bool { return len(tr.inbox) == 0 })
	stop()

	select {
	case err := <-h.ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("running handler's ctx error = %v, want context.Canceled", err)
		}
	default:
		t.Fatal("Run returned before the running handler did")
	}
	if got := h.list(); slices.Contains(got, "start second") {
		t.Errorf("the queued message was handled after the cancel: %q", got)
	}
	if n := len(sess.sent()); n != 0 {
		t.Errorf("%d replies sent after the cancel, want none", n)
	}
}

func TestNewConcurrencyDefaults(t *testing.T) {
	t.Parallel()
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply { return nil })
	tr, err := New(Config{AllowedChats: []string{"+14155550100"}}, newFakeSession(), h)
	if err != nil {
		t.Fatal(err)
	}
	if tr.maxChats != 16 || tr.grace != 3*time.Second {
		t.Errorf("defaults: max chats %d, grace %v; want 16, 3s", tr.maxChats, tr.grace)
	}
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A handler that ignores the cancel holds Run only for the grace period;
// Run says so when it gives up.
func TestRunGivesUpOnStuckHandler(t *testing.T) {
	t.Parallel()
	sess := newFakeSession()
	h := newHeldHandler(t, "/import")
	h.ignoreCtx = true
	logs := &syncBuffer{}
	_, stop := runTransportWith(t, sess, h, func(c *Config) {
		c.ShutdownGrace = 50 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})

	sess.emit(groupText("G1", "/import"))
	recv(t, h.started["/import"], "the handler to start")
	stop()
	if !strings.Contains(logs.String(), "handlers still running at shutdown") {
		t.Errorf("Run returned without waiting for the running handler:\n%s", logs.String())
	}
	h.release("/import")
	if err := recv(t, h.ctxErr, "the released handler"); !errors.Is(err, context.Canceled) {
		t.Errorf("handler's ctx error = %v, want context.Canceled", err)
	}
}
