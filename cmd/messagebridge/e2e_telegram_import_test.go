package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

const (
	e2eImportToken  = "654321:AAImportTokenForTests0123456789abcd"
	e2eImportFileID = "BQACAgUAAxkBAAIBZmZha2VfZG9jdW1lbnQ"
	e2eImportPath   = "documents/file_7.csv"
	e2eImportCSV    = "phone,name\n+91 98111 00001,Asha\n+91 98111 00002,Ravi\n+91 98111 00003,Meena\n"
)

// e2eImportBotAPI is a Telegram Bot API (providers.md §4.1) for the import
// test. Updates the test adds are kept and handed out by offset as
// Telegram does: getUpdates returns those with update_id >= offset that
// no earlier poll confirmed (asked past), long-polling while there are
// none. The document's download (GET
// /file/bot<token>/<path>) sends the headers and the first line, then holds
// until the test releases it. Everything observed is appended to events,
// in order.
type e2eImportBotAPI struct {
	mu      sync.Mutex
	updates []map[string]any
	added   chan struct{} // closed and replaced when an update is added
	events  []string
	offsets []int64
	// confirmed is the highest offset asked for: Telegram forgets the
	// updates below it and never hands them out again.
	confirmed int64

	fileRequested chan struct{} // closed at the first download request
	requestedOnce sync.Once
	release       chan struct{} // closed by the test to let the download finish
	releaseOnce   sync.Once
	closing       chan struct{} // ends long polls when the test is over
}

func newE2EImportBotAPI() *e2eImportBotAPI {
	return &e2eImportBotAPI{added: make(chan struct{}), fileRequested: make(chan struct{}),
		release: make(chan struct{}), closing: make(chan struct{})}
}

func (f *e2eImportBotAPI) event(e string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *e2eImportBotAPI) snapshot() (events []string, offsets []int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...), append([]int64(nil), f.offsets...)
}

// addMessage queues a message update from user id, in their private chat.
func (f *e2eImportBotAPI) addMessage(id int, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from := fields["from"].(int)
	msg := map[string]any{
		"message_id": 100 + len(f.updates), "date": time.Now().Unix(),
		"chat": map[string]any{"id": from, "type": "private", "first_name": "User"},
		"from": map[string]any{"id": from, "is_bot": false, "first_name": "User" + strconv.Itoa(from)},
	}
	for k, v := range fields {
		if k != "from" {
			msg[k] = v
		}
	}
	f.updates = append(f.updates, map[string]any{"update_id": id, "message": msg})
	close(f.added)
	f.added = make(chan struct{})
}

func (f *e2eImportBotAPI) releaseDownload() {
	f.releaseOnce.Do(func() {
		f.event("download released")
		close(f.release)
	})
}

func (f *e2eImportBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ok := func(result any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
	}
	fail := func(code int, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": code, "description": desc})
	}
	if r.URL.Path == "/file/bot"+e2eImportToken+"/"+e2eImportPath {
		f.serveDownload(w, r)
		return
	}
	method, found := strings.CutPrefix(r.URL.Path, "/bot"+e2eImportToken+"/")
	if !found {
		fail(http.StatusUnauthorized, "Unauthorized")
		return
	}
	_ = r.ParseMultipartForm(1 << 20)
	switch method {
	case "getMe":
		ok(map[string]any{"id": 654321, "is_bot": true, "first_name": "Shop Bot", "username": "shop_bot"})
	case "getUpdates":
		offset, _ := strconv.ParseInt(r.FormValue("offset"), 10, 64)
		timeout := 25 * time.Second
		if s, err := strconv.Atoi(r.FormValue("timeout")); err == nil && s >= 0 {
			timeout = min(timeout, time.Duration(s)*time.Second)
		}
		deadline := time.NewTimer(timeout)
		defer deadline.Stop()
		f.mu.Lock()
		f.offsets = append(f.offsets, offset)
		f.confirmed = max(f.confirmed, offset)
		for {
			var out []map[string]any
			for _, u := range f.updates {
				if int64(u["update_id"].(int)) >= f.confirmed {
					out = append(out, u)
				}
			}
			added := f.added
			f.mu.Unlock()
			if len(out) > 0 {
				ok(out)
				return
			}
			select {
			case <-added:
			case <-deadline.C:
				ok([]any{})
				return
			case <-r.Context().Done():
				return
			case <-f.closing:
				ok([]any{})
				return
			}
			f.mu.Lock()
		}
	case "getFile":
		if r.FormValue("file_id") != e2eImportFileID {
			fail(http.StatusBadRequest, "Bad Request: invalid file_id")
			return
		}
		f.event("getFile")
		ok(map[string]any{"file_id": e2eImportFileID, "file_unique_id": "AgADZmFrZQ", "file_size": len(e2eImportCSV), "file_path": e2eImportPath})
	case "sendMessage":
		chat, text := r.FormValue("chat_id"), r.FormValue("text")
		if chat == "" || text == "" {
			fail(http.StatusBadRequest, "Bad Request: message text is empty")
			return
		}
		f.event("sendMessage " + chat + ": " + text)
		n, _ := strconv.Atoi(chat)
		ok(map[string]any{"message_id": 900 + len(text), "date": time.Now().Unix(),
			"chat": map[string]any{"id": n, "type": "private"}, "text": text})
	default:
		fail(http.StatusNotFound, "Not Found: method not found")
	}
}

// serveDownload sends the file's headers and first line at once and the
// rest only once the test releases it.
func (f *e2eImportBotAPI) serveDownload(w http.ResponseWriter, r *http.Request) {
	f.event("download requested")
	f.requestedOnce.Do(func() { close(f.fileRequested) })
	w.Header().Set("Content-Type", "text/csv")
	w.Header().Set("Content-Length", strconv.Itoa(len(e2eImportCSV)))
	w.WriteHeader(http.StatusOK)
	first := strings.Index(e2eImportCSV, "\n") + 1
	_, _ = w.Write([]byte(e2eImportCSV[:first]))
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	select {
	case <-f.release:
	case <-r.Context().Done():
		return
	case <-f.closing:
		return
	}
	_, _ = w.Write([]byte(e2eImportCSV[first:]))
}

// e2eEventIndex is the index of the first event with prefix and containing
// sub, or -1.
func e2eEventIndex(events []string, prefix, sub string) int {
	for i, e := range events {
		if strings.HasPrefix(e, prefix) && strings.Contains(e, sub) {
			return i
		}
	}
	return -1
}

// An operator's /import whose file is still downloading does not hold up a
// staff member's number in another chat: the staff member's "Queued #"
// reply is sent while the download is held, and the import finishes once
// it is released. The number is queued exactly once.
func TestStaffReplyNotHeldByAnotherChatsImport(t *testing.T) {
	t.Parallel()
	fake := newE2EImportBotAPI()
	srv := httptest.NewServer(fake)
	t.Cleanup(func() {
		close(fake.closing)
		srv.Close()
	})
	dataDir := t.TempDir()
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{})
	ctx := context.Background()
	if _, err := db.PutOperator(ctx, "telegram:3001", store.RoleStaff, "Ravi", "test"); err != nil {
		t.Fatal(err)
	}

	stop, logs := serveUntilStarted(t, env(t, "MB_DATA_DIR", dataDir, "MB_TELEGRAM_TOKEN", e2eImportToken,
		"MB_TELEGRAM_API_ENDPOINT", srv.URL, "MB_BOOTSTRAP_ADMINS", "telegram:2001"))
	stopped := false
	t.Cleanup(func() {
		fake.releaseDownload()
		if !stopped {
			stop()
		}
	})
	waitEvent := func(what, prefix, sub string) int {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			events, _ := fake.snapshot()
			if i := e2eEventIndex(events, prefix, sub); i >= 0 {
				return i
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen within 20s; events so far:\n%s\nlogs:\n%s", what, strings.Join(events, "\n"), logs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// The operator (an admin by MB_BOOTSTRAP_ADMINS) creates campaign #1.
	fake.addMessage(1, map[string]any{"from": 2001, "text": "/campaign new Test"})
	waitEvent("the reply to /campaign new", "sendMessage 2001: ", `Campaign #1 "Test" created.`)

	// (a) The contact list, captioned /import 1.
	fake.addMessage(2, map[string]any{"from": 2001, "caption": "/import 1", "document": map[string]any{
		"file_id": e2eImportFileID, "file_unique_id": "AgADZmFrZQ", "file_name": "contacts.csv",
		"mime_type": "text/csv", "file_size": len(e2eImportCSV)}})
	select {
	case <-fake.fileRequested:
	case <-time.After(20 * time.Second):
		events, _ := fake.snapshot()
		t.Fatalf("the transport never downloaded the document; events:\n%s\nlogs:\n%s", strings.Join(events, "\n"), logs)
	}

	// (b) While the download is held, a staff member sends a number.
	fake.addMessage(3, map[string]any{"from": 3001, "text": "98765 43210"})
	staffReply := waitEvent("the staff member's reply while another chat's download is held", "sendMessage 3001: ", "Queued #")
	fake.releaseDownload()
	importReply := waitEvent("the import's reply after the download is released", "sendMessage 2001: ", "Imported contacts.csv into campaign #1")

	events, offsets := fake.snapshot()
	requested := e2eEventIndex(events, "download requested", "")
	released := e2eEventIndex(events, "download released", "")
	if !(requested < staffReply && staffReply < released && released < importReply) {
		t.Errorf("events out of order (want download requested < staff reply < download released < import reply):\n%s\ngetUpdates offsets: %v", strings.Join(events, "\n"), offsets)
	}
	if !strings.Contains(events[importReply], ": 3 accepted, 0 duplicates, 0 rejected") {
		t.Errorf("import reply %q, want 3 accepted", events[importReply])
	}

	stopped = true
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs)
	}

	items, err := db.RecentQueueItems(ctx, store.RecentFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.QueueItem
	for _, it := range items {
		if it.Phone == "+919876543210" {
			rows = append(rows, it)
		}
	}
	if len(rows) != 1 || rows[0].CreatedBy != "telegram:3001" {
		t.Fatalf("queue rows for +919876543210: %+v, want exactly one by telegram:3001", rows)
	}
	if want := fmt.Sprintf("sendMessage 3001: Queued #%d for +919876543210 via dryrun.", rows[0].ID); events[staffReply] != want {
		t.Errorf("staff reply %q, want %q", events[staffReply], want)
	}
	if n := strings.Count(strings.Join(events, "\n"), "sendMessage 3001: "); n != 1 {
		t.Errorf("%d replies to the staff member, want 1:\n%s", n, strings.Join(events, "\n"))
	}
	if strings.Contains(logs.String(), e2eImportToken) {
		t.Error("the bot token appears in the log")
	}
}
