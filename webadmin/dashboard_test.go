package webadmin_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/store"
)

// TestDashboardCountsAsTheChatDoes: the queue table counts a read message
// as sent, delivered and read, like /queue and /status do, not as "sent 0
// … read 1".
func TestDashboardCountsAsTheChatDoes(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()
	_, err := s.db.EnqueueQueueItems(ctx, []store.NewQueueItem{
		{Phone: "+919876543210", Content: store.QueueContent{Kind: store.ContentText, Body: "a"}, MaxAttempts: 3},
		{Phone: "+919876543211", Content: store.QueueContent{Kind: store.ContentText, Body: "b"}, MaxAttempts: 3},
		{Phone: "+919876543212", Content: store.QueueContent{Kind: store.ContentText, Body: "c"}, MaxAttempts: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := s.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 2, Owner: "t", Token: "tok"})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	var outs []store.Outcome
	for _, it := range claimed {
		outs = append(outs, store.Outcome{ID: it.ID, Token: "tok", Status: store.StatusSent, Gateway: "dryrun", ProviderMessageID: fmt.Sprintf("p%d", it.ID), Event: "sent"})
	}
	if _, err := s.db.CompleteQueueItems(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.db.ApplyReceipt(ctx, store.Receipt{Gateway: "dryrun", ProviderMessageID: fmt.Sprintf("p%d", claimed[0].ID), Status: store.StatusRead}); err != nil || !ok {
		t.Fatalf("receipt: %v, %v", ok, err)
	}
	code, body := s.get(t, s.signedIn(t), "/admin/")
	if code != http.StatusOK {
		t.Fatalf("dashboard: %d", code)
	}
	head := regexp.MustCompile(`<th>Window</th>((?:<th class="num">[a-z ]+</th>)+)`).FindStringSubmatch(body)
	if head == nil || regexp.MustCompile(`<[^>]+>`).ReplaceAllString(strings.ReplaceAll(head[1], "</th>", " "), "") != "queued sending sent delivered read failed cancelled opted out " {
		t.Fatalf("queue table header: %q", head)
	}
	row := regexp.MustCompile(`<tr><th>all</th>((?:<td class="num">\d+</td>)+)</tr>`).FindStringSubmatch(body)
	if row == nil {
		t.Fatalf("no all-time row in:\n%s", body)
	}
	cells := regexp.MustCompile(`\d+`).FindAllString(row[1], -1)
	if got := strings.Join(cells, " "); got != "1 0 2 1 1 0 0 0" {
		t.Errorf("all-time row %q, want queued 1, sending 0, sent 2 (delivered 1, read 1), failed 0, cancelled 0, opted out 0", got)
	}
}
