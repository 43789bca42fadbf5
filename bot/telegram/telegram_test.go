package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/bot"
)

const testToken = "123456789:AAE-test_TOKEN-sEcReT"

// ---- fake Bot API ----

// fakeAPI is an httptest Bot API server speaking Telegram's wire format:
// methods at <prefix>/bot<token>/<method> taking form or multipart
// parameters and answering {"ok":true,"result":...} or {"ok":false,
// "error_code":...,"description":...}, and files at
// <prefix>/file/bot<token>/<file_path>.
type fakeAPI struct {
	srv    *httptest.Server
	prefix string

	mu        sync.Mutex
	calls     []apiCall
	called    chan struct{} // closed and replaced when a call is recorded
	downloads []string      // request paths of file downloads
	stray     []string      // requests outside prefix
	updates   []queued
	changed   chan struct{} // closed and replaced when updates are queued
	files     map[string]fakeFile
	fail      map[string][]failure // by method or "download"
	nextMsgID int
}

type apiCall struct {
	Method   string
	Path     string
	Params   url.Values
	FileName string // sendDocument's uploaded document
	FileData []byte
	Failed   bool // answered with an injected failure
	At       time.Time
}

type queued struct {
	id  int64
	raw json.RawMessage
}

type fakeFile struct {
	path    string
	data    []byte
	size    int  // file_size getFile reports; 0 omits it
	chunked bool // serve without Content-Length
}

type failure struct {
	status int
	body   string
	drop   bool // close the connection without an answer
}

func floodFailure(seconds int) failure {
	return failure{status: http.StatusTooManyRequests, body: fmt.Sprintf(
		`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after %d","parameters":{"retry_after":%d}}`,
		seconds, seconds)}
}

func apiFailure(code int, description string) failure {
	b, _ := json.Marshal(map[string]any{"ok": false, "error_code": code, "description": description})
	return failure{status: code, body: string(b)}
}

func newFake(t *testing.T, prefix string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		prefix:    prefix,
		changed:   make(chan struct{}),
		called:    make(chan struct{}),
		files:     map[string]fakeFile{},
		fail:      map[string][]failure{},
		nextMsgID: 1000,
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// endpoint is the APIEndpoint for a Transport using the fake.
func (f *fakeAPI) endpoint() string { return f.srv.URL + f.prefix }

func (f *fakeAPI) queue(updates ...map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range updates {
		raw, err := json.Marshal(u)
		if err != nil {
			panic(err)
		}
		f.updates = append(f.updates, queued{id: toInt64(u["update_id"]), raw: raw})
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeAPI) addFile(id string, file fakeFile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[id] = file
}

func (f *fakeAPI) failNext(method string, fl ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = append(f.fail[method], fl...)
}

func (f *fakeAPI) takeFailure(method string) (failure, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.fail[method]
	if len(q) == 0 {
		return failure{}, false
	}
	f.fail[method] = q[1:]
	return q[0], true
}

func (f *fakeAPI) callsOf(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// delivered is the successful calls of method.
func (f *fakeAPI) delivered(method string) []apiCall {
	var out []apiCall
	for _, c := range f.callsOf(method) {
		if !c.Failed {
			out = append(out, c)
		}
	}
	return out
}

// waitCalls waits until cond holds for the recorded calls, checking it
// whenever a call is recorded.
func (f *fakeAPI) waitCalls(t *testing.T, what string, cond func(calls []apiCall) bool) {
	t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		f.mu.Lock()
		calls := append([]apiCall(nil), f.calls...)
		called := f.called
		f.mu.Unlock()
		if cond(calls) {
			return
		}
		select {
		case <-called:
		case <-timeout.C:
			t.Fatalf("timed out waiting for %s; calls: %+v", what, calls)
		}
	}
}

func (f *fakeAPI) downloadPaths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.downloads...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, f.prefix+"/")
	if !ok {
		f.mu.Lock()
		f.stray = append(f.stray, r.URL.Path)
		f.mu.Unlock()
		writeJSON(w, http.StatusNotFound, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	if rest, ok := strings.CutPrefix(path, "file/bot"); ok {
		f.serveFile(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(path, "bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		writeJSON(w, http.StatusNotFound, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}

	c := apiCall{Method: method, Path: r.URL.Path, At: time.Now()}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: POST expected by this fake"}`)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			writeJSON(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: bad multipart"}`)
			return
		}
		c.Params = url.Values(r.MultipartForm.Value)
		if fhs := r.MultipartForm.File["document"]; len(fhs) > 0 {
			c.FileName = fhs[0].Filename
			fh, err := fhs[0].Open()
			if err == nil {
				c.FileData, _ = io.ReadAll(fh)
				fh.Close()
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: bad form"}`)
			return
		}
		c.Params = r.PostForm
	}

	fl, failed := f.takeFailure(method)
	c.Failed = failed || token != testToken
	f.mu.Lock()
	f.calls = append(f.calls, c)
	close(f.called)
	f.called = make(chan struct{})
	f.mu.Unlock()

	switch {
	case token != testToken:
		writeJSON(w, http.StatusUnauthorized, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
	case failed:
		serveFailure(w, fl)
	default:
		f.serveMethod(w, r, method, c.Params, c)
	}
}

func serveFailure(w http.ResponseWriter, fl failure) {
	if fl.drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if strings.HasPrefix(fl.body, "{") {
		writeJSON(w, fl.status, fl.body)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(fl.status)
	io.WriteString(w, fl.body)
}

func (f *fakeAPI) serveMethod(w http.ResponseWriter, r *http.Request, method string, p url.Values, c apiCall) {
	switch method {
	case "getMe":
		writeOK(w, map[string]any{"id": 987654321, "is_bot": true, "first_name": "Bridge", "username": "bridge_bot"})
	case "getUpdates":
		f.getUpdates(w, r, p)
	case "getFile":
		f.mu.Lock()
		file, ok := f.files[p.Get("file_id")]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}`)
			return
		}
		res := map[string]any{"file_id": p.Get("file_id"), "file_unique_id": "u-" + p.Get("file_id"), "file_path": file.path}
		if file.size > 0 {
			res["file_size"] = file.size
		}
		writeOK(w, res)
	case "sendMessage", "sendDocument":
		chatID, err := strconv.ParseInt(p.Get("chat_id"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`)
			return
		}
		if method == "sendMessage" && (p.Get("text") == "" || utf16Len(p.Get("text")) > 4096) {
			writeJSON(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: message is too long or empty"}`)
			return
		}
		f.mu.Lock()
		f.nextMsgID++
		id := f.nextMsgID
		f.mu.Unlock()
		msg := map[string]any{
			"message_id": id,
			"from":       map[string]any{"id": 987654321, "is_bot": true, "first_name": "Bridge", "username": "bridge_bot"},
			"chat":       map[string]any{"id": chatID, "type": "private"},
			"date":       time.Now().Unix(),
		}
		if method == "sendMessage" {
			msg["text"] = p.Get("text")
		} else {
			if c.FileData == nil {
				writeJSON(w, http.StatusBadRequest, `{"ok":false,"error_code":400,"description":"Bad Request: there is no document in the request"}`)
				return
			}
			msg["document"] = map[string]any{"file_id": fmt.Sprintf("sent-%d", id), "file_unique_id": "u", "file_name": c.FileName, "file_size": len(c.FileData)}
			if caption := p.Get("caption"); caption != "" {
				msg["caption"] = caption
			}
		}
		writeOK(w, msg)
	default:
		writeJSON(w, http.StatusNotFound, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
	}
}

// getUpdates answers like Telegram: the queued updates with update_id >=
// offset, or after up to timeout seconds of waiting, none. Unlike
// Telegram it never forgets confirmed updates, so a client that lost its
// offset would see them again.
func (f *fakeAPI) getUpdates(w http.ResponseWriter, r *http.Request, p url.Values) {
	offset, _ := strconv.ParseInt(p.Get("offset"), 10, 64)
	timeout, _ := strconv.Atoi(p.Get("timeout"))
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		var out []json.RawMessage
		for _, u := range f.updates {
			if u.id >= offset {
				out = append(out, u.raw)
			}
		}
		changed := f.changed
		f.mu.Unlock()
		if len(out) > 0 || timeout == 0 {
			writeOK(w, out)
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			writeOK(w, []json.RawMessage{})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeAPI) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, path, _ := strings.Cut(rest, "/")
	f.mu.Lock()
	f.downloads = append(f.downloads, r.URL.Path)
	var file fakeFile
	found := false
	for _, ff := range f.files {
		if ff.path == path {
			file, found = ff, true
		}
	}
	f.mu.Unlock()
	if fl, ok := f.takeFailure("download"); ok {
		serveFailure(w, fl)
		return
	}
	switch {
	case token != testToken:
		writeJSON(w, http.StatusUnauthorized, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
	case !found:
		writeJSON(w, http.StatusNotFound, `{"ok":false,"error_code":404,"description":"Not Found"}`)
	case file.chunked:
		half := len(file.data) / 2
		w.Write(file.data[:half])
		w.(http.Flusher).Flush() // no Content-Length from here on
		w.Write(file.data[half:])
	default:
		w.Header().Set("Content-Length", strconv.Itoa(len(file.data)))
		w.Write(file.data)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func writeOK(w http.ResponseWriter, result any) {
	b, err := json.Marshal(map[string]any{"ok": true, "result": result})
	if err != nil {
		panic(err)
	}
	writeJSON(w, http.StatusOK, string(b))
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	}
	panic(fmt.Sprintf("update_id %v (%T)", v, v))
}

// ---- updates as Telegram sends them ----

var (
	ada  = map[string]any{"id": 42, "is_bot": false, "first_name": "Ada", "last_name": "Lovelace", "username": "ada", "language_code": "en"}
	room = map[string]any{"id": -1001234567890, "type": "supergroup", "title": "Ops"}
)

const msgDate = 1700000000

func messageUpdate(updateID int64, messageID int, fields map[string]any) map[string]any {
	m := map[string]any{"message_id": messageID, "from": ada, "chat": room, "date": msgDate}
	for k, v := range fields {
		m[k] = v
	}
	return map[string]any{"update_id": updateID, "message": m}
}

func textUpdate(updateID int64, messageID int, text string) map[string]any {
	return messageUpdate(updateID, messageID, map[string]any{"text": text})
}

func documentUpdate(updateID int64, messageID int, fileID, name, mime string, size int) map[string]any {
	doc := map[string]any{"file_id": fileID, "file_unique_id": "u-" + fileID, "file_name": name, "mime_type": mime}
	if size > 0 {
		doc["file_size"] = size
	}
	return messageUpdate(updateID, messageID, map[string]any{"document": doc})
}

// ---- test doubles ----

// memCursors is an in-memory CursorStore.
type memCursors struct {
	mu      sync.Mutex
	pos     map[string]int64
	saves   []int64 // every position saved, in order
	changed chan struct{}
}

func newCursors() *memCursors {
	return &memCursors{pos: map[string]int64{}, changed: make(chan struct{})}
}

func (c *memCursors) Cursor(_ context.Context, name string) (int64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pos, ok := c.pos[name]
	return pos, ok, nil
}

func (c *memCursors) SetCursor(_ context.Context, name string, pos int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pos[name] = pos
	c.saves = append(c.saves, pos)
	close(c.changed)
	c.changed = make(chan struct{})
	return nil
}

// waitFor waits until the telegram cursor is at least pos.
func (c *memCursors) waitFor(t *testing.T, pos int64) {
	t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		c.mu.Lock()
		got, ok := c.pos[cursorName]
		changed := c.changed
		c.mu.Unlock()
		if ok && got >= pos {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("cursor %q = %d (saved: %v), want %d", cursorName, got, ok, pos)
		}
	}
}

func (c *memCursors) history() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.saves...)
}

// syncBuffer is a log sink safe for the Run goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
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

// recorder is a Handler that keeps the messages it gets.
type recorder struct {
	mu    sync.Mutex
	msgs  []bot.Message
	reply func(ctx context.Context, m bot.Message) []bot.Reply
}

func (r *recorder) Handle(ctx context.Context, m bot.Message) []bot.Reply {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	if r.reply == nil {
		return nil
	}
	return r.reply(ctx, m)
}

func (r *recorder) messages() []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Message(nil), r.msgs...)
}

func newTransport(t *testing.T, f *fakeAPI, cursors CursorStore, h bot.Handler, edit func(*Config)) (*Transport, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		Token:       testToken,
		APIEndpoint: f.endpoint(),
		PollTimeout: time.Second,
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		// Polls while an update is in flight come back at once; space
		// them little, so tests move quickly.
		HeldPollInterval: 10 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := New(cfg, cursors, h)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tr.minBackoff = 5 * time.Millisecond
	tr.maxBackoff = 20 * time.Millisecond
	t.Cleanup(func() {
		if strings.Contains(logs.String(), testToken) {
			t.Errorf("the token is in the log:\n%s", logs.String())
		}
	})
	return tr, logs
}

// start runs tr until the returned stop (also run at cleanup) cancels it;
// stop checks that Run returned nil promptly.
func start(t *testing.T, tr *Transport) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v after cancel, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("Run did not return within 5s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// ---- tests ----

// 1. A text message reaches the handler with the right fields, the reply
// goes to the same chat with sendMessage, and the cursor is the update_id.
func TestTextMessage(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := &recorder{reply: func(_ context.Context, m bot.Message) []bot.Reply {
		return []bot.Reply{{Text: "status: all good"}, {Text: "second"}}
	}}
	tr, _ := newTransport(t, f, cursors, h, nil)

	reply := textUpdate(99, 6, "which one?")
	up := messageUpdate(100, 7, map[string]any{
		"text":             "/status",
		"reply_to_message": reply["message"],
	})
	f.queue(up)
	start(t, tr)
	cursors.waitFor(t, 100)

	msgs := h.messages()
	if len(msgs) != 1 {
		t.Fatalf("handler got %d messages, want 1", len(msgs))
	}
	want := bot.Message{
		Transport:   "telegram",
		ChatID:      "-1001234567890",
		MessageID:   "7",
		From:        bot.Identity{Transport: "telegram", ID: "42", Name: "Ada Lovelace"},
		Text:        "/status",
		ReplyToText: "which one?",
		At:          time.Unix(msgDate, 0).UTC(),
	}
	if !reflect.DeepEqual(msgs[0], want) {
		t.Errorf("message:\n got %+v\nwant %+v", msgs[0], want)
	}

	sent := f.delivered("sendMessage")
	if len(sent) != 2 {
		t.Fatalf("sendMessage calls = %d, want 2", len(sent))
	}
	for i, text := range []string{"status: all good", "second"} {
		if got := sent[i].Params.Get("chat_id"); got != "-1001234567890" {
			t.Errorf("reply %d chat_id = %q", i, got)
		}
		if got := sent[i].Params.Get("text"); got != text {
			t.Errorf("reply %d text = %q, want %q", i, got, text)
		}
	}
	if got := sent[0].Params.Get("reply_to_message_id"); got != "7" {
		t.Errorf("first reply reply_to_message_id = %q, want 7", got)
	}
	if got := sent[1].Params.Get("reply_to_message_id"); got != "" {
		t.Errorf("second reply reply_to_message_id = %q, want none", got)
	}

	polls := f.callsOf("getUpdates")
	if len(polls) == 0 {
		t.Fatal("no getUpdates call")
	}
	p := polls[0].Params
	if p.Get("allowed_updates") != `["message"]` || p.Get("timeout") != "1" || p.Get("offset") != "" {
		t.Errorf("first getUpdates params = %v, want allowed_updates [\"message\"], timeout 1, no offset", p)
	}
	if got, _, _ := cursors.Cursor(context.Background(), cursorName); got != 100 {
		t.Errorf("cursor = %d, want 100", got)
	}
}

// 2. A restarted Transport with the same cursor store resumes after the
// last handled update, even though the fake still serves it to anyone who
// asks without an offset.
func TestRestartResumesAfterCursor(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()

	h1 := &recorder{reply: func(context.Context, bot.Message) []bot.Reply { return []bot.Reply{{Text: "one"}} }}
	tr1, _ := newTransport(t, f, cursors, h1, nil)
	f.queue(textUpdate(100, 7, "first"))
	stop1 := start(t, tr1)
	cursors.waitFor(t, 100)
	stop1()

	// The restarted transport talks to a server that still holds 100 (as
	// Telegram does until a poll asks past it) and a new 101. A poll of the
	// stopped transport may still be arriving at the old server, so the
	// new one gets its own.
	f2 := newFake(t, "")
	f2.queue(textUpdate(100, 7, "first"), textUpdate(101, 8, "second"))
	h2 := &recorder{reply: func(context.Context, bot.Message) []bot.Reply { return []bot.Reply{{Text: "two"}} }}
	tr2, _ := newTransport(t, f2, cursors, h2, nil)
	start(t, tr2)
	cursors.waitFor(t, 101)

	if got := h1.messages(); len(got) != 1 || got[0].Text != "first" {
		t.Errorf("first transport handled %+v, want just \"first\"", got)
	}
	got := h2.messages()
	if len(got) != 1 || got[0].Text != "second" {
		t.Errorf("second transport handled %+v, want just \"second\"", got)
	}
	polls := f2.callsOf("getUpdates")
	if len(polls) == 0 {
		t.Fatal("the restarted transport never polled")
	}
	for _, p := range polls {
		if off, _ := strconv.Atoi(p.Params.Get("offset")); off < 101 {
			t.Errorf("restarted getUpdates offset = %q, want >= 101", p.Params.Get("offset"))
		}
	}
	var texts []string
	for _, c := range append(f.delivered("sendMessage"), f2.delivered("sendMessage")...) {
		texts = append(texts, c.Params.Get("text"))
	}
	if !reflect.DeepEqual(texts, []string{"one", "two"}) {
		t.Errorf("replies sent = %q, want [one two]", texts)
	}
}

type openResult struct {
	att  bot.Attachment
	data []byte
	err  error
}

// openAll returns a handler that opens and reads every attachment.
func openAll(results map[string]openResult, mu *sync.Mutex) *recorder {
	return &recorder{reply: func(ctx context.Context, m bot.Message) []bot.Reply {
		if m.Attachment == nil {
			return nil
		}
		res := openResult{att: *m.Attachment}
		rc, err := m.Attachment.Open(ctx)
		if err == nil {
			res.data, err = io.ReadAll(rc)
			rc.Close()
		}
		res.err = err
		mu.Lock()
		results[m.MessageID] = res
		mu.Unlock()
		var fe *bot.FileError
		if errors.As(err, &fe) {
			return []bot.Reply{{Text: fe.Message}}
		}
		return nil
	}}
}

// 3. Attachments: a document and the largest photo size are downloaded
// from /file/bot<token>/<file_path>; a document declared over MaxFileSize
// gets a *bot.FileError without any getFile or download request.
func TestDocumentAttachment(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	results := map[string]openResult{}
	var mu sync.Mutex
	tr, _ := newTransport(t, f, cursors, openAll(results, &mu), func(c *Config) { c.MaxFileSize = 20 << 20 })

	csv := []byte("name,phone\nAda,+44 20 7946 0000\n")
	f.addFile("doc-small", fakeFile{path: "documents/file_1.csv", data: csv, size: len(csv)})
	f.addFile("doc-big", fakeFile{path: "documents/file_2.zip", data: []byte("never served"), size: 25 << 20})
	f.addFile("ph-s", fakeFile{path: "photos/file_3.jpg", data: []byte("small jpeg"), size: 10})
	f.addFile("ph-l", fakeFile{path: "photos/file_4.jpg", data: []byte("large jpeg bytes"), size: 16})
	f.queue(
		documentUpdate(200, 20, "doc-small", "contacts.csv", "text/csv", len(csv)),
		documentUpdate(201, 21, "doc-big", "big.zip", "application/zip", 25<<20),
		messageUpdate(202, 22, map[string]any{"caption": "look", "photo": []map[string]any{
			{"file_id": "ph-s", "file_unique_id": "a", "width": 90, "height": 90, "file_size": 10},
			{"file_id": "ph-l", "file_unique_id": "b", "width": 1280, "height": 1280, "file_size": 16},
		}}),
	)
	start(t, tr)
	cursors.waitFor(t, 202)

	mu.Lock()
	small, big, photo := results["20"], results["21"], results["22"]
	mu.Unlock()

	if small.err != nil || !bytes.Equal(small.data, csv) {
		t.Errorf("small document: data %q, err %v; want %q", small.data, small.err, csv)
	}
	if a := small.att; a.Name != "contacts.csv" || a.MIME != "text/csv" || a.Size != int64(len(csv)) {
		t.Errorf("small document attachment = %+v", a)
	}

	var fe *bot.FileError
	if !errors.As(big.err, &fe) {
		t.Fatalf("big document error = %v (%T), want *bot.FileError", big.err, big.err)
	}
	if want := "big.zip is 25 MB; the limit is 20 MB"; !strings.Contains(fe.Message, want) {
		t.Errorf("FileError message = %q, want it to contain %q", fe.Message, want)
	}
	if sent := f.delivered("sendMessage"); len(sent) != 1 || sent[0].Params.Get("text") != fe.Message {
		t.Errorf("handler's FileError reply was not sent: %+v", sent)
	}

	if photo.err != nil || string(photo.data) != "large jpeg bytes" {
		t.Errorf("photo: data %q, err %v; want the largest size", photo.data, photo.err)
	}
	if a := photo.att; a.Name != "photo.jpg" || a.MIME != "image/jpeg" || a.Size != 16 {
		t.Errorf("photo attachment = %+v", a)
	}

	for _, c := range f.callsOf("getFile") {
		if c.Params.Get("file_id") == "doc-big" {
			t.Errorf("getFile was called for the oversized document")
		}
	}
	wantDownloads := []string{
		"/file/bot" + testToken + "/documents/file_1.csv",
		"/file/bot" + testToken + "/photos/file_4.jpg",
	}
	if got := f.downloadPaths(); !reflect.DeepEqual(got, wantDownloads) {
		t.Errorf("downloads = %q, want %q", got, wantDownloads)
	}
}

// 3b. The size limit holds while reading, whatever size was declared,
// with or without a Content-Length; a small video reads fine.
func TestAttachmentSizeLimitWhileReading(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	results := map[string]openResult{}
	var mu sync.Mutex
	tr, _ := newTransport(t, f, cursors, openAll(results, &mu), func(c *Config) { c.MaxFileSize = 32 })

	big := bytes.Repeat([]byte("0123456789abcdef"), 4) // 64 bytes, declared 10
	f.addFile("liar-chunked", fakeFile{path: "documents/a.bin", data: big, size: 10, chunked: true})
	f.addFile("liar-length", fakeFile{path: "documents/b.bin", data: big, size: 10})
	f.addFile("vid", fakeFile{path: "videos/c.mp4", data: []byte("tiny video")})
	f.queue(
		documentUpdate(300, 30, "liar-chunked", "a.bin", "", 10),
		documentUpdate(301, 31, "liar-length", "b.bin", "", 10),
		messageUpdate(302, 32, map[string]any{"video": map[string]any{
			"file_id": "vid", "file_unique_id": "v", "width": 1, "height": 1, "duration": 1}}),
	)
	start(t, tr)
	cursors.waitFor(t, 302)

	mu.Lock()
	defer mu.Unlock()
	for _, id := range []string{"30", "31"} {
		var fe *bot.FileError
		if r := results[id]; !errors.As(r.err, &fe) || len(r.data) > 32 {
			t.Errorf("message %s: read %d bytes, err %v; want at most 32 bytes and a *bot.FileError", id, len(r.data), r.err)
		} else if !strings.Contains(fe.Message, "32 bytes") {
			t.Errorf("message %s: FileError %q does not name the limit", id, fe.Message)
		}
	}
	v := results["32"]
	if v.err != nil || string(v.data) != "tiny video" || v.att.Name != "video.mp4" || v.att.Size != -1 {
		t.Errorf("video: %+v", v)
	}
}

// 4. sendMessage answered with 429 retry_after=1 is retried after the wait
// and delivered exactly once.
func TestFloodControlSendMessage(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := &recorder{reply: func(context.Context, bot.Message) []bot.Reply { return []bot.Reply{{Text: "hello"}} }}
	tr, logs := newTransport(t, f, cursors, h, nil)
	f.failNext("sendMessage", floodFailure(1))
	f.queue(textUpdate(400, 40, "hi"))
	start(t, tr)
	cursors.waitFor(t, 400)

	calls := f.callsOf("sendMessage")
	if len(calls) != 2 || !calls[0].Failed || calls[1].Failed {
		t.Fatalf("sendMessage calls = %+v, want one 429 then one success", calls)
	}
	if got := f.delivered("sendMessage"); len(got) != 1 || got[0].Params.Get("text") != "hello" {
		t.Errorf("delivered = %+v, want \"hello\" once", got)
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < 900*time.Millisecond {
		t.Errorf("retried after %v, want about retry_after=1s", gap)
	}
	if !strings.Contains(logs.String(), "flood control") {
		t.Errorf("no flood-control log line:\n%s", logs.String())
	}
}

// 4b. Flood control on getUpdates is waited out too.
func TestFloodControlGetUpdates(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := &recorder{}
	tr, _ := newTransport(t, f, cursors, h, nil)
	f.failNext("getUpdates", floodFailure(1))
	f.queue(textUpdate(410, 41, "hi"))
	start(t, tr)
	cursors.waitFor(t, 410)

	polls := f.callsOf("getUpdates")
	if len(polls) < 2 || !polls[0].Failed || polls[1].Failed {
		t.Fatalf("getUpdates calls = %+v, want one 429 then a success", polls)
	}
	if gap := polls[1].At.Sub(polls[0].At); gap < 900*time.Millisecond {
		t.Errorf("getUpdates retried after %v, want about retry_after=1s", gap)
	}
	if len(h.messages()) != 1 {
		t.Errorf("handled %d messages, want 1", len(h.messages()))
	}
}

// 4c. A reply with a file goes out with sendDocument (multipart, text as
// caption) and is retried after its own 429.
func TestSendDocumentFloodControl(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := &recorder{reply: func(context.Context, bot.Message) []bot.Reply {
		return []bot.Reply{{Text: "your export", File: &bot.File{Name: "export.csv", MIME: "text/csv", Data: []byte("a,b\n1,2\n")}}}
	}}
	tr, _ := newTransport(t, f, cursors, h, nil)
	f.failNext("sendDocument", floodFailure(1))
	f.queue(textUpdate(420, 42, "/export"))
	start(t, tr)
	cursors.waitFor(t, 420)

	docs := f.callsOf("sendDocument")
	if len(docs) != 2 || !docs[0].Failed || docs[1].Failed {
		t.Fatalf("sendDocument calls = %+v, want one 429 then one success", docs)
	}
	if gap := docs[1].At.Sub(docs[0].At); gap < 900*time.Millisecond {
		t.Errorf("sendDocument retried after %v, want about retry_after=1s", gap)
	}
	d := docs[1]
	if d.Params.Get("chat_id") != "-1001234567890" || d.Params.Get("caption") != "your export" ||
		d.Params.Get("reply_to_message_id") != "42" || d.FileName != "export.csv" || string(d.FileData) != "a,b\n1,2\n" {
		t.Errorf("sendDocument = %+v", d)
	}
	if len(f.callsOf("sendMessage")) != 0 {
		t.Errorf("the caption was also sent as a message")
	}
}

// 5. With a custom APIEndpoint (here with a path and a trailing slash),
// every request goes to <endpoint>/bot<token>/<method> or
// <endpoint>/file/bot<token>/<path>.
func TestCustomAPIEndpoint(t *testing.T) {
	t.Parallel()
	f := newFake(t, "/telegram-api")
	cursors := newCursors()
	results := map[string]openResult{}
	var mu sync.Mutex
	opener := openAll(results, &mu)
	h := bot.HandlerFunc(func(ctx context.Context, m bot.Message) []bot.Reply {
		opener.Handle(ctx, m)
		return []bot.Reply{{Text: "got it"}}
	})
	tr, _ := newTransport(t, f, cursors, h, func(c *Config) { c.APIEndpoint = f.endpoint() + "/" })
	if tr.maxFileSize != 2000<<20 {
		t.Errorf("MaxFileSize default with a custom endpoint = %d, want 2000 MB", tr.maxFileSize)
	}
	f.addFile("d", fakeFile{path: "documents/file_9.txt", data: []byte("hi")})
	f.queue(documentUpdate(500, 50, "d", "notes.txt", "text/plain", 2))
	start(t, tr)
	cursors.waitFor(t, 500)

	base := "/telegram-api/bot" + testToken + "/"
	want := map[string]bool{"getMe": false, "getUpdates": false, "getFile": false, "sendMessage": false}
	for _, c := range f.callsOf("") {
		if c.Path != base+c.Method {
			t.Errorf("%s went to %q, want %q", c.Method, c.Path, base+c.Method)
		}
		want[c.Method] = true
	}
	for m, seen := range want {
		if !seen {
			t.Errorf("no %s request reached the custom endpoint", m)
		}
	}
	if got := f.downloadPaths(); len(got) != 1 || got[0] != "/telegram-api/file/bot"+testToken+"/documents/file_9.txt" {
		t.Errorf("downloads = %q", got)
	}
	mu.Lock()
	if r := results["50"]; r.err != nil || string(r.data) != "hi" {
		t.Errorf("download through custom endpoint: %+v", r)
	}
	mu.Unlock()
	f.mu.Lock()
	if len(f.stray) > 0 {
		t.Errorf("requests outside the endpoint: %q", f.stray)
	}
	f.mu.Unlock()
}

// 5b. New's defaults and checks, without I/O.
func TestNewConfig(t *testing.T) {
	t.Parallel()
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply { return nil })
	tr, err := New(Config{Token: testToken}, newCursors(), h)
	if err != nil {
		t.Fatal(err)
	}
	if tr.apiFormat != "https://api.telegram.org/bot%s/%s" {
		t.Errorf("public API format = %q", tr.apiFormat)
	}
	if got, want := tr.fileURL("documents/file_1.pdf"), "https://api.telegram.org/file/bot"+testToken+"/documents/file_1.pdf"; got != want {
		t.Errorf("fileURL = %q, want %q", got, want)
	}
	if tr.maxFileSize != 20<<20 || tr.pollTimeout != 30*time.Second {
		t.Errorf("defaults: max file %d, poll %v", tr.maxFileSize, tr.pollTimeout)
	}
	tr, err = New(Config{Token: testToken, APIEndpoint: "http://127.0.0.1:8081", MaxFileSize: 5 << 20}, newCursors(), h)
	if err != nil {
		t.Fatal(err)
	}
	if tr.apiFormat != "http://127.0.0.1:8081/bot%s/%s" || tr.maxFileSize != 5<<20 {
		t.Errorf("custom: format %q, max %d", tr.apiFormat, tr.maxFileSize)
	}

	for _, c := range []Config{
		{},
		{Token: testToken + "\n"},
		{Token: testToken, APIEndpoint: "127.0.0.1:8081"},
		{Token: testToken, APIEndpoint: "ftp://example.com"},
	} {
		if _, err := New(c, newCursors(), h); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", c)
		} else if strings.Contains(err.Error(), testToken) {
			t.Errorf("New error contains the token: %v", err)
		}
	}
	if _, err := New(Config{Token: testToken}, nil, h); err == nil {
		t.Error("New without a cursor store succeeded")
	}
	if _, err := New(Config{Token: testToken}, newCursors(), nil); err == nil {
		t.Error("New without a handler succeeded")
	}
}

// 6. The token never appears in logs or errors, though the HTTP client's
// errors carry the request URL, which holds it.
func TestTokenNeverLogged(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	var errMu sync.Mutex
	var openErr error
	h := &recorder{reply: func(ctx context.Context, m bot.Message) []bot.Reply {
		if m.Attachment == nil {
			return []bot.Reply{{Text: "ok"}}
		}
		_, err := m.Attachment.Open(ctx)
		errMu.Lock()
		openErr = err
		errMu.Unlock()
		return []bot.Reply{{Text: fmt.Sprint("could not read: ", err)}}
	}}
	tr, logs := newTransport(t, f, cursors, h, nil)

	f.failNext("getUpdates",
		failure{drop: true},
		failure{status: http.StatusBadGateway, body: "<html>502 Bad Gateway</html>"},
		apiFailure(http.StatusConflict, "Conflict: terminated by other getUpdates request"),
	)
	f.failNext("getFile", failure{drop: true})
	f.failNext("sendMessage", failure{drop: true}, apiFailure(http.StatusForbidden, "Forbidden: bot was blocked by the user"))
	f.addFile("gone", fakeFile{path: "documents/gone.pdf", data: []byte("x")})
	f.queue(
		documentUpdate(600, 60, "gone", "gone.pdf", "application/pdf", 1),
		textUpdate(601, 61, "hello"),
	)
	start(t, tr)
	cursors.waitFor(t, 601)

	out := logs.String()
	if strings.Contains(out, testToken) {
		t.Fatalf("token in logs:\n%s", out)
	}
	for _, want := range []string{"[token]", "getUpdates failed", "502", "Conflict", "sending a message failed", "Forbidden"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	errMu.Lock()
	if openErr == nil || strings.Contains(openErr.Error(), testToken) || !strings.Contains(openErr.Error(), "[token]") {
		t.Errorf("Open error = %v, want a scrubbed error", openErr)
	}
	errMu.Unlock()
	for _, c := range f.callsOf("") {
		if strings.Contains(c.Params.Encode(), testToken) || strings.Contains(c.Params.Encode(), url.QueryEscape(testToken)) {
			t.Errorf("%s sent the token in its parameters: %v", c.Method, c.Params)
		}
	}
	if len(h.messages()) != 2 {
		t.Errorf("handled %d messages, want 2 despite the errors", len(h.messages()))
	}
}

// 6b. Run's getMe failures are returned without the token: a refused
// token, and a connection error whose URL holds it.
func TestRunGetMeErrorsHideToken(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	wrong := "999:WRONG-token"
	tr, _ := newTransport(t, f, newCursors(), h, func(c *Config) { c.Token = wrong })
	err := tr.Run(ctx)
	if err == nil || strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("Run with a wrong token = %v, want an Unauthorized error without the token", err)
	}

	f.failNext("getMe", failure{drop: true})
	tr, _ = newTransport(t, f, newCursors(), h, nil)
	err = tr.Run(ctx)
	if err == nil || strings.Contains(err.Error(), testToken) || !strings.Contains(err.Error(), "[token]") {
		t.Errorf("Run with a dropped getMe = %v, want an error with [token] for the token", err)
	}
}

// 7. A reply over 4096 characters goes out as several messages, cut at
// line boundaries, that add up to the reply.
func TestLongReplySplit(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	var lines []string
	for i := range 400 {
		lines = append(lines, fmt.Sprintf("line %04d %s", i, strings.Repeat("é", 20)))
	}
	long := strings.Join(lines, "\n")
	h := &recorder{reply: func(context.Context, bot.Message) []bot.Reply { return []bot.Reply{{Text: long}} }}
	tr, _ := newTransport(t, f, cursors, h, nil)
	f.queue(textUpdate(700, 70, "/dump"))
	start(t, tr)
	cursors.waitFor(t, 700)

	sent := f.delivered("sendMessage")
	if len(sent) < 3 {
		t.Fatalf("sent %d messages for a %d-character reply, want at least 3", len(sent), utf8.RuneCountInString(long))
	}
	lineRE := regexp.MustCompile(`^line \d{4} (é){20}$`)
	var texts []string
	for i, c := range sent {
		text := c.Params.Get("text")
		if n := utf16Len(text); n > 4096 {
			t.Errorf("message %d is %d long", i, n)
		}
		for _, l := range strings.Split(text, "\n") {
			if !lineRE.MatchString(l) {
				t.Errorf("message %d has a cut line %q", i, l)
				break
			}
		}
		texts = append(texts, text)
		if got := c.Params.Get("reply_to_message_id"); (i == 0) != (got == "70") {
			t.Errorf("message %d reply_to_message_id = %q", i, got)
		}
	}
	if strings.Join(texts, "\n") != long {
		t.Error("the messages do not add up to the reply")
	}
}

// 7b. A reply far past what a chat should carry (one line per number of a
// 9,300-number message) goes out as at most bot.MaxReplyMessages messages,
// the last saying how many lines were left out.
func TestHugeReplyIsBounded(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	var lines []string
	for i := range 9300 {
		lines = append(lines, fmt.Sprintf("✓ #%d → +9198%08d 😀", i+1, i))
	}
	h := &recorder{reply: func(context.Context, bot.Message) []bot.Reply { return []bot.Reply{{Text: strings.Join(lines, "\n")}} }}
	tr, _ := newTransport(t, f, cursors, h, nil)
	f.queue(textUpdate(701, 70, "/dump"))
	start(t, tr)
	cursors.waitFor(t, 701)

	sent := f.delivered("sendMessage")
	if len(sent) != bot.MaxReplyMessages {
		t.Fatalf("sent %d messages, want %d", len(sent), bot.MaxReplyMessages)
	}
	for i, c := range sent {
		if n := utf16Len(c.Params.Get("text")); n > 4096 {
			t.Errorf("message %d is %d long", i, n)
		}
	}
	if last := sent[len(sent)-1].Params.Get("text"); !regexp.MustCompile(`\n… [\d,]+ more lines not shown: the reply is too long for a chat\.$`).MatchString(last) {
		t.Errorf("the last message does not say lines were left out: …%s", last[max(0, len(last)-100):])
	}
}

// Updates without a message advance the cursor, and a handler panic is
// logged, not fatal: the transport goes on with the next update.
func TestNonMessageUpdatesAndPanics(t *testing.T) {
	t.Parallel()
	f := newFake(t, "")
	cursors := newCursors()
	h := &recorder{reply: func(_ context.Context, m bot.Message) []bot.Reply {
		if m.Text == "boom" {
			panic("handler bug")
		}
		return []bot.Reply{{Text: "after " + m.Text}}
	}}
	tr, logs := newTransport(t, f, cursors, h, nil)
	f.queue(
		map[string]any{"update_id": 800, "edited_message": textUpdate(0, 80, "edited")["message"]},
		textUpdate(801, 81, "boom"),
		textUpdate(802, 82, "fine"),
	)
	start(t, tr)
	cursors.waitFor(t, 802)

	if got := h.messages(); len(got) != 2 {
		t.Errorf("handler got %d messages, want 2 (not the edit)", len(got))
	}
	if sent := f.delivered("sendMessage"); len(sent) != 1 || sent[0].Params.Get("text") != "after fine" {
		t.Errorf("sent = %+v", sent)
	}
	if !strings.Contains(logs.String(), "handler panicked") {
		t.Errorf("panic not logged:\n%s", logs.String())
	}
}
