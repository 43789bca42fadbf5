package ops_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

func ptr[T any](v T) *T { return &v }

func textAndMediaGateways() []ops.Gateway {
	return []ops.Gateway{
		{Name: "dryrun", Caps: allCaps},
		{Name: "whapi", Caps: queue.Capabilities{Text: true, Media: true}},
		{Name: "slow", Caps: allCaps, MinInterval: 5 * time.Second},
	}
}

// dispatch runs one dispatcher pass that queues every slot due within an
// hour.
func dispatch(t testing.TB, db *store.DB) int {
	t.Helper()
	n, err := campaign.NewDispatcher(db, campaign.DispatcherConfig{Tick: time.Hour}, nil).Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// completedCampaign runs a campaign with contacts through the dispatcher
// until it completes: started, its items queued and sent, then completed by
// the next pass.
func completedCampaign(t testing.TB, db *store.DB, svc *ops.Service) ops.Campaign {
	t.Helper()
	ctx := context.Background()
	c := newCampaign(t, svc, "Done")
	importCSV(t, svc, c.ID, csvContacts("Name,Mobile", "Asha,9876543201", "Ravi,9876543202"))
	msg := textMessage(t, db, "thanks", "Thanks!")
	if _, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{SavedMessage: &msg}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart); err != nil {
		t.Fatal(err)
	}
	if n := dispatch(t, db); n != 2 {
		t.Fatalf("dispatch queued %d, want 2", n)
	}
	if n := sendAll(t, db); n != 2 {
		t.Fatalf("sent %d, want 2", n)
	}
	dispatch(t, db)
	c, err := svc.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != ops.CampaignCompleted || c.CompletedAt.IsZero() {
		t.Fatalf("campaign is %s, want completed", c.Status)
	}
	return c
}

// TestCampaignContentFitsGateway: content the campaign's gateway cannot
// send is refused when set, and at start when the gateway changed after.
func TestCampaignContentFitsGateway(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, textAndMediaGateways(), nil)
	ctx := context.Background()

	c := newCampaign(t, svc, "On whapi")
	importCSV(t, svc, c.ID, csvContacts("Name,Mobile", "Asha,9876543201"))
	if _, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Gateway: ptr("whapi")}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Flow: ptr("flow-1")})
	wantCode(t, err, ops.ECONFLICT, "whapi", "flow")
	_, err = svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "order_update", Language: "en"}})
	wantCode(t, err, ops.ECONFLICT, "whapi", "template")
	// Gateway and content in one change are checked together.
	other := newCampaign(t, svc, "Switching")
	_, err = svc.SetCampaign(ctx, operator, other.ID, ops.CampaignChange{Gateway: ptr("whapi"), Flow: ptr("flow-1")})
	wantCode(t, err, ops.ECONFLICT, "whapi")
	for _, id := range []int64{c.ID, other.ID} {
		got, err := svc.Campaign(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Content.Kind != "" {
			t.Fatalf("campaign #%d got content %+v from a refused change", id, got.Content)
		}
	}
	// Text fits.
	msg := textMessage(t, db, "hello", "Hello!")
	if _, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{SavedMessage: &msg}); err != nil {
		t.Fatalf("text on whapi: %v", err)
	}

	// A flow campaign on the active gateway, which then becomes one
	// without flows, is refused at start.
	f := newCampaign(t, svc, "Flow")
	importCSV(t, svc, f.ID, csvContacts("Name,Mobile", "Asha,9876543201"))
	if _, err := svc.SetCampaign(ctx, operator, f.ID, ops.CampaignChange{Flow: ptr("flow-9")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.UseGateway(ctx, admin, "whapi", false); err != nil {
		t.Fatal(err)
	}
	_, err = svc.ChangeCampaign(ctx, operator, f.ID, ops.ActionStart)
	wantCode(t, err, ops.ECONFLICT, "whapi", "flow")
	_, err = svc.ScheduleCampaign(ctx, operator, f.ID, time.Now().Add(time.Hour))
	wantCode(t, err, ops.ECONFLICT, "whapi")
	if got, _ := svc.Campaign(ctx, f.ID); got.Status != ops.CampaignDraft {
		t.Fatalf("refused start left the campaign %s", got.Status)
	}
	// Pinned to a gateway with flows, it starts.
	if _, err := svc.SetCampaign(ctx, operator, f.ID, ops.CampaignChange{Gateway: ptr("dryrun")}); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.ChangeCampaign(ctx, operator, f.ID, ops.ActionStart); err != nil || got.Status != ops.CampaignRunning {
		t.Fatalf("start on dryrun: %+v %v", got, err)
	}

	_, err = svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Gateway: ptr("nosuch")})
	wantCode(t, err, ops.EINVALID)
	_, err = svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Flow: ptr("f"), SavedMessage: &msg})
	wantCode(t, err, ops.EINVALID)
	_, err = svc.SetCampaign(ctx, staff, c.ID, ops.CampaignChange{SavedMessage: &msg})
	wantCode(t, err, ops.EFORBIDDEN)
	_, err = svc.SetCampaign(ctx, operator, 9999, ops.CampaignChange{SavedMessage: &msg})
	wantCode(t, err, ops.ENOTFOUND)
}

// TestTemplateParamsFitContacts: "{Column}" parameters must name a column
// every contact has, checked when set (contacts present) and at start
// (contacts imported after); "{name}" always fits.
func TestTemplateParamsFitContacts(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, nil)
	ctx := context.Background()
	tmpl := func(params ...string) ops.CampaignChange {
		return ops.CampaignChange{Template: &ops.Template{Name: "order_update", Language: "en", Params: params}}
	}
	storeList := csvContacts("Name,Mobile,Store", "Asha,9876543201,Andheri", "Ravi,9876543202,Bandra")

	// Contacts first: the check runs when the template is set.
	a := newCampaign(t, svc, "Stores")
	importCSV(t, svc, a.ID, storeList)
	_, err := svc.SetCampaign(ctx, operator, a.ID, tmpl("{name}", "{City}"))
	wantCode(t, err, ops.ECONFLICT, `"City"`, "Store")
	if got, _ := svc.Campaign(ctx, a.ID); got.Content.Kind != "" {
		t.Fatalf("refused template was stored: %+v", got.Content)
	}
	got, err := svc.SetCampaign(ctx, operator, a.ID, tmpl("{name}", "{store}", "literal"))
	if err != nil {
		t.Fatalf("{name} and {store}: %v", err)
	}
	if got.Content.Kind != store.ContentTemplate || !slices.Equal(got.Content.TemplateParams, []string{"{name}", "{store}", "literal"}) {
		t.Fatalf("stored content %+v", got.Content)
	}
	if _, err := svc.ChangeCampaign(ctx, operator, a.ID, ops.ActionStart); err != nil {
		t.Fatalf("start: %v", err)
	}

	// Template first, contacts after: the check runs at start.
	b := newCampaign(t, svc, "Cities")
	if _, err := svc.SetCampaign(ctx, operator, b.ID, tmpl("{City}")); err != nil {
		t.Fatalf("template without contacts: %v", err)
	}
	importCSV(t, svc, b.ID, storeList)
	_, err = svc.ChangeCampaign(ctx, operator, b.ID, ops.ActionStart)
	wantCode(t, err, ops.ECONFLICT, `"City"`)
	if got, _ := svc.Campaign(ctx, b.ID); got.Status != ops.CampaignDraft {
		t.Fatalf("refused start left #%d %s", b.ID, got.Status)
	}

	// Some contacts lack the column: refused, saying how many.
	p := newCampaign(t, svc, "Partly")
	importCSV(t, svc, p.ID, csvContacts("Name,Mobile,City", "Asha,9876543201,Pune", "Ravi,9876543202,"))
	_, err = svc.SetCampaign(ctx, operator, p.ID, tmpl("{City}"))
	wantCode(t, err, ops.ECONFLICT, "1 of 2")

	// Every contact has it: accepted, started, and filled per contact.
	c := newCampaign(t, svc, "All cities")
	importCSV(t, svc, c.ID, csvContacts("Name,Mobile,City", "Asha,9876543201,Pune", "Ravi,9876543202,Delhi"))
	if _, err := svc.SetCampaign(ctx, operator, c.ID, tmpl("{name}", "{City}")); err != nil {
		t.Fatalf("every contact has City: %v", err)
	}
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart); err != nil {
		t.Fatalf("start: %v", err)
	}
	dispatch(t, db)
	items, err := db.RecentQueueItems(ctx, store.RecentFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	filled := map[string][]string{}
	for _, it := range items {
		if it.CampaignID == c.ID {
			filled[it.Phone] = it.Content.TemplateParams
		}
	}
	if !slices.Equal(filled["+919876543201"], []string{"Asha", "Pune"}) || !slices.Equal(filled["+919876543202"], []string{"Ravi", "Delhi"}) {
		t.Fatalf("filled parameters %v", filled)
	}
}

// TestCopyContactsIntoFinishedCampaign: contacts cannot be added to a
// completed, cancelled or deleted campaign, by copy or import.
func TestCopyContactsIntoFinishedCampaign(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, nil)
	ctx := context.Background()

	src := newCampaign(t, svc, "Source")
	importCSV(t, svc, src.ID, csvContacts("Name,Mobile", "Meera,9876543211", "Kiran,9876543212", "Dev,9876543213"))

	done := completedCampaign(t, db, svc)
	cancelled := newCampaign(t, svc, "Cancelled")
	importCSV(t, svc, cancelled.ID, csvContacts("Name,Mobile", "Asha,9876543201"))
	if _, err := svc.ChangeCampaign(ctx, operator, cancelled.ID, ops.ActionCancel); err != nil {
		t.Fatal(err)
	}
	deleted := newCampaign(t, svc, "Deleted")
	importCSV(t, svc, deleted.ID, csvContacts("Name,Mobile", "Asha,9876543201"))
	if _, err := svc.ChangeCampaign(ctx, operator, deleted.ID, ops.ActionDelete); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		id    int64
		state string
	}{{done.ID, "completed"}, {cancelled.ID, "cancelled"}, {deleted.ID, "deleted"}} {
		before := contactCount(t, db, tc.id)
		res, err := svc.CopyContacts(ctx, operator, src.ID, tc.id)
		wantCode(t, err, ops.ECONFLICT, tc.state)
		if res != (ops.CopyResult{}) {
			t.Fatalf("refused copy reported %+v", res)
		}
		list := csvContacts("Name,Mobile", "Zed,9876543299")
		_, err = svc.ImportContacts(ctx, operator, tc.id, "more.csv", strings.NewReader(list), int64(len(list)), "")
		wantCode(t, err, ops.ECONFLICT, tc.state)
		if after := contactCount(t, db, tc.id); after != before {
			t.Fatalf("%s campaign went from %d to %d contacts", tc.state, before, after)
		}
	}

	// A draft takes them; copying again adds nothing new.
	dst := newCampaign(t, svc, "Next")
	res, err := svc.CopyContacts(ctx, operator, src.ID, dst.ID)
	if err != nil || res.Added != 3 {
		t.Fatalf("copy into a draft: %+v %v", res, err)
	}
	res, err = svc.CopyContacts(ctx, operator, src.ID, dst.ID)
	if err != nil || res.Added != 0 || res.Duplicates != 3 {
		t.Fatalf("second copy: %+v %v", res, err)
	}
	// The copy's source may be over: a completed campaign's contacts
	// are how a new campaign reaches the same people.
	if res, err := svc.CopyContacts(ctx, operator, done.ID, dst.ID); err != nil || res.Added != 2 {
		t.Fatalf("copy from the completed campaign: %+v %v", res, err)
	}
	_, err = svc.CopyContacts(ctx, operator, dst.ID, dst.ID)
	wantCode(t, err, ops.EINVALID)
	_, err = svc.CopyContacts(ctx, operator, 9999, dst.ID)
	wantCode(t, err, ops.ENOTFOUND)
}

// TestDeletedCampaignKeepsResults: a deleted campaign leaves the list, its
// results stay readable, and every further action is refused saying it was
// deleted.
func TestDeletedCampaignKeepsResults(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, nil)
	ctx := context.Background()

	keep := newCampaign(t, svc, "Kept")
	c := newCampaign(t, svc, "Gone")
	importCSV(t, svc, c.ID, csvContacts("Name,Mobile", "Asha,9876543201", "Ravi,9876543202"))
	if _, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Flow: ptr("flow-1"), Interval: ptr(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart); err != nil {
		t.Fatal(err)
	}
	if n := dispatch(t, db); n != 2 {
		t.Fatalf("dispatch queued %d, want 2 (an hour's slots at 1h: now and in an hour)", n)
	}
	if n := sendAll(t, db); n != 1 {
		t.Fatalf("sent %d, want the 1 due now", n)
	}
	_, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionDelete)
	wantCode(t, err, ops.ECONFLICT, "pause or cancel")
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionPause); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionDelete); err != nil {
		t.Fatal(err)
	}

	got, err := svc.Campaign(ctx, c.ID)
	if err != nil || got.DeletedAt.IsZero() {
		t.Fatalf("deleted campaign: %+v %v", got, err)
	}
	gc, rows, err := svc.CampaignResults(ctx, c.ID)
	if err != nil || gc.ID != c.ID || len(rows) != 2 {
		t.Fatalf("results of the deleted campaign: %d rows, %v", len(rows), err)
	}
	sent := 0
	for _, r := range rows {
		if r.Status.Valid && r.Status.String == string(store.StatusSent) {
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("results show %d sent, want 1: %+v", sent, rows)
	}
	if st, err := svc.CampaignStats(ctx, c.ID); err != nil || st.Total != 2 {
		t.Fatalf("stats of the deleted campaign: %+v %v", st, err)
	}

	list, err := svc.Campaigns(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if slices.Contains(ids, c.ID) || !slices.Contains(ids, keep.ID) {
		t.Fatalf("campaign list %v: want %d listed and deleted %d not", ids, keep.ID, c.ID)
	}

	for _, a := range []ops.CampaignAction{ops.ActionStart, ops.ActionPause, ops.ActionResume, ops.ActionCancel, ops.ActionDelete} {
		_, err := svc.ChangeCampaign(ctx, operator, c.ID, a)
		wantCode(t, err, ops.ECONFLICT, "deleted")
	}
	_, err = svc.ScheduleCampaign(ctx, operator, c.ID, time.Now().Add(time.Hour))
	wantCode(t, err, ops.ECONFLICT, "deleted")
	_, err = svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Interval: ptr(time.Minute)})
	wantCode(t, err, ops.ECONFLICT, "deleted")
	if got2, _ := svc.Campaign(ctx, c.ID); got2.Status != got.Status || got2.Interval != time.Hour {
		t.Fatalf("a refused action changed the deleted campaign: %+v", got2)
	}
}

// TestCampaignAdvice: refusals say what is actually wrong, and intervals
// are bounded by a day and by the gateway's own pacing.
func TestCampaignAdvice(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, textAndMediaGateways(), nil)
	ctx := context.Background()

	// Contacts but nothing to send.
	c := newCampaign(t, svc, "No content")
	importCSV(t, svc, c.ID, csvContacts("Name,Mobile", "Asha,9876543201"))
	_, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart)
	wantCode(t, err, ops.ECONFLICT, "nothing to send")
	noPhrase(t, err, "no contacts")

	// Something to send but no contacts.
	e := newCampaign(t, svc, "No contacts")
	if _, err := svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Flow: ptr("flow-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.ChangeCampaign(ctx, operator, e.ID, ops.ActionStart)
	wantCode(t, err, ops.ECONFLICT, "no contacts")
	noPhrase(t, err, "nothing to send")

	// Completed: no advice to pause.
	done := completedCampaign(t, db, svc)
	_, err = svc.SetCampaign(ctx, operator, done.ID, ops.CampaignChange{Interval: ptr(time.Second)})
	wantCode(t, err, ops.ECONFLICT, "completed", "new campaign")
	noPhrase(t, err, "pause")
	_, err = svc.ChangeCampaign(ctx, operator, done.ID, ops.ActionResume)
	wantCode(t, err, ops.ECONFLICT, "new campaign")
	noPhrase(t, err, "pause")

	// Running: pause first.
	if _, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Flow: ptr("flow-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart); err != nil {
		t.Fatal(err)
	}
	_, err = svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Interval: ptr(time.Second)})
	wantCode(t, err, ops.ECONFLICT, "pause")
	_, err = svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart)
	wantCode(t, err, ops.ECONFLICT, "already running")
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionPause); err != nil {
		t.Fatal(err)
	}
	_, err = svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionPause)
	wantCode(t, err, ops.ECONFLICT, "already paused")
	got, err := svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Interval: ptr(time.Second)})
	if err != nil || got.Interval != time.Second {
		t.Fatalf("change while paused: %+v %v", got, err)
	}
	_, err = svc.ChangeCampaign(ctx, operator, e.ID, ops.ActionResume)
	wantCode(t, err, ops.ECONFLICT, "has not started yet")

	// Interval bounds.
	_, err = svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Interval: ptr(25 * time.Hour)})
	wantCode(t, err, ops.EINVALID, "too long")
	_, err = svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Interval: ptr(-time.Second)})
	wantCode(t, err, ops.EINVALID)
	if got, err := svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Interval: ptr(24 * time.Hour)}); err != nil || got.Interval != 24*time.Hour {
		t.Fatalf("a day's interval: %+v %v", got, err)
	}
	_, err = svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Gateway: ptr("slow"), Interval: ptr(time.Second)})
	wantCode(t, err, ops.EINVALID, "5s")
	if got, _ := svc.Campaign(ctx, e.ID); got.Gateway != "" || got.Interval != 24*time.Hour {
		t.Fatalf("refused change stored gateway %q interval %s", got.Gateway, got.Interval)
	}
	// Moving a fast campaign to the slow gateway raises its interval.
	if _, err := svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Interval: ptr(time.Duration(0))}); err != nil {
		t.Fatal(err)
	}
	got, err = svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Gateway: ptr("slow")})
	if err != nil || got.Gateway != "slow" || got.Interval != 5*time.Second {
		t.Fatalf("move to slow: %+v %v", got, err)
	}
	_, err = svc.SetCampaign(ctx, operator, e.ID, ops.CampaignChange{Interval: ptr(4 * time.Second)})
	wantCode(t, err, ops.EINVALID, "slow")
}
