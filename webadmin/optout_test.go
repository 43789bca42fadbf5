package webadmin_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
)

// TestDashboardCountsOptedOut: a campaign contact whose number opted out
// shows as opted out in the campaign's figures, not as waiting or sent.
func TestDashboardCountsOptedOut(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := context.Background()
	c, err := s.db.CreateCampaign(ctx, "Stop", "telegram:2")
	if err != nil {
		t.Fatal(err)
	}
	content := store.QueueContent{Kind: store.ContentText, Body: "Hello"}
	interval := time.Second
	if _, err := s.db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
		return campaign.Edit(tx, store.CampaignUpdate{Content: &content, Interval: &interval})
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.db.AddCampaignContacts(ctx, c.ID, []store.NewContact{{Phone: "+919811111111"}, {Phone: "+919822222222"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.AddOptOut(ctx, "+919822222222", "", "telegram:2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
		return campaign.Apply(tx, campaign.Start, time.Time{}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
		_, err := campaign.Dispatch(tx, time.Minute, 3)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	code, body := s.get(t, s.signedIn(t), "/admin/")
	if code != http.StatusOK {
		t.Fatalf("dashboard: %d", code)
	}
	if !regexp.MustCompile(`<td>0 sent of 2, 1 opted out</td>`).MatchString(body) {
		t.Errorf("campaign figures do not show the opted-out contact:\n%s", regexp.MustCompile(`(?s)<h2>Campaigns</h2>.*`).FindString(body))
	}
	// The queue table: one queued, one opted out (not cancelled).
	if row := regexp.MustCompile(`<tr><th>all</th>((?:<td class="num">\d+</td>)+)</tr>`).FindStringSubmatch(body); row == nil ||
		strings.Join(regexp.MustCompile(`\d+`).FindAllString(row[1], -1), " ") != "1 0 0 0 0 0 0 1" {
		t.Errorf("all-time row %q, want queued 1 and opted out 1", row)
	}
}
