package telegram

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
)

// dm is a second chat, next to room.
var dm = map[string]any{"id": 4242, "type": "private", "first_name": "Ravi"}

func chatUpdate(updateID int64, messageID int, chat map[string]any, text string) map[string]any {
	u := textUpdate(updateID, messageID, text)
	u["message"].(map[string]any)["chat"] = chat
	return u
}

// events is an ordered log of what handlers did.
type events struct {
	mu sync.Mutex
	ev []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ev...)
}

// recv waits for ch to be closed or to deliver; the timeout only guards
// against a hung test.
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

// sentTexts is the text of every sendMessage delivered, in order.
func sentTexts(f *fakeAPI) []string {
	var out []string
	for _, c := range f.delivered("sendMessage") {
		out = append(out, c.Params.Get("chat_id")+": "+c.Params.Get("text"))
	}
	return out
}

func waitSent(t *testing.T, f *fakeAPI, chatText string) {
	t.Helper()
	f.waitCalls(t, "reply "+chatText, func([]apiCall) bool { return slices.Contains(sentTexts(f), chatText) })
}

// heldHandler replies "done <text>" to every message, logging its start
// and end; a message whose text is in hold waits for that channel (or, if
// ctxAware, for ctx to be done) after closing started[text].
type heldHandler struct {
	log      events
	hold     map[string]chan struct{}
	started  map[string]chan struct{}
	ctxAware bool
	ctxErr   chan error // gets ctx.Err() when a held message is let go
}

func newHeldHandler(ctxAware bool, held ...string) *heldHandler {
	h := &heldHandler{hold: map[string]chan struct{}{}, started: map[string]chan struct{}{},
		ctxAware: ctxAware, ctxErr: make(chan error, len(held))}
	for _, text := range held {
		h.hold[text] = make(chan struct{})
		h.started[text] = make(chan struct{})
	}
	return h
}

func (h *heldHandler) Handle(ctx context.Context, m bot.Message) []bot.Reply {
	h.log.add("start " + m.Text)
	if release, ok := h.hold[m.Text]; ok {
		close(h.started[m.Text])
		if h.ctxAware {
			select {
			case <-release:
			case <-ctx.Done():
			}
		} else {
			<-release
		}
		h.ctxErr <- ctx.Err()
	}
	h.log.add("end " + m.Text)
	return []bot.Reply{{Text: "done " + m.Text}}
}

// releaseAtCleanup lets held handlers go if the test stops early.
func (h *heldHandler) releaseAtCleanup(t *testing.T) (release func(text string)) {
	var mu sync.Mutex
	released := map[string]bool{}
	release = func(text string) {
		mu.Lock()
		defer mu.Unlock()
		if !released[text] {
			released[text] = true
			close(h.hold[text])
		}
	}
	t.Cleanup(func() {
		for text := range h.hold {
			release(text)
		}
	})
	return release
}

const (
	chatA = "-1001234567890" // room
	chatB = "4242"           // dm
)

// A message in chat A whose handler is held does not stop chat B's message
// from being handled and answered; A's reply follows once it is let go.
func TestOtherChatsNotHeldUp(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := newHeldHandler(true, "/import")
	release := h.releaseAtCleanup(t)
	tr, _ := newTransport(t, f, cursors, h, nil)
	f.queue(chatUpdate(10, 1, room, "/import"), chatUpdate(11, 2, dm, "+447700900123"))
	start(t, tr)

	recv(t, h.started["/import"], "chat A's handler to start")
	waitSent(t, f, chatB+": done +447700900123")
	// Chat A is still held: B's reply is all that went out.
	if got := sentTexts(f); !reflect.DeepEqual(got, []string{chatB + ": done +447700900123"}) {
		t.Fatalf("while A is held, sent %q, want only B's reply", got)
	}

	release("/import")
	waitSent(t, f, chatA+": done /import")
	cursors.waitFor(t, 11)
	want := []string{chatB + ": done +447700900123", chatA + ": done /import"}
	if got := sentTexts(f); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	if err := <-h.ctxErr; err != nil {
		t.Errorf("A's handler saw ctx error %v while running", err)
	}
}

// Two messages in one chat are handled one after the other, in order, even
// when the first is slow and the second is already dispatched.
func TestSameChatInOrder(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := newHeldHandler(true, "first")
	release := h.releaseAtCleanup(t)
	tr, _ := newTransport(t, f, cursors, h, nil)
	f.queue(chatUpdate(20, 1, room, "first"), chatUpdate(21, 2, room, "second"))
	start(t, tr)

	recv(t, h.started["first"], "the first handler to start")
	waitPolls(t, f, 20, 2) // the second poll comes once "second" is dispatched, queued behind "first"
	if got := h.log.list(); !reflect.DeepEqual(got, []string{"start first"}) {
		t.Fatalf("while the first message is held, events = %q", got)
	}
	release("first")
	cursors.waitFor(t, 21)

	if got, want := h.log.list(), []string{"start first", "end first", "start second", "end second"}; !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if got, want := sentTexts(f), []string{chatA + ": done first", chatA + ": done second"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
}

// waitPolls waits for n getUpdates asking from offset: the transport polls
// again only once it has dispatched what the last poll brought.
func waitPolls(t *testing.T, f *fakeAPI, offset int64, n int) {
	t.Helper()
	f.waitCalls(t, fmt.Sprintf("%d getUpdates from %d", n, offset), func(calls []apiCall) bool {
		seen := 0
		for _, c := range calls {
			if off, _ := strconv.ParseInt(c.Params.Get("offset"), 10, 64); c.Method == "getUpdates" && off == offset {
				seen++
			}
		}
		return seen >= n
	})
}

// polledPast reports the getUpdates calls that asked past id: Telegram
// forgets every update below the offset asked for.
func polledPast(f *fakeAPI, id int64) []string {
	var past []string
	for _, c := range f.callsOf("getUpdates") {
		if off, _ := strconv.ParseInt(c.Params.Get("offset"), 10, 64); off > id {
			past = append(past, c.Params.Get("offset"))
		}
	}
	return past
}

// The saved cursor never passes an update still being handled: with 10
// held in chat A, 11 and 12 done in chat B leave it at 9; once 10 is done
// it moves to 12.
func TestCursorWaitsForHeldUpdate(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	if err := cursors.SetCursor(context.Background(), cursorName, 9); err != nil {
		t.Fatal(err)
	}
	h := newHeldHandler(true, "/import")
	release := h.releaseAtCleanup(t)
	tr, _ := newTransport(t, f, cursors, h, nil)
	f.queue(
		chatUpdate(10, 1, room, "/import"),
		chatUpdate(11, 2, dm, "b1"),
		chatUpdate(12, 3, dm, "b2"),
	)
	start(t, tr)

	recv(t, h.started["/import"], "chat A's handler to start")
	// B's worker starts b2 only after it has finished 11 (and tried to
	// save the cursor), so b2's reply means 11 is done.
	waitSent(t, f, chatB+": done b2")
	if got := cursors.history(); !reflect.DeepEqual(got, []int64{9}) {
		t.Fatalf("while 10 is held the cursor was saved at %v, want it left at 9", got)
	}
	// Nor did any poll confirm 10 to Telegram, which would forget it: a
	// crash now must find it there again.
	waitPolls(t, f, 10, 3)
	if past := polledPast(f, 10); len(past) > 0 {
		t.Fatalf("while 10 is held getUpdates asked from %v, which makes Telegram forget it", past)
	}

	release("/import")
	cursors.waitFor(t, 11)
	cursors.waitFor(t, 12)
	saves := cursors.history()
	if !slices.IsSorted(saves) || saves[len(saves)-1] != 12 {
		t.Errorf("cursor saves = %v, want increasing up to 12", saves)
	}
	if polls := f.callsOf("getUpdates"); polls[0].Params.Get("offset") != "10" {
		t.Errorf("first getUpdates offset = %q, want 10 (after the saved 9)", polls[0].Params.Get("offset"))
	}
}

// A Run cancelled while 10 is held (its handler ignoring ctx past the
// grace period) leaves the cursor at 9 though 11 is done, and saves
// nothing when 10 finishes after Run returned; the restarted transport
// asks for 10 again.
func TestCancelWhileHeldReplaysOnRestart(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	if err := cursors.SetCursor(context.Background(), cursorName, 9); err != nil {
		t.Fatal(err)
	}
	h := newHeldHandler(false, "/import")
	release := h.releaseAtCleanup(t)
	tr, logs := newTransport(t, f, cursors, h, func(c *Config) { c.ShutdownGrace = 50 * time.Millisecond })
	f.queue(chatUpdate(10, 1, room, "/import"), chatUpdate(11, 2, dm, "+447700900123"))
	stop := start(t, tr)

	recv(t, h.started["/import"], "chat A's handler to start")
	waitSent(t, f, chatB+": done +447700900123")
	stop() // Run gives up on 10 after the grace period
	if !strings.Contains(logs.String(), "handlers still running at shutdown") {
		t.Errorf("no log line about the handler left running:\n%s", logs.String())
	}
	release("/import")
	if err := recv(t, h.ctxErr, "the held handler to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("held handler's ctx error = %v, want context.Canceled", err)
	}

	if got := cursors.history(); !reflect.DeepEqual(got, []int64{9}) {
		t.Fatalf("cursor saves after the cancelled Run = %v, want only the seed 9, never 11", got)
	}

	before := len(f.callsOf("getUpdates"))
	h2 := &recorder{}
	tr2, _ := newTransport(t, f, cursors, h2, nil)
	start(t, tr2)
	cursors.waitFor(t, 11)

	polls := f.callsOf("getUpdates")[before:]
	if got := polls[0].Params.Get("offset"); got != "10" {
		t.Errorf("restarted getUpdates offset = %q, want 10: the update in flight at the cancel is asked for again", got)
	}
	// The Run asks from 10, so 11 (done before the cancel) comes again
	// too; the command layer's duplicate guard is what catches that.
	var texts []string
	for _, m := range h2.messages() {
		texts = append(texts, m.Text)
	}
	if !slices.Contains(texts, "/import") {
		t.Errorf("restarted transport handled %q, want the replayed /import among them", texts)
	}
}

// On cancel, a running handler finishes with the cancelled ctx and counts
// as handled; the message queued behind it in its chat is not started, and
// the cursor stops before it although a later update of another chat is
// done.
func TestShutdownFinishesRunningHandlers(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := newHeldHandler(true, "/import")
	h.releaseAtCleanup(t)
	tr, logs := newTransport(t, f, cursors, h, nil)
	f.queue(
		chatUpdate(10, 1, room, "/import"),
		chatUpdate(11, 2, room, "/status"),
		chatUpdate(12, 3, dm, "+447700900123"),
	)
	stop := start(t, tr)

	recv(t, h.started["/import"], "chat A's handler to start")
	waitSent(t, f, chatB+": done +447700900123") // so 11 is dispatched too
	stop()

	if err := recv(t, h.ctxErr, "the running handler to return"); !errors.Is(err, context.Canceled) {
		t.Errorf("running handler's ctx error = %v, want context.Canceled", err)
	}
	if got := h.log.list(); slices.Contains(got, "start /status") {
		t.Errorf("the queued message was handled after the cancel: %q", got)
	}
	if got, _, _ := cursors.Cursor(context.Background(), cursorName); got != 10 {
		t.Errorf("cursor = %d, want 10 (10 finished, 11 never started)", got)
	}
	for _, want := range []string{"replies not sent", "message not handled"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// With MaxConcurrentChats 1 a second chat waits for the first to be done.
func TestMaxConcurrentChats(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := newHeldHandler(true, "/import")
	release := h.releaseAtCleanup(t)
	tr, _ := newTransport(t, f, cursors, h, func(c *Config) { c.MaxConcurrentChats = 1 })
	f.queue(chatUpdate(10, 1, room, "/import"), chatUpdate(11, 2, dm, "+447700900123"))
	start(t, tr)

	recv(t, h.started["/import"], "chat A's handler to start")
	release("/import")
	cursors.waitFor(t, 11)
	want := []string{"start /import", "end /import", "start +447700900123", "end +447700900123"}
	if got := h.log.list(); !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestNewConcurrencyDefaults(t *testing.T) {
	t.Parallel()
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply { return nil })
	tr, err := New(Config{Token: testToken}, newCursors(), h)
	if err != nil {
		t.Fatal(err)
	}
	if tr.maxChats != 16 || tr.grace != 3*time.Second {
		t.Errorf("defaults: max chats %d, grace %v; want 16, 3s", tr.maxChats, tr.grace)
	}
}
