package commands_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
)

// TestRejectsFileFromChatIsSafe: rejected cells that a spreadsheet would
// run come back in the rejects file as text.
func TestRejectsFileFromChatIsSafe(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.say(t, "telegram:2", "/campaign new Formulas")
	hostile := []string{
		`=HYPERLINK("http://evil.example","Click")`,
		`-2+3+cmd|' /C calc'!A0`,
		`+2+3+cmd|' /C calc'!A0`,
		`@SUM(1+1)*cmd|' /C calc'!A0`,
		"\t=1+1",
		`+91 12345`,
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"Name", "Phone"})
	_ = w.Write([]string{"Good", "9876543210"})
	for i, v := range hostile {
		_ = w.Write([]string{fmt.Sprintf("Row %d", i), v})
	}
	w.Flush()
	replies := f.sayWith(t, "telegram:2", "/import 1", "list.csv", b.Bytes())
	if len(replies) != 1 || replies[0].File == nil {
		t.Fatalf("import: %+v", replies)
	}
	records, err := csv.NewReader(bytes.NewReader(replies[0].File.Data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]bool{}
	for _, rec := range records[1:] {
		values[rec[1]] = true
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("rejects cell %q would run as a formula", cell)
			}
		}
	}
	for _, v := range hostile {
		if v = strings.TrimSpace(v); !values["'"+v] { // the importer trims cells
			t.Errorf("rejects file lacks %q as text; rows %q", v, records)
		}
	}
}

// sendAs completes the claimed items as sent by the dryrun gateway, with
// provider ids p<id>.
func (f *fixture) sendAll(t *testing.T) []store.QueueItem {
	t.Helper()
	ctx := context.Background()
	claimed, err := f.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 100, Owner: "t", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	var outs []store.Outcome
	for _, it := range claimed {
		outs = append(outs, store.Outcome{ID: it.ID, Token: "tok", Status: store.StatusSent, Gateway: "dryrun", ProviderMessageID: fmt.Sprintf("p%d", it.ID), Event: "sent"})
	}
	if _, err := f.db.CompleteQueueItems(ctx, outs); err != nil {
		t.Fatal(err)
	}
	return claimed
}

func (f *fixture) receipt(t *testing.T, id int64, status store.QueueStatus) {
	t.Helper()
	if ok, err := f.db.ApplyReceipt(context.Background(), store.Receipt{Gateway: "dryrun", ProviderMessageID: fmt.Sprintf("p%d", id), Status: status}); err != nil || !ok {
		t.Fatalf("receipt %s for #%d: %v, %v", status, id, ok, err)
	}
}

// TestCountsAgree: /queue, /status and /campaign stats count the same
// way (sent includes delivered and read), and a cancelled campaign's
// contacts never queued are cancelled, not pending, in every reply and in
// the results file.
func TestCountsAgree(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.say(t, "telegram:1", "98765 43210 91234 56789 99887 76655")
	items := f.sendAll(t)
	if len(items) != 3 {
		t.Fatalf("claimed %d", len(items))
	}
	f.receipt(t, items[0].ID, store.StatusRead)
	f.receipt(t, items[1].ID, store.StatusDelivered)
	f.say(t, "telegram:1", "98765 43299")
	last := f.items(t)[0]
	f.say(t, "telegram:2", fmt.Sprintf("/cancel %d", last.ID))

	const want = "Queued 0 · Sending 0 · Sent 3 (delivered 2 · read 1) · Failed 0 · Cancelled 1"
	queueReply := f.say(t, "telegram:2", "/queue all")
	statusReply := f.say(t, "telegram:2", "/status")
	if !strings.Contains(queueReply, "All time: 4 messages\n"+want) {
		t.Errorf("/queue all: %q, want %q", queueReply, want)
	}
	if !strings.Contains(statusReply, want) {
		t.Errorf("/status: %q, want %q", statusReply, want)
	}

	// A campaign of three: one sent and read, then cancelled with one
	// queued and one never queued.
	f.say(t, "telegram:2", "/campaign new Agree")
	f.sayWith(t, "telegram:2", "/import 1", "list.txt", []byte("98111 11111\n98222 22222\n98333 33333\n"))
	if _, err := f.db.CreateSavedMessage(ctx, "agree", "text", "Hello", 0, "t"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "telegram:2", "/campaign set 1 message=agree interval=5s")
	if reply := f.say(t, "telegram:2", "/campaign start 1"); reply != "Campaign #1 is running." {
		t.Fatalf("start: %q", reply)
	}
	d := campaign.NewDispatcher(f.db, campaign.DispatcherConfig{Tick: time.Nanosecond, Now: f.clock.Now}, nil)
	if n, err := d.Once(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch: %d, %v", n, err)
	}
	sent := f.sendAll(t)
	f.receipt(t, sent[0].ID, store.StatusRead)
	f.clock.Advance(5 * time.Second)
	if n, err := d.Once(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch: %d, %v", n, err)
	}
	if reply := f.say(t, "telegram:2", "/campaign stats 1"); !strings.Contains(reply, "Contacts 3 · Pending 1") ||
		!strings.Contains(reply, "Queued 1 · Sending 0 · Sent 1 (delivered 1 · read 1) · Failed 0 · Cancelled 0") {
		t.Fatalf("stats while running: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign cancel 1"); reply != "Campaign #1 is cancelled." {
		t.Fatalf("cancel: %q", reply)
	}
	stats := f.say(t, "telegram:2", "/campaign stats 1")
	if !strings.Contains(stats, "Contacts 3 · Pending 0") || !strings.Contains(stats, "Queued 0 · Sending 0 · Sent 1 (delivered 1 · read 1) · Failed 0 · Cancelled 2") {
		t.Errorf("stats after cancel: %q", stats)
	}
	if show := f.say(t, "telegram:2", "/campaign 1"); !strings.Contains(show, "Contacts: 3 · Pending 0 · Sent 1 · Failed 0 · Cancelled 2") {
		t.Errorf("show after cancel: %q", show)
	}
	if list := f.say(t, "telegram:2", "/campaigns"); !strings.Contains(list, "#1 Agree · cancelled · 1/3 sent") {
		t.Errorf("/campaigns: %q", list)
	}
	statuses := resultColumn(t, f, 1, "C")
	if strings.Join(statuses, ",") != "read,cancelled,cancelled" {
		t.Errorf("results statuses %q, want read,cancelled,cancelled", statuses)
	}

	// A paused campaign that is deleted will send no more either.
	f.say(t, "telegram:2", "/campaign new Dropped")
	f.sayWith(t, "telegram:2", "/import 2", "list.txt", []byte("98444 44444\n"))
	if reply := f.say(t, "telegram:2", "/campaign delete 2"); !strings.Contains(reply, "deleted") {
		t.Fatalf("delete: %q", reply)
	}
	if stats := f.say(t, "telegram:2", "/campaign stats 2"); !strings.Contains(stats, "Pending 0") || !strings.Contains(stats, "Cancelled 1") {
		t.Errorf("stats of a deleted draft: %q", stats)
	}
}

// resultColumn returns one column of a campaign's results file, header
// left out.
func resultColumn(t *testing.T, f *fixture, id int, col string) []string {
	t.Helper()
	replies := f.sayWith(t, "telegram:2", fmt.Sprintf("/campaign results %d", id), "", nil)
	if len(replies) != 1 || replies[0].File == nil {
		t.Fatalf("results: %+v", replies)
	}
	x, err := excelize.OpenReader(bytes.NewReader(replies[0].File.Data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	cols, err := x.GetCols("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	n := int(col[0] - 'A')
	return cols[n][1:]
}

// TestTimesNameTheirZone: replies and the results file show times in the
// campaign.timezone zone, named.
func TestTimesNameTheirZone(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // clock: 27 Nov 2026 09:00 UTC
	ctx := context.Background()
	f.say(t, "telegram:2", "/campaign new Zones")
	f.sayWith(t, "telegram:2", "/import 1", "list.txt", []byte("98111 11111\n98222 22222\n"))
	if _, err := f.db.CreateSavedMessage(ctx, "zones", "text", "Hello", 0, "t"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "telegram:2", "/campaign set 1 message=zones interval=5s")
	if reply := f.say(t, "telegram:2", "/campaign schedule 1 2026-12-01 10:00"); reply != "Campaign #1 starts 1 Dec 2026 10:00 IST." {
		t.Errorf("schedule: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign 1"); !strings.Contains(reply, "Starts: 1 Dec 2026 10:00 IST") {
		t.Errorf("show: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign schedule 1 2026-11-27 14:00"); !strings.Contains(reply, "27 Nov 2026 14:00 IST is in the past") {
		t.Errorf("schedule in the past: %q", reply)
	}
	if err := f.db.BlockGateway(ctx, "dryrun", "the provider refuses this sender"); err != nil {
		t.Fatal(err)
	}
	if reply := f.say(t, "telegram:2", "/gateway"); !strings.Contains(reply, "paused since 27 Nov 2026 14:30 IST") {
		t.Errorf("/gateway: %q", reply)
	}
	if err := f.db.UnblockGateway(ctx, "dryrun"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "telegram:2", "/campaign start 1")
	d := campaign.NewDispatcher(f.db, campaign.DispatcherConfig{Tick: time.Nanosecond, Now: f.clock.Now}, nil)
	if n, err := d.Once(ctx); err != nil || n != 1 {
		t.Fatalf("dispatch: %d, %v", n, err)
	}
	f.sendAll(t)
	if got := resultColumn(t, f, 1, "F"); got[0] != "2026-11-27 14:30:00" {
		t.Errorf("sent at %q, want 14:30 IST", got)
	}
	if header := resultHeader(t, f, 1); !strings.Contains(header, "Sent at (IST)|Delivered at (IST)") {
		t.Errorf("header %q", header)
	}

	// Another display zone is used everywhere at once.
	if reply := f.say(t, "telegram:3", "/set campaign.timezone Europe/London"); !strings.Contains(reply, "Europe/London") {
		t.Fatalf("set zone: %q", reply)
	}
	if got := resultColumn(t, f, 1, "F"); got[0] != "2026-11-27 09:00:00" {
		t.Errorf("sent at %q, want 09:00 London", got)
	}
	if header := resultHeader(t, f, 1); !strings.Contains(header, "Sent at (Europe/London)") {
		t.Errorf("header %q", header)
	}
	f.say(t, "telegram:2", "/campaign new Later")
	f.sayWith(t, "telegram:2", "/import 2", "list.txt", []byte("98333 33333\n"))
	f.say(t, "telegram:2", "/campaign set 2 message=zones")
	if reply := f.say(t, "telegram:2", "/campaign schedule 2 2026-12-01 10:00"); reply != "Campaign #2 starts 1 Dec 2026 10:00 GMT." {
		t.Errorf("schedule in London: %q", reply)
	}
	// No reply shows a time without its zone.
	bare := regexp.MustCompile(`\d\d:\d\d(:\d\d)?(\s|$|[.,)])`)
	for _, text := range []string{"/campaign 2", "/gateway", "/status", "/campaign stats 1"} {
		if reply := f.say(t, "telegram:2", text); bare.MatchString(reply) && !regexp.MustCompile(`\d\d:\d\d (GMT|IST|UTC)`).MatchString(reply) {
			t.Errorf("%s shows a time without its zone: %q", text, reply)
		}
	}
}

func resultHeader(t *testing.T, f *fixture, id int) string {
	t.Helper()
	replies := f.sayWith(t, "telegram:2", fmt.Sprintf("/campaign results %d", id), "", nil)
	x, err := excelize.OpenReader(bytes.NewReader(replies[0].File.Data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(rows[0], "|")
}

// TestCountsAreWorded: a count of one is singular, state refusals are
// worded from the operator's side, and an interval too long says so.
func TestCountsAreWorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.say(t, "telegram:1", "9876543210")
	id := f.items(t)[0].ID
	claimed, err := f.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "t", Token: "tok"})
	if err != nil || len(claimed) != 1 {
		t.Fatal(err)
	}
	if _, err := f.db.CompleteQueueItems(ctx, []store.Outcome{{ID: id, Token: "tok", Status: store.StatusFailed, Error: "not on WhatsApp", ErrorClass: "permanent", Event: "failed"}}); err != nil {
		t.Fatal(err)
	}
	if reply := f.say(t, "telegram:2", "/failed"); !strings.Contains(reply, "· 1 attempt ·") {
		t.Errorf("/failed: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/recent"); !strings.Contains(reply, "· 1 attempt ·") {
		t.Errorf("/recent: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/queue 24h"); !strings.HasPrefix(reply, "Last 24h: 1 message\n") {
		t.Errorf("/queue: %q", reply)
	}
	f.say(t, "telegram:3", "/operator remove telegram:1")
	f.say(t, "telegram:3", "/operator remove telegram:2")
	if reply := f.say(t, "telegram:3", "/operators"); !strings.HasPrefix(reply, "1 person may use the bot:") {
		t.Errorf("/operators: %q", reply)
	}

	f.say(t, "telegram:3", "/campaign new One")
	f.sayWith(t, "telegram:3", "/import 1", "list.txt", []byte("98111 11111\n"))
	f.say(t, "telegram:3", "/campaign new Two")
	if reply := f.say(t, "telegram:3", "/campaign copy 1 2"); reply != "Copied 1 contact from #1 to #2 (0 already there, 0 opted out)." {
		t.Errorf("copy: %q", reply)
	}
	if replies := f.sayWith(t, "telegram:3", "/campaign results 1", "", nil); replies[0].Text != "Results of campaign #1 (1 contact)." {
		t.Errorf("results: %q", replies[0].Text)
	}
	for _, tc := range []struct{ text, want string }{
		{"/campaign set 1 interval=100000h", "interval=100000h is too long: the longest allowed is 24h between two messages."},
		{"/campaign set 1 interval=25h", "interval=25h is too long: the longest allowed is 24h between two messages."},
		{"/campaign set 1 interval=99999999999h", "interval=99999999999h is too long: the longest allowed is 24h between two messages."},
		{"/campaign set 1 interval=9999999999h30m", "interval=9999999999h30m is too long: the longest allowed is 24h between two messages."},
		{"/campaign set 1 interval=soon", "interval=soon is not a duration such as 5s, 2m or 1h."},
		{"/campaign pause 1", "Campaign #1 has not started yet, so there is nothing to pause."},
		{"/campaign resume 1", "Campaign #1 has not started yet; start it with /campaign start 1."},
		{"/campaign set 1 interval=90m gateway=dryrun", "Campaign #1: set interval=90m gateway=dryrun."},
		{"/campaign 1", "Interval: 1h30m"},
	} {
		if reply := f.say(t, "telegram:3", tc.text); !strings.Contains(reply, tc.want) {
			t.Errorf("%s: %q, want %q", tc.text, reply, tc.want)
		}
	}
	if _, err := f.db.CreateSavedMessage(ctx, "one", "text", "Hello", 0, "t"); err != nil {
		t.Fatal(err)
	}
	f.say(t, "telegram:3", "/campaign set 1 message=one interval=5s")
	f.say(t, "telegram:3", "/campaign start 1")
	f.say(t, "telegram:3", "/campaign pause 1")
	for text, want := range map[string]string{
		"/campaign pause 1":                     "Campaign #1 is already paused.",
		"/campaign start 1":                     "Campaign #1 has already started and is paused; continue it with /campaign resume 1.",
		"/campaign schedule 1 2026-12-01 10:00": "Campaign #1 has already started and is paused; continue it with /campaign resume 1.",
	} {
		if reply := f.say(t, "telegram:3", text); reply != want {
			t.Errorf("%s: %q, want %q", text, reply, want)
		}
	}
	f.say(t, "telegram:3", "/campaign cancel 1")
	if reply := f.say(t, "telegram:3", "/campaign pause 1"); reply != "Campaign #1 was cancelled, so there is nothing to pause." {
		t.Errorf("pause a cancelled campaign: %q", reply)
	}
}
