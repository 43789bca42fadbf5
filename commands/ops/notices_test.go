package ops_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestExplainError: each error class and the provider codes that say more
// come out in plain words, without the provider's text, with the fix and
// the code operators see.
func TestExplainError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		gateway, class, text string
		plain                string // a phrase of Plain
		code                 string
		fix                  ops.Fix
	}{
		{"meta", "sender_blocked", "sender_blocked (code 190): meta send: Error validating access token: Session has expired (code 190, subcode 463, HTTP 401)",
			"The WhatsApp account's login has expired; an admin must renew it.", "sender_blocked, meta code 190", ops.FixAccount},
		{"", "sender_blocked", "held: gateway meta is paused: sender_blocked (code 368): meta send: Temporarily blocked for policies violations (code 368, HTTP 403)",
			"restricted the WhatsApp business account", "sender_blocked, meta code 368", ops.FixAccount},
		{"meta", "sender_blocked", "sender_blocked (code 401): meta send: HTTP 401 without a Graph error body",
			"login has expired or was refused", "sender_blocked, meta code 401", ops.FixAccount},
		{"whapi", "sender_blocked", "sender_blocked: whapi: no channel token is configured",
			"not set up yet", "sender_blocked", ops.FixAccount},
		{"session", "sender_blocked", "sender_blocked (code 463): WhatsApp bars this number from writing to new contacts for a while (reach-out time-lock): server returned error 463",
			"bars the linked number", "sender_blocked, session code 463", ops.FixAccount},
		{"session", "sender_blocked", "sender_blocked: no WhatsApp account is linked; run `messagebridge whatsapp pair`: not logged in",
			"logged out; an admin must link it again", "sender_blocked", ops.FixAccount},
		{"meta", "permanent", "permanent (code 131026): meta send: Message undeliverable (code 131026, HTTP 400)",
			"cannot receive WhatsApp messages", "permanent, meta code 131026", ops.FixNumber},
		{"session", "permanent", "permanent: the number is not on WhatsApp",
			"cannot receive WhatsApp messages", "permanent", ops.FixNumber},
		{"whapi", "permanent", "permanent (code 400): whapi messages/text: HTTP 400: bad request",
			"refused this message", "permanent, whapi code 400", ops.FixNumber},
		{"meta", "permanent", "permanent (code 132001): meta send: Template name does not exist in the translation (code 132001, HTTP 404)",
			"template is missing", "permanent, meta code 132001", ops.FixMessage},
		{"meta", "permanent", "permanent (code 131047): meta send: Re-engagement message (code 131047, HTTP 400)",
			"24 hours", "permanent, meta code 131047", ops.FixMessage},
		{"meta", "async", "meta: Message undeliverable (code 131026)",
			"cannot receive WhatsApp messages", "async, meta code 131026", ops.FixNumber},
		{"whapi", "async", "whapi: failed",
			"could not deliver it", "async", ops.FixNumber},
		{"meta", "retry", "gave up after 5 attempts: retry (code 503): meta send: HTTP 503 without a Graph error body",
			"did not answer, 5 times in a row", "retry, meta code 503", ops.FixRetry},
		{"", "stale_lock", "gave up after 3 attempts: lock held by host-1 expired after 5m0s (the processor stopped or stalled)",
			"stopped while sending it, 3 times in a row", "stale_lock", ops.FixRetry},
		{"meta", "rate_limited", "rate_limited (code 130429): meta send: Rate limit hit", "slow down", "rate_limited, meta code 130429", ops.FixWait},
		{"", "", "", "No reason was recorded.", "", ops.FixRetry},
	} {
		e := ops.ExplainError(tc.gateway, tc.class, tc.text)
		if !strings.Contains(e.Plain, tc.plain) || e.Code != tc.code || e.Fix != tc.fix {
			t.Errorf("%s/%s %q:\n got %+v\nwant plain with %q, code %q, fix %d", tc.gateway, tc.class, tc.text, e, tc.plain, tc.code, tc.fix)
		}
		if !strings.HasSuffix(e.Plain, ".") || strings.Contains(e.Plain, "meta send") || strings.Contains(e.Plain, "(code") {
			t.Errorf("%q: plain text %q is not a plain sentence", tc.text, e.Plain)
		}
	}
}

// TestUseGatewayReleasesHeldItems: switching gateways, or choosing the
// paused one again, makes the items held for the pause due at once and
// wakes the loop; items held for another paused gateway keep waiting.
func TestUseGatewayReleasesHeldItems(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			clock := storetest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			woken := 0
			svc, _ := newService(t, db, []ops.Gateway{{Name: "dryrun", Caps: allCaps}, {Name: "meta", Caps: allCaps}, {Name: "whapi", Caps: allCaps}},
				func() { woken++ })
			if err := svc.UseGateway(ctx, admin, "meta", false); err != nil {
				t.Fatal(err)
			}
			ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{
				{Phone: "+919876543210", MaxAttempts: 3, Content: store.QueueContent{Kind: store.ContentText, Body: "x"}},
				{Phone: "+919876543211", MaxAttempts: 3, Content: store.QueueContent{Kind: store.ContentText, Body: "x"}, Gateway: "whapi"},
			})
			if err != nil {
				t.Fatal(err)
			}
			hold := func() time.Time {
				t.Helper()
				recheck := clock.Now().Add(time.Minute)
				items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "p", Token: "tok"})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range items {
					if _, err := db.CompleteQueueItems(ctx, []store.Outcome{{ID: it.ID, Token: it.LockToken, Status: store.StatusQueued,
						RefundAttempt: true, NextAttemptAt: recheck, Error: "held: gateway meta is paused: sender_blocked (code 190): expired",
						ErrorClass: "sender_blocked"}}); err != nil {
						t.Fatal(err)
					}
				}
				return recheck
			}
			next := func(id int64) time.Time {
				t.Helper()
				it, err := db.QueueItem(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return it.NextAttemptAt
			}
			for _, gw := range []string{"meta", "whapi"} {
				if err := db.BlockGateway(ctx, gw, "sender_blocked (code 190): expired"); err != nil {
					t.Fatal(err)
				}
			}
			recheck := hold()
			clock.Advance(2 * time.Second)
			woken = 0
			if err := svc.UseGateway(ctx, admin, "dryrun", false); err != nil {
				t.Fatal(err)
			}
			if got := next(ids[0]); !got.Equal(clock.Now()) {
				t.Fatalf("after switching to dryrun the held item is due %v, want now (%v)", got, clock.Now())
			}
			if got := next(ids[1]); !got.Equal(recheck) {
				t.Fatalf("the item naming paused whapi is due %v, want %v", got, recheck)
			}
			if woken == 0 {
				t.Fatal("the loop was not woken")
			}
			// Choosing the paused gateway again lifts its pause and
			// releases what waits for it.
			clock.Advance(time.Second)
			if err := svc.UseGateway(ctx, admin, "whapi", false); err != nil {
				t.Fatal(err)
			}
			if got := next(ids[1]); !got.Equal(clock.Now()) {
				t.Fatalf("after resuming whapi its item is due %v, want now", got)
			}
			// Meta stays paused on record, but nothing waits for it any
			// more (not active, nothing names it): not reported.
			st, err := svc.Gateways(ctx)
			if err != nil || len(st.Paused) != 0 {
				t.Fatalf("paused after switching away from meta: %+v, %v", st.Paused, err)
			}
			if err := svc.UseGateway(ctx, admin, "meta", false); err != nil {
				t.Fatal(err)
			}
			if err := db.BlockGateway(ctx, "meta", "sender_blocked (code 190): expired"); err != nil {
				t.Fatal(err)
			}
			if st, err := svc.Gateways(ctx); err != nil || len(st.Paused) != 1 || st.Paused[0].Gateway != "meta" {
				t.Fatalf("the active gateway paused: %+v, %v", st.Paused, err)
			}
		})
	}
}
