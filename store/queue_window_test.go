package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

var windowEpoch = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// The window rule on the store's clock: open for 24 hours from the
// customer's last message, closed at exactly 24 hours, opened again by a
// newer message, and closed by the provider's 131047 even though the
// customer wrote before it.
func TestCustomerWindow(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(windowEpoch)
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			ctx := context.Background()
			const gw, phone = "meta", "+919876500001"
			open := func(what string, want bool) {
				t.Helper()
				w, err := db.CustomerWindow(ctx, gw, phone)
				if err != nil {
					t.Fatal(err)
				}
				if got := w.OpenAt(clock.Now(), day); got != want {
					t.Errorf("%s: window %+v open at %v = %v, want %v", what, w, clock.Now(), got, want)
				}
			}
			open("never wrote", false)
			inbound := func(id string) {
				t.Helper()
				if _, first, err := db.RecordInbound(ctx, store.InboundMessage{Gateway: gw, ProviderMessageID: id, Phone: phone,
					Kind: store.InboundText, Body: "hello"}); err != nil || !first {
					t.Fatalf("record inbound %s: first %v, %v", id, first, err)
				}
			}
			inbound("wamid.1")
			open("just wrote", true)
			if w, _ := db.CustomerWindow(ctx, "whapi", phone); w.OpenAt(clock.Now(), day) {
				t.Error("a message on meta opened the window on whapi")
			}
			clock.Advance(day - time.Microsecond)
			open("a moment before 24h", true)
			clock.Advance(time.Microsecond)
			open("at exactly 24h", false)

			clock.Advance(time.Hour)
			inbound("wamid.2")
			open("wrote again", true)

			clock.Advance(time.Minute)
			if err := db.CloseWindow(ctx, gw, phone, clock.Now()); err != nil {
				t.Fatal(err)
			}
			open("131047 after the message", false)
			// A redelivered older message does not open it again; a new one does.
			if _, first, err := db.RecordInbound(ctx, store.InboundMessage{Gateway: gw, ProviderMessageID: "wamid.2", Phone: phone}); err != nil || first {
				t.Fatalf("redelivery: first %v, %v", first, err)
			}
			open("redelivered message", false)
			clock.Advance(time.Second)
			inbound("wamid.3")
			open("wrote after the 131047", true)

			// A 131047 for a customer never seen records a closed window.
			if err := db.CloseWindow(ctx, gw, "+919876500002", time.Time{}); err != nil {
				t.Fatal(err)
			}
			w, err := db.CustomerWindow(ctx, gw, "+919876500002")
			if err != nil || !w.LastInbound.IsZero() || !w.ClosedAt.Equal(clock.Now()) || w.OpenAt(clock.Now(), day) {
				t.Errorf("closed unknown window: %+v, %v", w, err)
			}
		})
	}
}

// claimOne claims every due item and returns the one with id.
func claimOne(t *testing.T, db *store.DB, id int64, token string) store.QueueItem {
	t.Helper()
	got, err := db.ClaimQueueItems(context.Background(), store.ClaimParams{Limit: 10, Owner: "p", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range got {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("item %d not claimed (got %d items)", id, len(got))
	return store.QueueItem{}
}

// A failed receipt that says the window was closed (131047) closes it,
// and puts a free-form staff item back in the queue, due now, its attempt
// given back and its provider id cleared, instead of failing it; a
// replay changes nothing. A campaign item and a template item fail as
// before, their windows closed too.
func TestReceiptWindowClosed(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(windowEpoch)
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			ctx := context.Background()
			// The customer wrote an hour ago: the window is open.
			for i, phone := range []string{"+919876500011", "+919876500012", "+919876500013"} {
				if _, _, err := db.RecordInbound(ctx, store.InboundMessage{Gateway: "meta", ProviderMessageID: "in" + phone,
					Phone: phone, ReceivedAt: clock.Now().Add(-time.Hour)}); err != nil {
					t.Fatal(i, err)
				}
			}
			camp, err := db.CreateCampaign(ctx, "Diwali", "telegram:1")
			if err != nil {
				t.Fatal(err)
			}
			c := camp.ID
			ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{
				{Phone: "+919876500011", Content: store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}, MaxAttempts: 3, CreatedBy: "telegram:1"},
				{Phone: "+919876500012", Content: store.QueueContent{Kind: store.ContentText, Body: "Diwali sale"}, CampaignID: c, MaxAttempts: 3, CreatedBy: "telegram:1", Priority: store.PriorityCampaign},
				{Phone: "+919876500013", Content: store.QueueContent{Kind: store.ContentTemplate, TemplateName: "order_ready", TemplateLanguage: "en"}, MaxAttempts: 3, CreatedBy: "telegram:1"},
			})
			if err != nil {
				t.Fatal(err)
			}
			var outs []store.Outcome
			items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "p", Token: "tok"})
			if err != nil || len(items) != 3 {
				t.Fatalf("claim: %d items, %v", len(items), err)
			}
			for _, it := range items {
				outs = append(outs, store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusSent, Gateway: "meta", ProviderMessageID: "wamid.out" + it.Phone})
			}
			if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
			failedAt := clock.Now().Add(-10 * time.Second)
			for _, phone := range []string{"+919876500011", "+919876500012", "+919876500013"} {
				r := store.Receipt{Gateway: "meta", ProviderMessageID: "wamid.out" + phone, Status: store.StatusFailed, At: failedAt,
					Error: "meta code 131047: Re-engagement message", WindowClosed: true}
				if changed, err := db.ApplyReceipt(ctx, r); err != nil || !changed {
					t.Fatalf("receipt for %s: changed %v, %v", phone, changed, err)
				}
				if changed, err := db.ApplyReceipt(ctx, r); err != nil || changed {
					t.Fatalf("replayed receipt for %s: changed %v, %v", phone, changed, err)
				}
				w, err := db.CustomerWindow(ctx, "meta", phone)
				if err != nil || !w.ClosedAt.Equal(failedAt) || w.OpenAt(clock.Now(), day) {
					t.Errorf("%s: window %+v after 131047 (%v), want closed at %v", phone, w, err, failedAt)
				}
			}
			staff, err := db.QueueItem(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if staff.Status != store.StatusQueued || staff.Attempts != 0 || !staff.NextAttemptAt.Equal(clock.Now()) ||
				staff.LastErrorClass != store.OutcomeWindowClosed || staff.LastError == "" || staff.ProviderMessageID != "" ||
				staff.SentGateway != "" || !staff.SentAt.IsZero() || !staff.FailedAt.IsZero() {
				t.Errorf("staff item after 131047: %+v", staff)
			}
			evs, err := db.QueueItemEvents(ctx, ids[0])
			if err != nil || len(evs) == 0 || evs[len(evs)-1].Event != store.OutcomeWindowClosed || evs[len(evs)-1].ToStatus != string(store.StatusQueued) {
				t.Errorf("staff item history %+v, %v", evs, err)
			}
			for _, id := range ids[1:] {
				it, err := db.QueueItem(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if it.Status != store.StatusFailed || it.LastErrorClass != "async" || it.Attempts != 1 || it.ProviderMessageID == "" {
					t.Errorf("item %d (%s) after 131047: %s class %q attempts %d, want failed as before", id, it.Content.Kind, it.Status, it.LastErrorClass, it.Attempts)
				}
			}
			// The staff item is claimable again at once.
			again := claimOne(t, db, ids[0], "tok2")
			if again.Attempts != 1 || again.Content.Body != "Your order is ready" {
				t.Errorf("claimed again: %+v", again)
			}
		})
	}
}

// An item held for a closed window keeps its attempts and waits; the
// customer writing makes it due at once, whether it names the gateway or
// follows the active one. Its content can be replaced only under its lock.
func TestHeldItemsAndReplacedContent(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(windowEpoch)
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			ctx := context.Background()
			const phone = "+919876500021"
			ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{
				{Phone: phone, Content: store.QueueContent{Kind: store.ContentText, Body: "a"}, MaxAttempts: 3, CreatedBy: "telegram:1"},
				{Phone: phone, Gateway: "meta", Content: store.QueueContent{Kind: store.ContentText, Body: "b"}, MaxAttempts: 3, CreatedBy: "telegram:1"},
				{Phone: phone, Gateway: "whapi", Content: store.QueueContent{Kind: store.ContentText, Body: "c"}, MaxAttempts: 3, CreatedBy: "telegram:1"},
			})
			if err != nil {
				t.Fatal(err)
			}
			items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "p", Token: "tok"})
			if err != nil || len(items) != 3 {
				t.Fatalf("claim: %d, %v", len(items), err)
			}
			var outs []store.Outcome
			for _, it := range items {
				outs = append(outs, store.WindowHeldOutcome(it, "p", "waiting for the customer to write", clock.Now().Add(day)))
			}
			if applied, err := db.CompleteQueueItems(ctx, outs); err != nil || !applied[0] || !applied[1] || !applied[2] {
				t.Fatalf("hold: %v, %v", applied, err)
			}
			for _, id := range ids {
				it, _ := db.QueueItem(ctx, id)
				if it.Status != store.StatusQueued || it.Attempts != 0 || it.LastErrorClass != store.OutcomeWindowClosed ||
					!it.NextAttemptAt.Equal(clock.Now().Add(day)) {
					t.Errorf("held item %d: %+v", id, it)
				}
			}
			clock.Advance(time.Hour)
			if n, err := db.ReleaseHeld(ctx, "meta", phone); err != nil || n != 2 {
				t.Fatalf("release held: %d, %v; want the two items that go through meta", n, err)
			}
			for i, id := range ids {
				it, _ := db.QueueItem(ctx, id)
				if due := !it.NextAttemptAt.After(clock.Now()); due != (i < 2) {
					t.Errorf("item %d (gateway %q) due %v after meta's release", id, it.Gateway, due)
				}
			}

			// Replacing the content needs the item's lock.
			it := claimOne(t, db, ids[0], "tok2")
			tpl := store.QueueContent{Kind: store.ContentTemplate, TemplateName: "intake", TemplateLanguage: "en",
				TemplateParams: []string{"Asha"}, TemplateParamNames: []string{"staff"}}
			if ok, err := db.ReplaceClaimedContent(ctx, it.ID, "wrong", tpl, "p", "x"); err != nil || ok {
				t.Fatalf("replace under a wrong token: %v, %v", ok, err)
			}
			if ok, err := db.ReplaceClaimedContent(ctx, it.ID, it.LockToken, tpl, "p", "sent as the intake template"); err != nil || !ok {
				t.Fatalf("replace: %v, %v", ok, err)
			}
			got, _ := db.QueueItem(ctx, it.ID)
			if got.Content.Kind != store.ContentTemplate || got.Content.TemplateName != "intake" || got.Content.Body != "" ||
				len(got.Content.TemplateParams) != 1 || got.Content.TemplateParams[0] != "Asha" || got.Status != store.StatusProcessing {
				t.Errorf("replaced content: %+v", got)
			}
			evs, _ := db.QueueItemEvents(ctx, it.ID)
			if len(evs) == 0 || evs[len(evs)-1].Event != store.EventConverted {
				t.Errorf("history %+v", evs)
			}
		})
	}
}
