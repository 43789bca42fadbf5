package commands_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/queue/campaign"
)

// sayWith sends text with an attached file and returns the replies.
func (f *fixture) sayWith(t *testing.T, identity, text, name string, data []byte) []bot.Reply {
	t.Helper()
	transport, id, _ := strings.Cut(identity, ":")
	var att *bot.Attachment
	if name != "" {
		att = &bot.Attachment{Name: name, Size: int64(len(data)),
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
	}
	return f.router.Handle(context.Background(), bot.Message{
		Transport: transport, ChatID: id, From: bot.Identity{Transport: transport, ID: id}, Text: text, Attachment: att,
	})
}

func TestCampaignFromChat(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if reply := f.say(t, "telegram:2", "/campaign new Diwali offer"); !strings.Contains(reply, `Campaign #1 "Diwali offer" created`) {
		t.Fatalf("new: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign start 1"); !strings.Contains(reply, "not ready") {
		t.Fatalf("start without contacts: %q", reply)
	}
	csv := "Name;Mobile\n\"Sharma, Ravi\";98765 43210\nAsha;+91 91234 56789\nAsha again;9123456789\nBad;12345\n"
	replies := f.sayWith(t, "telegram:2", "/import 1", "list.csv", []byte(csv))
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "2 accepted, 1 duplicate, 1 rejected, 0 suppressed") || replies[0].File == nil {
		t.Fatalf("import: %+v", replies)
	}
	if !strings.Contains(string(replies[0].File.Data), "12345") {
		t.Fatalf("rejects file: %q", replies[0].File.Data)
	}
	// The same list again adds nothing new.
	replies = f.sayWith(t, "telegram:2", "/import 1", "list.csv", []byte(csv))
	if !strings.Contains(replies[0].Text, "0 accepted, 3 duplicates") {
		t.Fatalf("re-import: %q", replies[0].Text)
	}
	if reply := f.say(t, "telegram:2", "/campaign set 1 message=diwali"); !strings.Contains(reply, `no saved message called "diwali"`) {
		t.Fatalf("unknown message: %q", reply)
	}
	if _, err := f.db.CreateSavedMessage(ctx, "diwali", "text", "Diwali offer: 20% off", 0, "t"); err != nil {
		t.Fatal(err)
	}
	if reply := f.say(t, "telegram:2", "/campaign set 1 message=diwali interval=5s"); reply != "Campaign #1: set message=diwali interval=5s." {
		t.Fatalf("set: %q", reply)
	}
	for text, want := range map[string]string{
		"/campaign set 1 interval=soon":         "not a duration",
		"/campaign set 1 gateway=pigeon":        `There is no gateway "pigeon"`,
		"/campaign set 1 template=x":            "template=<name>:<language>",
		"/campaign set 1 colour=red":            `Unknown setting "colour"`,
		"/campaign 99":                          "There is no campaign #99",
		"/campaign pause 1":                     "has not started yet, so there is nothing to pause",
		"/campaign schedule 1 2020-01-01 10:00": "in the past",
		"/campaign schedule 1 tomorrow":         "Usage: /campaign schedule",
	} {
		if reply := f.say(t, "telegram:2", text); !strings.Contains(reply, want) {
			t.Errorf("%s: %q, want %q", text, reply, want)
		}
	}
	if reply := f.say(t, "telegram:2", "/campaign start 1"); reply != "Campaign #1 is running." {
		t.Fatalf("start: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign set 1 interval=10s"); !strings.Contains(reply, "pause it first") {
		t.Fatalf("set while running: %q", reply)
	}
	if n, err := campaign.NewDispatcher(f.db, campaign.DispatcherConfig{Tick: time.Nanosecond, Now: f.clock.Now}, nil).Once(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch: %d, %v", n, err)
	}
	if reply := f.say(t, "telegram:2", "/campaign stats 1"); !strings.Contains(reply, "Contacts 2 · Pending 1") || !strings.Contains(reply, "Queued 1 · Sending 0") || !strings.Contains(reply, "ETA") {
		t.Fatalf("stats: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign pause 1"); !strings.Contains(reply, "paused") {
		t.Fatalf("pause: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign 1"); !strings.Contains(reply, "paused") || !strings.Contains(reply, "Contacts: 2") {
		t.Fatalf("show: %q", reply)
	}
	replies = f.sayWith(t, "telegram:2", "/campaign results 1", "", nil)
	if len(replies) != 1 || replies[0].File == nil || !strings.HasSuffix(replies[0].File.Name, ".xlsx") {
		t.Fatalf("results: %+v", replies)
	}
	x, err := excelize.OpenReader(bytes.NewReader(replies[0].File.Data))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := x.GetRows("Sheet1")
	if err != nil || len(rows) != 3 || rows[0][0] != "Phone" || rows[1][0] != "+919876543210" || rows[1][1] != "Sharma, Ravi" || rows[1][2] != "pending" {
		t.Fatalf("results rows: %v, %v", rows, err)
	}
	if reply := f.say(t, "telegram:2", "/campaign copy 1 1"); !strings.Contains(reply, "Copy from one campaign to another") {
		t.Fatalf("copy into itself: %q", reply)
	}
	f.say(t, "telegram:2", "/campaign new Diwali again")
	if reply := f.say(t, "telegram:2", "/campaign copy 1 2"); !strings.Contains(reply, "Copied 2 contacts from #1 to #2") {
		t.Fatalf("copy: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaigns"); !strings.Contains(reply, "#1 Diwali offer · paused · 0/2 sent") {
		t.Fatalf("/campaigns: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/optout 99887 76655 asked in store"); reply != "+919988776655 will get no more campaign messages; imports skip it." {
		t.Fatalf("optout: %q", reply)
	}
	f.say(t, "telegram:2", "/campaign new Second")
	replies = f.sayWith(t, "telegram:2", "/import 3", "more.txt", []byte("99887 76655\n98765 43210\n"))
	if !strings.Contains(replies[0].Text, "1 accepted, 0 duplicates, 0 rejected, 1 suppressed") {
		t.Fatalf("import with an opted-out number: %q", replies[0].Text)
	}
	if reply := f.say(t, "telegram:2", "/campaign delete 1"); !strings.Contains(reply, "deleted") {
		t.Fatalf("delete: %q", reply)
	}
}

// Malformed contact lists get a clear reply, import nothing, and leave the
// bot working.
func TestMalformedImports(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.say(t, "telegram:2", "/campaign new Test")
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("importer", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	big := bytes.Repeat([]byte("9876543210\n"), 25*1024*1024/11+1)
	millionColumns := append([]byte("phone"), bytes.Repeat([]byte(",x"), 1_000_000)...)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"bomb.xlsx", fixture("zipbomb.xlsx"), ""},
		{"photo.xlsx", fixture("notazip.xlsx"), "this file is a PNG image, not a contact list"},
		{"empty.csv", nil, "empty"},
		{"huge.txt", big, "limit is 20 MB"},
		{"wide.csv", millionColumns, ""},
		{"contacts.pdf", []byte("%PDF-1.4"), ""},
	} {
		replies := f.sayWith(t, "telegram:2", "/import 1", tc.name, tc.data)
		if len(replies) != 1 || !strings.Contains(replies[0].Text, "Nothing was imported") || !strings.Contains(replies[0].Text, tc.want) {
			t.Errorf("%s: %+v", tc.name, replies)
		}
		if s, err := f.db.CampaignStats(context.Background(), 1); err != nil || s.Total != 0 {
			t.Fatalf("%s imported something: %+v %v", tc.name, s, err)
		}
	}
	if reply := f.say(t, "telegram:2", "/campaign stats 1"); !strings.Contains(reply, "Contacts 0") {
		t.Fatalf("the bot stopped answering: %q", reply)
	}
}

// A list that turns out to be over the row limit after some contacts were
// stored leaves nothing behind.
func TestImportOverLimitHalfwayIsUndone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.db.PutSetting(context.Background(), "import.max_rows", "3000", false, "test"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "telegram:2", "/campaign new Big")
	var b strings.Builder
	b.WriteString("phone\n")
	for i := range 3500 {
		fmt.Fprintf(&b, "9%09d\n", 100000000+i)
	}
	replies := f.sayWith(t, "telegram:2", "/import 1", "big.csv", []byte(b.String()))
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Nothing was imported") {
		t.Fatalf("over the limit: %+v", replies)
	}
	if s, err := f.db.CampaignStats(context.Background(), 1); err != nil || s.Total != 0 {
		t.Fatalf("contacts left behind: %+v, %v", s, err)
	}
}
