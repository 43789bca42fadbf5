package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestReplies runs the queries of customers' replies on every dialect:
// forward notices, the last sender to a number, and opt-outs by source.
func TestReplies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, db *store.DB, clock *storetest.Clock)
	}{
		{"ForwardNoticesAreClaimedOnce", testForwardNoticesAreClaimedOnce},
		{"LastQueuedBy", testLastQueuedBy},
		{"OptOutSources", testOptOutSources},
		{"ReleaseHeldForTheActiveGateway", testReleaseHeldForTheActiveGateway},
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

func recordInbound(t *testing.T, db *store.DB, wamid, phone string) store.InboundMessage {
	t.Helper()
	m, first, err := db.RecordInbound(context.Background(), store.InboundMessage{Gateway: "meta", ProviderMessageID: wamid,
		Phone: phone, ProfileName: "Asha", Kind: store.InboundText, Body: "Is my order ready?"})
	if err != nil || !first {
		t.Fatalf("record inbound: first %v, %v", first, err)
	}
	return m
}

func testForwardNoticesAreClaimedOnce(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	m := recordInbound(t, db, "wamid.1", "+919876543210")
	if err := db.AddInboundNotices(ctx, m.ID, m.ReceivedAt, []string{"telegram:1", "whatsapp:+919811111111", "telegram:1"}); err != nil {
		t.Fatal(err)
	}
	ns, err := db.InboundNotices(ctx, m.ID)
	if err != nil || len(ns) != 2 {
		t.Fatalf("notices %+v, %v; want 2 (the repeated recipient once)", ns, err)
	}
	got, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Token: "a"})
	if err != nil || len(got) != 1 {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	if n := got[0]; n.InboundID != m.ID || n.ItemID != 0 || n.CampaignID != 0 || n.Recipient != "telegram:1" || !n.FailedAt.Equal(m.ReceivedAt) {
		t.Fatalf("claimed %+v, want a forward of inbound %d to telegram:1", n, m.ID)
	}
	// A second claimer gets nothing while the lease runs.
	if again, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram", "whatsapp"}, Token: "b"}); err != nil ||
		len(again) != 1 || again[0].Recipient != "whatsapp:+919811111111" {
		t.Fatalf("second claim: %+v, %v", again, err)
	}
	if ok, err := db.FinishStaffNotice(ctx, got[0].ID, "a", store.NoticeOutcome{State: store.NoticeSent}); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	clock.Advance(time.Hour)
	if left, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Token: "c"}); err != nil || len(left) != 0 {
		t.Fatalf("a sent forward was claimed again: %+v, %v", left, err)
	}
}

func testLastQueuedBy(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	putOperator(t, db, "telegram:1", store.RoleStaff)
	putOperator(t, db, "telegram:2", store.RoleOperator)
	const phone = "+919876543210"
	if _, err := db.LastQueuedBy(ctx, phone, clock.Now().Add(-time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nobody queued: %v, want ErrNotFound", err)
	}
	enqueueOne(t, db, store.NewQueueItem{Phone: phone, CreatedBy: "telegram:1"})
	clock.Advance(time.Minute)
	enqueueOne(t, db, store.NewQueueItem{Phone: phone, CreatedBy: "telegram:2"})
	clock.Advance(time.Minute)
	// Later, but not people: the web page, a campaign, someone removed.
	enqueueOne(t, db, store.NewQueueItem{Phone: phone, CreatedBy: "web:admin"})
	enqueueOne(t, db, store.NewQueueItem{Phone: phone, CreatedBy: "telegram:9"})
	enqueueOne(t, db, store.NewQueueItem{Phone: "+919811111111", CreatedBy: "telegram:1"})
	if who, err := db.LastQueuedBy(ctx, phone, clock.Now().Add(-time.Hour)); err != nil || who != "telegram:2" {
		t.Fatalf("last sender %q, %v; want telegram:2", who, err)
	}
	if _, err := db.LastQueuedBy(ctx, phone, clock.Now().Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("outside the period: %v, want ErrNotFound", err)
	}
}

func testOptOutSources(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	const phone = "+919876543210"
	at := clock.Now().Add(-time.Minute)
	added, err := db.AddOptOutFrom(ctx, store.OptOut{Phone: phone, Reason: "replied stop", Source: store.OptOutSourceReply, CreatedAt: at, CreatedBy: "customer reply:meta"})
	if err != nil || !added {
		t.Fatalf("add: %v, %v", added, err)
	}
	if again, err := db.AddOptOutFrom(ctx, store.OptOut{Phone: phone, Source: store.OptOutSourceChat}); err != nil || again {
		t.Fatalf("add again: %v, %v; want not added", again, err)
	}
	o, err := db.OptOutOf(ctx, phone)
	if err != nil || o.Source != "customer reply" || o.Reason != "replied stop" || !o.CreatedAt.Equal(at) {
		t.Fatalf("opt-out %+v, %v", o, err)
	}
	if out, err := db.OptedOut(ctx, phone); err != nil || !out {
		t.Fatalf("opted out: %v, %v", out, err)
	}
	if removed, err := db.RemoveOptOut(ctx, phone); err != nil || !removed {
		t.Fatalf("remove: %v, %v", removed, err)
	}
	if removed, err := db.RemoveOptOut(ctx, phone); err != nil || removed {
		t.Fatalf("remove again: %v, %v", removed, err)
	}
	if _, err := db.OptOutOf(ctx, phone); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after removal: %v", err)
	}
}

// testReleaseHeldForTheActiveGateway: an item held for the window that
// names no gateway (it goes through the active one) is released too; one
// for another number is not.
func testReleaseHeldForTheActiveGateway(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	a := enqueueOne(t, db, store.NewQueueItem{Phone: "+919876543210"})
	b := enqueueOne(t, db, store.NewQueueItem{Phone: "+919811111111"})
	items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "p", Token: "tok"})
	if err != nil || len(items) != 2 {
		t.Fatalf("claim: %v, %v", items, err)
	}
	later := clock.Now().Add(24 * time.Hour)
	var outs []store.Outcome
	for _, id := range []int64{a, b} {
		outs = append(outs, store.Outcome{ID: id, Token: "tok", Status: store.StatusQueued, Gateway: "meta", NextAttemptAt: later,
			RefundAttempt: true, ErrorClass: store.OutcomeWindowClosed, Error: "held"})
	}
	if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if n, err := db.ReleaseHeld(ctx, "meta", "+919876543210"); err != nil || n != 1 {
		t.Fatalf("released %d, %v; want 1", n, err)
	}
	if it, err := db.QueueItem(ctx, a); err != nil || it.NextAttemptAt.After(clock.Now()) {
		t.Fatalf("item %d not due: %+v, %v", a, it, err)
	}
	if it, err := db.QueueItem(ctx, b); err != nil || !it.NextAttemptAt.Equal(later) {
		t.Fatalf("another number's item moved: %+v, %v", it, err)
	}
}
