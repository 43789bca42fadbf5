package commands_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// received is one delivery the fake gateway got, with the bytes of its
// media read through the library.
type received struct {
	phone string
	kind  queue.Kind
	text  string
	mime  string
	data  []byte
}

// mediaFixture is the chat over the operations with a local media store,
// a delivery loop and a campaign dispatcher sending through the fake
// gateway.
type mediaFixture struct {
	*fixture
	loop       *queue.Loop
	dispatcher *campaign.Dispatcher
	files      *media.Local

	mu   sync.Mutex
	got  []received
	fake *fake.Sender
}

func newMediaFixture(t *testing.T) *mediaFixture {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
	f := &mediaFixture{fixture: &fixture{clock: clock}}
	f.db = storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	files, err := media.NewLocal(t.TempDir(), media.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.files = files
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"fake"}))
	if err != nil {
		t.Fatal(err)
	}
	reader := settings.NewReader(reg, f.db, time.Nanosecond, nil)
	all := queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}
	svc := ops.New(f.db, reader, ops.Config{Gateways: []ops.Gateway{{Name: "fake", Caps: all}}, Now: clock.Now,
		Media: files, MediaStorage: library.StoreLocal, TempDir: t.TempDir()}, nil)
	f.router = commands.New(svc, commands.Config{Now: clock.Now}, nil)
	f.fake = &fake.Sender{Fail: func(d queue.Delivery) error {
		r := received{phone: d.Phone, kind: d.Kind, text: d.Text}
		if d.Media != nil {
			rc, err := d.Media.Open(context.Background())
			if err != nil {
				return queue.Classify(queue.Permanent, "", err)
			}
			defer rc.Close()
			if r.data, err = io.ReadAll(rc); err != nil {
				return queue.Classify(queue.Permanent, "", err)
			}
			r.mime = d.Media.MIME
		}
		f.mu.Lock()
		f.got = append(f.got, r)
		f.mu.Unlock()
		return nil
	}}
	f.loop = queue.New(queue.Config{Tuning: queue.TuningFromSettings(reader, nil), Library: library.New(f.db, files, library.StoreLocal)},
		f.db, queue.StaticGateways{Active: "fake", Senders: map[string]queue.Sender{"fake": f.fake}}, nil)
	f.dispatcher = campaign.NewDispatcher(f.db, campaign.DispatcherConfig{Tick: time.Nanosecond, Now: clock.Now}, nil)
	ctx := context.Background()
	for id, role := range map[string]string{"telegram:1": "staff", "telegram:2": "operator", "telegram:3": "admin"} {
		if _, err := f.db.PutOperator(ctx, id, role, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// attach sends text with a file, as a chat transport does.
func (f *mediaFixture) attach(t *testing.T, identity, text, name, mimeType string, data []byte) []bot.Reply {
	t.Helper()
	transport, id, _ := strings.Cut(identity, ":")
	att := &bot.Attachment{Name: name, MIME: mimeType, Size: int64(len(data)),
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	return f.router.Handle(context.Background(), bot.Message{
		Transport: transport, ChatID: id, From: bot.Identity{Transport: transport, ID: id}, Text: text, Attachment: att,
	})
}

// deliver runs the delivery loop until nothing is due and returns what the
// fake gateway got meanwhile.
func (f *mediaFixture) deliver(t *testing.T) []received {
	t.Helper()
	f.mu.Lock()
	before := len(f.got)
	f.mu.Unlock()
	for {
		n, err := f.loop.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got[before:]...)
}

func joined(replies []bot.Reply) string {
	var parts []string
	for _, r := range replies {
		parts = append(parts, r.Text)
	}
	return strings.Join(parts, "\n")
}

func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		img.Set(x, x, color.RGBA{200, 40, 40, 255})
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The saved-message library from the chat, each step as a person types
// it: save an image and a text, list, preview and archive them, name the
// staff message, queue a staff number that gets the saved text, and send
// the saved image in a campaign through a gateway that receives its bytes.
func TestSavedMessagesChatFlow(t *testing.T) {
	t.Parallel()
	f := newMediaFixture(t)
	ctx := context.Background()
	photo := testJPEG(t)
	const op = "telegram:2"

	// 1. Save an image (a name with spaces, quoted) and a text.
	if reply := joined(f.attach(t, op, `/save "Diwali offer" 20% off all week!`, "photo.jpg", "image/jpeg", photo)); reply != `Saved "Diwali offer" (image). Preview it with /message "Diwali offer"; send it with /send <phone> "Diwali offer".` {
		t.Fatalf("save image: %q", reply)
	}
	if reply := f.say(t, op, "/save thanks text Thank you for shopping with us!\nSee you soon."); !strings.HasPrefix(reply, `Saved "thanks" (text).`) {
		t.Fatalf("save text: %q", reply)
	}
	for _, tc := range []struct{ text, name, mime, want string }{
		{`/save notes`, "notes.jpg", "image/jpeg", "claims to be a JPEG image"},
		{`/save "Diwali offer"`, "photo.jpg", "image/jpeg", `already a saved message called "Diwali offer"`},
		{`/save "unclosed name`, "photo.jpg", "image/jpeg", "Close the quotes"},
	} {
		data := photo
		if tc.name == "notes.jpg" {
			data = []byte("shopping list: rice, dal, ghee")
		}
		if reply := joined(f.attach(t, op, tc.text, tc.name, tc.mime, data)); !strings.Contains(reply, tc.want) {
			t.Errorf("%s: %q, want %q", tc.text, reply, tc.want)
		}
	}
	if reply := f.say(t, op, "/save promo"); !strings.Contains(reply, "No image or video came with /save") {
		t.Fatalf("save without a file: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "/save x text hi"); !strings.Contains(reply, "needs the operator role") {
		t.Fatalf("staff save: %q", reply)
	}

	// 2. List, preview and archive them.
	reply := f.say(t, op, "/messages")
	for _, want := range []string{"Saved messages (2):", `• "Diwali offer" — image · 20% off all week!`, "• thanks — text · Thank you for shopping with us! See you soon."} {
		if !strings.Contains(reply, want) {
			t.Fatalf("/messages lacks %q:\n%s", want, reply)
		}
	}
	preview := f.router.Handle(ctx, bot.Message{Transport: "telegram", ChatID: "2", From: bot.Identity{Transport: "telegram", ID: "2"}, Text: `/message "Diwali offer"`})
	if len(preview) != 2 || !strings.Contains(preview[0].Text, `"Diwali offer" · image · active`) || preview[1].Text != "20% off all week!" ||
		preview[1].File == nil || preview[1].File.MIME != "image/jpeg" || !bytes.Equal(preview[1].File.Data, photo) || preview[1].File.Name != "photo.jpg" {
		t.Fatalf("preview: %+v", preview)
	}
	if reply := f.say(t, op, "/message thanks"); !strings.Contains(reply, "Thank you for shopping with us!\nSee you soon.") {
		t.Fatalf("preview text: %q", reply)
	}
	if reply := f.say(t, op, "/message archive Diwali offer"); !strings.HasPrefix(reply, `Archived "Diwali offer"`) {
		t.Fatalf("archive: %q", reply)
	}
	if reply := f.say(t, op, `/message archive "thanks"`); !strings.HasPrefix(reply, `Archived "thanks"`) {
		t.Fatalf("archive: %q", reply)
	}
	if reply := f.say(t, op, "/messages"); !strings.Contains(reply, "No active saved messages") {
		t.Fatalf("/messages after archiving: %q", reply)
	}
	if reply := f.say(t, op, "/messages all"); !strings.Contains(reply, "image · archived") || !strings.Contains(reply, "thanks — text · archived") {
		t.Fatalf("/messages all: %q", reply)
	}
	if reply := f.say(t, "telegram:1", `/send 9876543210 "Diwali offer"`); !strings.Contains(reply, `"Diwali offer" is archived`) {
		t.Fatalf("send an archived message: %q", reply)
	}
	if reply := f.say(t, op, "/set intake.message thanks"); !strings.Contains(reply, "archived") {
		t.Fatalf("intake.message naming an archived message: %q", reply)
	}
	for _, name := range []string{`"Diwali offer"`, "thanks"} {
		if reply := f.say(t, op, "/message restore "+name); !strings.HasSuffix(reply, "is active again.") {
			t.Fatalf("restore %s: %q", name, reply)
		}
	}
	if reply := f.say(t, op, "/message restore thanks"); !strings.Contains(reply, "active already") {
		t.Fatalf("restore twice: %q", reply)
	}

	// 3. Set intake.message.
	if reply := f.say(t, op, "/set intake.message thanks"); !strings.HasPrefix(reply, "intake.message is now thanks.") {
		t.Fatalf("set intake.message: %q", reply)
	}

	// 4. A staff number gets the saved text.
	if reply := f.say(t, "telegram:1", "98765 43210"); !strings.Contains(reply, "Queued #1 for +919876543210 via fake.") {
		t.Fatalf("staff send: %q", reply)
	}
	got := f.deliver(t)
	if len(got) != 1 || got[0].phone != "+919876543210" || got[0].kind != queue.KindText || got[0].text != "Thank you for shopping with us!\nSee you soon." {
		t.Fatalf("staff delivery: %+v", got)
	}

	// 5. The saved image goes out in a campaign, bytes and caption.
	if reply := f.say(t, op, "/campaign new Diwali"); !strings.Contains(reply, "Campaign #1") {
		t.Fatalf("new campaign: %q", reply)
	}
	f.sayWith(t, op, "/import 1", "list.csv", []byte("Name,Mobile\nRavi,98765 43211\nAsha,91234 56789\n"))
	if reply := f.say(t, op, `/campaign set 1 message="Diwali offer" interval=5s`); reply != "Campaign #1: set message=Diwali offer interval=5s." {
		t.Fatalf("campaign set: %q", reply)
	}
	if reply := f.say(t, op, "/campaign start 1"); reply != "Campaign #1 is running." {
		t.Fatalf("start: %q", reply)
	}
	var sent []received
	for i := 0; i < 5 && len(sent) < 2; i++ {
		if _, err := f.dispatcher.Once(ctx); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, f.deliver(t)...)
		f.clock.Advance(5 * time.Second)
	}
	if len(sent) != 2 {
		t.Fatalf("campaign deliveries: %+v", sent)
	}
	for _, s := range sent {
		if s.kind != queue.KindImage || s.text != "20% off all week!" || s.mime != "image/jpeg" || !bytes.Equal(s.data, photo) {
			t.Fatalf("campaign delivery to %s: kind %s text %q mime %s, %d bytes", s.phone, s.kind, s.text, s.mime, len(s.data))
		}
	}

	// An image attached to /send goes to that number, caption and all.
	other := testJPEG(t)
	other = append(other[:len(other):len(other)], 0) // different content, still a JPEG
	if reply := joined(f.attach(t, "telegram:1", "/send 91234 00000 Your bill", "bill.jpg", "image/jpeg", other)); !strings.Contains(reply, "with the attached file") {
		t.Fatalf("send with a file: %q", reply)
	}
	if got := f.deliver(t); len(got) != 1 || got[0].kind != queue.KindImage || got[0].text != "Your bill" || !bytes.Equal(got[0].data, other) {
		t.Fatalf("attachment delivery: %+v", got)
	}
	if reply := joined(f.attach(t, "telegram:1", "91234 00001", "notes.jpg", "image/jpeg", []byte("plain words"))); !strings.Contains(reply, "Nothing was saved") {
		t.Fatalf("bad attachment: %q", reply)
	}

	// Replace, delete and clean up.
	if reply := joined(f.attach(t, op, `/message replace "Diwali offer"`, "new.jpg", "image/jpeg", other)); !strings.Contains(reply, `Replaced the file of "Diwali offer"`) {
		t.Fatalf("replace: %q", reply)
	}
	if reply := f.say(t, op, "/message replace thanks"); !strings.Contains(reply, "No file came") {
		t.Fatalf("replace without a file: %q", reply)
	}
	if reply := f.say(t, op, "/message delete thanks"); !strings.Contains(reply, `Deleted "thanks"`) || !strings.Contains(reply, "intake.message") {
		t.Fatalf("delete the staff message: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "98765 43212"); !strings.Contains(reply, `staff message "thanks"`) {
		t.Fatalf("staff send after its message was deleted: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/media cleanup"); !strings.Contains(reply, "Nothing to clean up") {
		t.Fatalf("cleanup within the grace: %q", reply)
	}
	f.clock.Advance(25 * time.Hour)
	if reply := f.say(t, "telegram:3", "/media cleanup"); !strings.Contains(reply, "deleted 1 unused file (") {
		t.Fatalf("cleanup: %q", reply)
	}
	if reply := f.say(t, op, "/media cleanup"); !strings.Contains(reply, "needs the admin role") {
		t.Fatalf("operator cleanup: %q", reply)
	}
	// The replaced photo is gone; the new file (also sent with /send) stays.
	var keys []string
	_ = f.files.List(ctx, "", func(i media.Info) error { keys = append(keys, i.Key); return nil })
	if len(keys) != 1 {
		t.Fatalf("media files left: %v", keys)
	}
	if _, err := f.db.SavedMessageByName(ctx, "thanks"); err != nil {
		t.Fatal(err)
	}
	items, _ := f.db.RecentQueueItems(ctx, store.RecentFilter{Limit: 10})
	if len(items) != 4 {
		t.Fatalf("%d queue items, want 4", len(items))
	}
}
