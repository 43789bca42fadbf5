package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestStaffNotices runs the staff-notice, held-item release and creator
// queries on every dialect.
func TestStaffNotices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, db *store.DB, clock *storetest.Clock)
	}{
		{"OnlyStaffFailuresGetANotice", testOnlyStaffFailuresGetANotice},
		{"ClaimsAreExclusiveAndLeased", testNoticeClaimsAreExclusiveAndLeased},
		{"FinishAndRetry", testNoticeFinishAndRetry},
		{"DetailIsFitted", testNoticeDetailIsFitted},
		{"UnblockReleasesHeldItems", testUnblockReleasesHeldItems},
		{"GatewayInUse", testGatewayInUse},
		{"RecentByCreator", testRecentByCreator},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range storetest.Dialects() {
				t.Run(string(d), func(t *testing.T) {
					clock := storetest.NewClock(conformanceEpoch)
					tc.fn(t, storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now}), clock)
				})
			}
		})
	}
}

func putOperator(t *testing.T, db *store.DB, identity, role string) {
	t.Helper()
	if _, err := db.PutOperator(context.Background(), identity, role, "", "test"); err != nil {
		t.Fatal(err)
	}
}

func enqueueOne(t *testing.T, db *store.DB, it store.NewQueueItem) int64 {
	t.Helper()
	if it.Phone == "" {
		it.Phone = "+919876543210"
	}
	if it.Content.Kind == "" {
		it.Content = store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}
	}
	if it.MaxAttempts == 0 {
		it.MaxAttempts = 3
	}
	ids, err := db.EnqueueQueueItems(context.Background(), []store.NewQueueItem{it})
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

// finishAll claims every due item and writes the outcome out for each.
func finishAll(t *testing.T, db *store.DB, out store.Outcome) []int64 {
	t.Helper()
	ctx := context.Background()
	items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 100, Owner: "p1", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	outs := make([]store.Outcome, len(items))
	ids := make([]int64, len(items))
	for i, it := range items {
		o := out
		o.ID, o.Token = it.ID, it.LockToken
		outs[i], ids[i] = o, it.ID
	}
	if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
		t.Fatal(err)
	}
	return ids
}

func notices(t *testing.T, db *store.DB, id int64) []store.StaffNotice {
	t.Helper()
	ns, err := db.StaffNotices(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func failed(reason string) store.Outcome {
	return store.Outcome{Status: store.StatusFailed, Error: reason, ErrorClass: "permanent", Event: "failed", Gateway: "meta"}
}

func testOnlyStaffFailuresGetANotice(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	putOperator(t, db, "telegram:42", store.RoleStaff)
	putOperator(t, db, "whatsapp:+919800000001", store.RoleOperator)
	camp, err := db.CreateCampaign(ctx, "Diwali", "telegram:42")
	if err != nil {
		t.Fatal(err)
	}
	staff := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42"})
	op := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "whatsapp:+919800000001", Phone: "+919876543211"})
	campaign := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42", CampaignID: camp.ID, Phone: "+919876543212"})
	web := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "web:admin", Phone: "+919876543213"})
	system := enqueueOne(t, db, store.NewQueueItem{Phone: "+919876543214"})
	stranger := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:999", Phone: "+919876543215"})
	sent := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42", Phone: "+919876543216"})

	// Everything but the last fails; the last is retried (not failed).
	items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 100, Owner: "p1", Token: "tok"})
	if err != nil || len(items) != 7 {
		t.Fatalf("claimed %d, %v", len(items), err)
	}
	var outs []store.Outcome
	for _, it := range items {
		o := failed("permanent (code 131026): undeliverable")
		if it.ID == sent {
			o = store.Outcome{Status: store.StatusQueued, Error: "retry: timeout", ErrorClass: "retry", Event: "retry"}
		}
		o.ID, o.Token = it.ID, it.LockToken
		outs = append(outs, o)
	}
	if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]string{staff: "telegram:42", op: "whatsapp:+919800000001"} {
		ns := notices(t, db, id)
		if len(ns) != 1 || ns[0].Recipient != want || ns[0].State != store.NoticePending || ns[0].FailedAt.IsZero() {
			t.Fatalf("item %d: notices %+v, want one pending for %s", id, ns, want)
		}
	}
	for name, id := range map[string]int64{"campaign": campaign, "web": web, "system": system, "not an operator": stranger, "retried": sent} {
		if ns := notices(t, db, id); len(ns) != 0 {
			t.Fatalf("%s item got notices %+v", name, ns)
		}
	}
	// A failure reported by the provider after the send is told too.
	late := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42", Phone: "+919876543217"})
	clock.Advance(time.Second)
	items, err = db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 100, Owner: "p1", Token: "tok2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		o := store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, NextAttemptAt: clock.Now().Add(time.Hour)}
		if it.ID == late {
			o = store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusSent, ProviderMessageID: "wamid.late", Gateway: "meta"}
		}
		if _, err := db.CompleteQueueItems(ctx, []store.Outcome{o}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a replayed receipt adds nothing
		if _, err := db.ApplyReceipt(ctx, store.Receipt{Gateway: "meta", ProviderMessageID: "wamid.late", Status: store.StatusFailed, Error: "meta: undeliverable (code 131026)"}); err != nil {
			t.Fatal(err)
		}
	}
	if ns := notices(t, db, late); len(ns) != 1 || ns[0].Recipient != "telegram:42" {
		t.Fatalf("receipt failure: notices %+v", ns)
	}
	// Failed again after a retry: a second notice, for the new failure.
	if _, err := db.ResetQueueItem(ctx, staff, "telegram:1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	finishAll(t, db, failed("permanent: again"))
	ns := notices(t, db, staff)
	if len(ns) != 2 || !ns[1].FailedAt.After(ns[0].FailedAt) {
		t.Fatalf("failed twice: notices %+v", ns)
	}
}

func testNoticeClaimsAreExclusiveAndLeased(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	putOperator(t, db, "telegram:42", store.RoleStaff)
	putOperator(t, db, "whatsapp:+919800000001", store.RoleStaff)
	var tg []int64
	for i := range 12 {
		tg = append(tg, enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42", Phone: fmt.Sprintf("+9198765000%02d", i)}))
	}
	wa := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "whatsapp:+919800000001", Phone: "+919876549999"})
	finishAll(t, db, failed("permanent: no"))

	if got, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Token: "x"}); err != nil || len(got) != 0 {
		t.Fatalf("no transports: %v, %v", got, err)
	}
	// Four claimers at once, Telegram only: each notice exactly once.
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			token := fmt.Sprintf("claimer-%d", c)
			got, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Limit: 5, Token: token})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, n := range got {
				if prev, ok := seen[n.ItemID]; ok {
					t.Errorf("item %d claimed by %s and %s", n.ItemID, prev, token)
				}
				seen[n.ItemID] = token
				if n.Token != token || n.Attempts != 1 || n.Recipient != "telegram:42" {
					t.Errorf("claimed notice %+v", n)
				}
			}
		}()
	}
	wg.Wait()
	more, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Limit: 100, Token: "late"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range more {
		seen[n.ItemID] = "late"
	}
	if len(seen) != len(tg) {
		t.Fatalf("claimed %d telegram notices, want %d", len(seen), len(tg))
	}
	if _, ok := seen[wa]; ok {
		t.Fatal("a whatsapp notice was claimed for telegram")
	}
	// While the lease runs nobody else gets them; after it, they come back.
	if got, _ := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Token: "again", Lease: time.Minute}); len(got) != 0 {
		t.Fatalf("claimed during the lease: %+v", got)
	}
	clock.Advance(2*time.Minute + time.Second)
	got, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Limit: 100, Token: "after"})
	if err != nil || len(got) != len(tg) || got[0].Attempts != 2 {
		t.Fatalf("after the lease: %d notices (%v), want %d with 2 attempts", len(got), err, len(tg))
	}
	// The first claimer's token no longer finishes it.
	if ok, err := db.FinishStaffNotice(ctx, got[0].ID, seen[got[0].ItemID], store.NoticeOutcome{State: store.NoticeSent}); err != nil || ok {
		t.Fatalf("finish with an expired claim's token: %v, %v", ok, err)
	}
	// Old pending notices are dropped, not sent.
	clock.Advance(25 * time.Hour)
	got, err = db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram", "whatsapp"}, Token: "stale"})
	if err != nil || len(got) != 0 {
		t.Fatalf("day-old notices claimed: %+v, %v", got, err)
	}
	if ns := notices(t, db, wa); len(ns) != 1 || ns[0].State != store.NoticeDropped {
		t.Fatalf("day-old notice: %+v", ns)
	}
}

func testNoticeFinishAndRetry(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	putOperator(t, db, "telegram:42", store.RoleStaff)
	a := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42"})
	b := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42", Phone: "+919876543219"})
	finishAll(t, db, failed("permanent: no"))
	claim := func(token string) []store.StaffNotice {
		t.Helper()
		got, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := claim("t1")
	if len(got) != 2 {
		t.Fatalf("claimed %+v", got)
	}
	for _, n := range got {
		o := store.NoticeOutcome{State: store.NoticeSent, Detail: "sent"}
		if n.ItemID == b {
			o = store.NoticeOutcome{State: store.NoticePending, RetryAt: clock.Now().Add(30 * time.Second), Detail: "telegram refused: 502"}
		}
		if ok, err := db.FinishStaffNotice(ctx, n.ID, "t1", o); err != nil || !ok {
			t.Fatalf("finish %d: %v, %v", n.ID, ok, err)
		}
		if ok, _ := db.FinishStaffNotice(ctx, n.ID, "t1", o); ok {
			t.Fatalf("notice %d finished twice", n.ID)
		}
	}
	if got := claim("t2"); len(got) != 0 {
		t.Fatalf("claimed before the retry time: %+v", got)
	}
	clock.Advance(31 * time.Second)
	got = claim("t3")
	if len(got) != 1 || got[0].ItemID != b || got[0].Attempts != 2 || got[0].Detail != "telegram refused: 502" {
		t.Fatalf("retry claim: %+v", got)
	}
	if ok, err := db.FinishStaffNotice(ctx, got[0].ID, "t3", store.NoticeOutcome{State: store.NoticeDropped, Detail: "the message was retried"}); err != nil || !ok {
		t.Fatalf("drop: %v, %v", ok, err)
	}
	clock.Advance(time.Hour)
	if got := claim("t4"); len(got) != 0 {
		t.Fatalf("finished notices claimed again: %+v", got)
	}
	if ns := notices(t, db, a); ns[0].State != store.NoticeSent {
		t.Fatalf("sent notice: %+v", ns)
	}
	if ns := notices(t, db, b); ns[0].State != store.NoticeDropped {
		t.Fatalf("dropped notice: %+v", ns)
	}
}

// testNoticeDetailIsFitted: a detail with bytes that are not UTF-8 (which
// MySQL's utf8mb4 refuses) or longer than the column is stored fitted.
func testNoticeDetailIsFitted(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	putOperator(t, db, "telegram:42", store.RoleStaff)
	id := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42"})
	finishAll(t, db, failed("permanent: no"))
	got, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Token: "t1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	detail := "refused: \xff\xfe " + strings.Repeat("é", 300)
	if ok, err := db.FinishStaffNotice(ctx, got[0].ID, "t1", store.NoticeOutcome{State: store.NoticeDropped, Detail: detail}); err != nil || !ok {
		t.Fatalf("finish: %v, %v", ok, err)
	}
	ns := notices(t, db, id)
	d := ns[0].Detail
	if !utf8.ValidString(d) || utf8.RuneCountInString(d) != 255 || !strings.HasPrefix(d, "refused: \uFFFD") || !strings.HasSuffix(d, "…") {
		t.Fatalf("detail %q (%d characters)", d, utf8.RuneCountInString(d))
	}
}

func testUnblockReleasesHeldItems(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	active := enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42"})
	named := enqueueOne(t, db, store.NewQueueItem{Gateway: "meta", Phone: "+919876543211"})
	other := enqueueOne(t, db, store.NewQueueItem{Gateway: "whapi", Phone: "+919876543212"})
	backoff := enqueueOne(t, db, store.NewQueueItem{Phone: "+919876543213"})
	recheck := clock.Now().Add(time.Minute)
	items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "p1", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		o := store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, RefundAttempt: true, NextAttemptAt: recheck,
			Error: "held: gateway meta is paused: sender_blocked (code 190): token expired", ErrorClass: "sender_blocked"}
		if it.ID == backoff {
			o = store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued, NextAttemptAt: recheck, Error: "retry: timeout", ErrorClass: "retry"}
		}
		if _, err := db.CompleteQueueItems(ctx, []store.Outcome{o}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.BlockGateway(ctx, "meta", "sender_blocked (code 190): token expired"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	if err := db.UnblockGateway(ctx, "meta"); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	for id, want := range map[int64]time.Time{active: now, named: now, other: recheck, backoff: recheck} {
		it, err := db.QueueItem(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !it.NextAttemptAt.Equal(want) || it.Status != store.StatusQueued {
			t.Errorf("item %d (gateway %q, %s): next attempt %v, want %v", id, it.Gateway, it.LastErrorClass, it.NextAttemptAt, want)
		}
	}
	states, err := db.GatewayStates(ctx)
	if err != nil || len(states) != 1 || states[0].Blocked {
		t.Fatalf("states after unblock: %+v, %v", states, err)
	}
}

func testGatewayInUse(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	inUse := func(name string) bool {
		t.Helper()
		ok, err := db.GatewayInUse(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if inUse("meta") || inUse("whapi") {
		t.Fatal("in use with nothing queued")
	}
	id := enqueueOne(t, db, store.NewQueueItem{Gateway: "meta"})
	enqueueOne(t, db, store.NewQueueItem{Phone: "+919876543211"}) // follows the active gateway
	if !inUse("meta") || inUse("whapi") {
		t.Fatal("a queued item naming meta")
	}
	if _, err := db.CancelQueueItem(ctx, id, "t"); err != nil {
		t.Fatal(err)
	}
	if inUse("meta") {
		t.Fatal("a cancelled item still counts")
	}
	c, err := db.CreateCampaign(ctx, "Sale", "t")
	if err != nil {
		t.Fatal(err)
	}
	setCampaign := func(status, gateway string) {
		t.Helper()
		if _, err := db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
			return tx.Update(store.CampaignUpdate{Status: &status, Gateway: &gateway})
		}); err != nil {
			t.Fatal(err)
		}
	}
	setCampaign(store.CampaignDraft, "whapi")
	if inUse("whapi") {
		t.Fatal("a draft campaign counts")
	}
	for _, st := range []string{store.CampaignRunning, store.CampaignScheduled} {
		setCampaign(st, "whapi")
		if !inUse("whapi") {
			t.Fatalf("a %s campaign naming whapi does not count", st)
		}
	}
	setCampaign(store.CampaignCompleted, "whapi")
	if inUse("whapi") {
		t.Fatal("a completed campaign counts")
	}
}

func testRecentByCreator(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	camp, err := db.CreateCampaign(ctx, "Sale", "telegram:42")
	if err != nil {
		t.Fatal(err)
	}
	var mine []int64
	for i := range 5 {
		mine = append(mine, enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42", Phone: fmt.Sprintf("+9198765430%02d", i)}))
		enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:43", Phone: fmt.Sprintf("+9198765431%02d", i)})
	}
	enqueueOne(t, db, store.NewQueueItem{CreatedBy: "telegram:42", CampaignID: camp.ID, Phone: "+919876543299"})
	got, err := db.RecentQueueItems(ctx, store.RecentFilter{CreatedBy: "telegram:42", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, it := range got {
		ids = append(ids, it.ID)
	}
	want := slices.Clone(mine[2:])
	slices.Reverse(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("recent of telegram:42 = %v, want %v (newest first, no campaign items)", ids, want)
	}
	if got, err := db.RecentQueueItems(ctx, store.RecentFilter{CreatedBy: "telegram:7"}); err != nil || len(got) != 0 {
		t.Fatalf("nobody's items: %v, %v", got, err)
	}
}
