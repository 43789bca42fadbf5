package ops_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// metaAndWhapi are meta (templates and all) and whapi (text and media
// only).
func metaAndWhapi() []ops.Gateway {
	return []ops.Gateway{
		{Name: "meta", Caps: allCaps},
		{Name: "whapi", Caps: queue.Capabilities{Text: true, Media: true}},
	}
}

// TestScheduledCampaignNotReadyAtItsTime is the acceptance at the
// operations layer, on both dialects: a template campaign scheduled under
// meta; switching to whapi is refused listing it, and forced with !; at its
// time the scheduler does not start it: it is paused with the reason and
// the operator who scheduled it gets a staff notice. Resuming runs the same
// check (refused while whapi is active); back on meta, resume queues every
// contact as a template from the resume on.
func TestScheduledCampaignNotReadyAtItsTime(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			// The store's and the dispatcher's clock; the operations
			// read the real one, which schedules an hour ahead.
			clock := storetest.NewClock(time.Now())
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			svc, _ := newService(t, db, metaAndWhapi(), nil)
			if _, err := db.PutOperator(ctx, operator.Identity, store.RoleOperator, "Asha", "test"); err != nil {
				t.Fatal(err)
			}
			dispatcher := campaign.NewDispatcher(db, campaign.DispatcherConfig{Tick: time.Minute, Now: clock.Now, Ready: svc.CampaignReadiness}, nil)

			c := newCampaign(t, svc, "Diwali")
			importCSV(t, svc, c.ID, csvContacts("Name,Mobile", "Asha,9876543201", "Ravi,9876543202"))
			if _, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "diwali_offer", Language: "en", Params: []string{"{name}"}}}); err != nil {
				t.Fatal(err)
			}
			at := clock.Now().Add(time.Hour)
			if _, err := svc.ScheduleCampaign(ctx, operator, c.ID, at); err != nil {
				t.Fatal(err)
			}

			// The switch names the campaign and asks for !.
			err := svc.UseGateway(ctx, admin, "whapi", false)
			wantCode(t, err, ops.ECONFLICT, fmt.Sprintf("#%d Diwali (scheduled)", c.ID), "template", "/gateway use! whapi")
			if got := svc.ActiveGateway(ctx); got != "meta" {
				t.Fatalf("a refused switch made %s active", got)
			}
			if err := svc.UseGateway(ctx, admin, "whapi", true); err != nil {
				t.Fatalf("forced switch: %v", err)
			}

			// Before its time nothing happens.
			if n, err := dispatcher.Once(ctx); err != nil || n != 0 {
				t.Fatalf("dispatch before its time: %d, %v", n, err)
			}
			clock.Advance(time.Hour)
			if n, err := dispatcher.Once(ctx); err != nil || n != 0 {
				t.Fatalf("dispatch at its time queued %d (%v), want none", n, err)
			}
			got, err := svc.Campaign(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != ops.CampaignPaused || !got.StartedAt.IsZero() || got.PausedAt.IsZero() {
				t.Fatalf("at its time the campaign is %s (started %v, paused %v), want paused, never started", got.Status, got.StartedAt, got.PausedAt)
			}
			for _, want := range []string{"did not start at its scheduled time", "whapi", "template"} {
				if !strings.Contains(got.PauseReason, want) {
					t.Fatalf("pause reason %q lacks %q", got.PauseReason, want)
				}
			}
			if st, err := svc.CampaignStats(ctx, c.ID); err != nil || st.Pending != 2 || st.Failed != 0 || st.Sent != 0 {
				t.Fatalf("stats after the refused start: %+v, %v", st, err)
			}
			// Passes after that change nothing and tell nobody again.
			if n, err := dispatcher.Once(ctx); err != nil || n != 0 {
				t.Fatalf("a later pass queued %d, %v", n, err)
			}

			// The one who scheduled it is told, once.
			ns, err := db.CampaignNotices(ctx, c.ID)
			if err != nil || len(ns) != 1 || ns[0].Recipient != operator.Identity || ns[0].State != store.NoticePending {
				t.Fatalf("campaign notices: %+v, %v", ns, err)
			}
			claimed, err := svc.ClaimFailureNotices(ctx, []string{"telegram"}, 10, "tok")
			if err != nil || len(claimed) != 1 || claimed[0].Campaign == nil || claimed[0].Campaign.ID != c.ID || claimed[0].Role != ops.RoleOperator {
				t.Fatalf("claimed notices: %+v, %v", claimed, err)
			}
			svc.FinishFailureNotice(ctx, claimed[0], nil)

			// Resuming runs the same check.
			_, err = svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionResume)
			wantCode(t, err, ops.ECONFLICT, "whapi", "template")
			_, err = svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart)
			wantCode(t, err, ops.ECONFLICT, "whapi", "template")

			// Back on meta, resume sends it: every contact, a template,
			// from now on.
			if err := svc.UseGateway(ctx, admin, "meta", false); err != nil {
				t.Fatal(err)
			}
			clock.Advance(10 * time.Minute)
			resumed, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionResume)
			if err != nil {
				t.Fatalf("resume on meta: %v", err)
			}
			if resumed.Status != ops.CampaignRunning || resumed.PauseReason != "" || !resumed.StartedAt.Equal(clock.Now().Truncate(time.Microsecond)) {
				t.Fatalf("resumed: %s, reason %q, started %v (now %v)", resumed.Status, resumed.PauseReason, resumed.StartedAt, clock.Now())
			}
			if n, err := dispatcher.Once(ctx); err != nil || n != 2 {
				t.Fatalf("dispatch after resume queued %d, %v; want 2", n, err)
			}
			items, err := db.RecentQueueItems(ctx, store.RecentFilter{Limit: 10})
			if err != nil || len(items) != 2 {
				t.Fatalf("queued: %+v, %v", items, err)
			}
			for _, it := range items {
				if it.CampaignID != c.ID || it.Content.Kind != store.ContentTemplate || it.Content.TemplateName != "diwali_offer" ||
					it.NextAttemptAt.Before(clock.Now().Truncate(time.Microsecond)) {
					t.Fatalf("item %+v: want the campaign's template, not before the resume (%v)", it, clock.Now())
				}
			}
			if n := sendAll(t, db); n != 2 {
				t.Fatalf("sent %d, want 2", n)
			}
			dispatcher.Once(ctx)
			if got, _ := svc.Campaign(ctx, c.ID); got.Status != ops.CampaignCompleted {
				t.Fatalf("after sending, the campaign is %s", got.Status)
			}
		})
	}
}

// TestGatewaySwitchListsStrandedCampaigns: the switch asks the content and
// interval part of the readiness check of the running and scheduled
// campaigns that follow the active gateway; campaigns with their own
// gateway, drafts, and ones the new gateway can carry are not listed.
func TestGatewaySwitchListsStrandedCampaigns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, []ops.Gateway{
		{Name: "meta", Caps: allCaps},
		{Name: "slow", Caps: allCaps, MinInterval: 5 * time.Second},
		{Name: "whapi", Caps: queue.Capabilities{Text: true, Media: true}},
	}, nil)
	msg := textMessage(t, db, "hello", "Hello!")
	mk := func(name string, ch ops.CampaignChange) ops.Campaign {
		t.Helper()
		c := newCampaign(t, svc, name)
		importCSV(t, svc, c.ID, csvContacts("Name,Mobile", "Asha,9876543201"))
		if _, err := svc.SetCampaign(ctx, operator, c.ID, ch); err != nil {
			t.Fatal(err)
		}
		return c
	}
	fast := mk("Fast text", ops.CampaignChange{SavedMessage: &msg, Interval: ptr(time.Second)})
	if _, err := svc.ChangeCampaign(ctx, operator, fast.ID, ops.ActionStart); err != nil {
		t.Fatal(err)
	}
	flow := mk("Flow", ops.CampaignChange{Flow: ptr("flow-1")})
	if _, err := svc.ScheduleCampaign(ctx, operator, flow.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	own := mk("Pinned", ops.CampaignChange{Flow: ptr("flow-2"), Gateway: ptr("meta")})
	if _, err := svc.ChangeCampaign(ctx, operator, own.ID, ops.ActionStart); err != nil {
		t.Fatal(err)
	}
	mk("Draft", ops.CampaignChange{Flow: ptr("flow-3")})

	err := svc.UseGateway(ctx, admin, "whapi", false)
	wantCode(t, err, ops.ECONFLICT, "1 campaign following", fmt.Sprintf("#%d Flow (scheduled)", flow.ID), "flow", "/gateway use! whapi")
	noPhrase(t, err, "Fast text")
	noPhrase(t, err, "Pinned")
	noPhrase(t, err, "Draft")
	err = svc.UseGateway(ctx, admin, "slow", false)
	wantCode(t, err, ops.ECONFLICT, "2 campaigns", fmt.Sprintf("#%d Fast text (running): it sends every 1s", fast.ID), fmt.Sprintf("#%d Flow (scheduled)", flow.ID), "pacing of 5s", "/gateway use! slow")
	if got := svc.ActiveGateway(ctx); got != "meta" {
		t.Fatalf("refused switches left %s active", got)
	}
	sw, err := svc.SwitchGateway(ctx, admin, "slow", true)
	if err != nil {
		t.Fatalf("forced: %v", err)
	}
	if got := svc.ActiveGateway(ctx); got != "slow" || sw.Active != "slow" {
		t.Fatalf("forced switch: %s active", got)
	}
	// The running campaign slow cannot carry is paused with the reason,
	// its contacts kept, rather than sent faster than slow allows; the
	// pinned one runs on, the scheduled one waits for its time.
	if len(sw.Paused) != 1 || sw.Paused[0].Campaign.ID != fast.ID {
		t.Fatalf("the forced switch paused %+v, want only #%d", sw.Paused, fast.ID)
	}
	got, err := svc.Campaign(ctx, fast.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.CampaignPaused || !strings.Contains(got.PauseReason, "switched to slow") || !strings.Contains(got.PauseReason, "every 1s") {
		t.Fatalf("the stranded campaign is %s (%q), want paused with the reason", got.Status, got.PauseReason)
	}
	for id, want := range map[int64]string{own.ID: store.CampaignRunning, flow.ID: store.CampaignScheduled} {
		if c, err := svc.Campaign(ctx, id); err != nil || c.Status != want {
			t.Fatalf("campaign #%d after the forced switch: %s %v, want %s", id, c.Status, err, want)
		}
	}
	// Resuming runs the readiness check: refused until it fits.
	_, err = svc.ChangeCampaign(ctx, operator, fast.ID, ops.ActionResume)
	wantCode(t, err, ops.ECONFLICT, "pacing of 5s")
	if _, err := svc.SetCampaign(ctx, operator, fast.ID, ops.CampaignChange{Interval: ptr(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if c, err := svc.ChangeCampaign(ctx, operator, fast.ID, ops.ActionResume); err != nil || c.Status != store.CampaignRunning {
		t.Fatalf("resume once fixed: %s %v", c.Status, err)
	}
}
