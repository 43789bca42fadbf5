package queue_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
)

// optOutCampaign makes a running campaign of n contacts, interval one
// minute, whose phones are phones[i], with the dispatcher on the bundle's
// clock queueing the slots due within tick; the phones in before opted out
// before the start.
func optOutCampaign(t *testing.T, b *bundle, n int, tick time.Duration, before ...int) (store.Campaign, []string, *campaign.Dispatcher) {
	t.Helper()
	ctx := context.Background()
	c := newCampaign(t, b.db, n, time.Minute)
	list, err := b.db.CampaignContacts(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	phones := make([]string, len(list))
	for i, ct := range list {
		phones[i] = ct.Phone
	}
	for _, i := range before {
		if err := b.db.AddOptOut(ctx, phones[i], "asked in store", "telegram:2"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := changeCampaign(ctx, b.db, c.ID, campaign.Start); err != nil {
		t.Fatal(err)
	}
	d := campaign.NewDispatcher(b.db, campaign.DispatcherConfig{Tick: tick, Now: b.clock.Now}, nil)
	return c, phones, d
}

// pass runs one dispatcher pass and then the delivery loop until it
// claims nothing more.
func (b *bundle) pass(t *testing.T, d *campaign.Dispatcher) {
	t.Helper()
	if _, err := d.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	for b.step(t) > 0 {
	}
}

// sentPhones are the phones the gateway got, in order.
func (b *bundle) sentPhones() []string {
	var out []string
	for _, r := range b.fake.Sends() {
		out = append(out, r.Phone)
	}
	return out
}

// checkOptedOutResults: the stats and the results file count the opted-out
// contacts as opted out, never as sent, failed or cancelled.
func checkOptedOutResults(t *testing.T, db *store.DB, id int64, phones []string, optedOut ...int) {
	t.Helper()
	ctx := context.Background()
	s, err := db.CampaignStats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(phones))
	k := int64(len(optedOut))
	if s.OptedOut != k || s.Sent != n-k || s.Failed != 0 || s.Cancelled != 0 || s.Pending != 0 || s.Queued != 0 || s.Processing != 0 {
		t.Errorf("stats %+v, want %d sent and %d opted out", s, n-k, k)
	}
	rows, err := db.CampaignResults(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		want := string(store.StatusSent)
		if slices.Contains(optedOut, i) {
			want = string(store.StatusOptedOut)
		}
		if r.Phone != phones[i] || r.Status.String != want || r.SentAt.Valid == (want == string(store.StatusOptedOut)) {
			t.Errorf("result %d: %s %q sent at %v, want %s", i, r.Phone, r.Status.String, r.SentAt, want)
		}
	}
}

// A number opted out before the start and one opted out mid-campaign,
// before its slot was queued, get nothing: the dispatcher records them as
// opted out without giving them a slot, the campaign completes, and its
// stats and results say "opted out".
func testOptOutBeforeAndDuringCampaign(t *testing.T, b *bundle) {
	ctx := context.Background()
	c, phones, d := optOutCampaign(t, b, 5, time.Second, 1)
	start := b.clock.Now()
	b.pass(t, d)
	if got := b.sentPhones(); !slices.Equal(got, phones[:1]) {
		t.Fatalf("first slot sent to %v, want %v", got, phones[:1])
	}
	if err := b.db.AddOptOut(ctx, phones[3], "replied STOP", "telegram:2"); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		b.clock.Advance(time.Minute)
		b.pass(t, d)
	}
	if got, want := b.sentPhones(), []string{phones[0], phones[2], phones[4]}; !slices.Equal(got, want) {
		t.Fatalf("the gateway got %v, want %v", got, want)
	}
	// The opted-out contacts took no slot: the next contact went one
	// interval after the one before.
	for k, r := range b.fake.Sends() {
		it := b.item(t, r.ItemID)
		if want := start.Add(time.Duration(k) * time.Minute); !it.SentAt.Equal(want) {
			t.Errorf("send %d (%s) at %v, want its slot %v", k, r.Phone, it.SentAt.Sub(start), want.Sub(start))
		}
	}
	done, err := b.db.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != store.CampaignCompleted {
		t.Errorf("campaign is %s, want completed", done.Status)
	}
	checkOptedOutResults(t, b.db, c.ID, phones, 1, 3)
}

// An item already queued whose phone then opts out is not sent: the claim
// ends it as opted out. A staff message to the same number still goes, as
// opt-outs are about campaigns only.
func testOptOutHoldsAtClaim(t *testing.T, b *bundle) {
	ctx := context.Background()
	// A tick of five minutes queues every slot ahead at the first pass.
	c, phones, d := optOutCampaign(t, b, 4, 5*time.Minute)
	if _, err := d.Once(ctx); err != nil {
		t.Fatal(err)
	}
	for b.step(t) > 0 {
	}
	if got := b.sentPhones(); !slices.Equal(got, phones[:1]) {
		t.Fatalf("first slot sent to %v, want %v", got, phones[:1])
	}
	for _, i := range []int{1, 2} {
		if err := b.db.AddOptOut(ctx, phones[i], "replied STOP", "telegram:2"); err != nil {
			t.Fatal(err)
		}
	}
	staff := b.enqueue(t, store.NewQueueItem{Phone: phones[2]})[0]
	for range 5 {
		b.clock.Advance(time.Minute)
		b.pass(t, d)
	}
	if got, want := b.sentPhones(), []string{phones[0], phones[2], phones[3]}; !slices.Equal(got, want) {
		t.Fatalf("the gateway got %v, want %v (the staff message to %s only)", got, want, phones[2])
	}
	if it := b.item(t, staff); it.Status != store.StatusSent {
		t.Errorf("staff message to an opted-out number is %s, want sent", it.Status)
	}
	checkOptedOutResults(t, b.db, c.ID, phones, 1, 2)
	rows, err := b.db.CampaignResults(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rows[1].Attempts.Int64 != 0 {
		t.Errorf("an opted-out item shows %d attempts, want 0", rows[1].Attempts.Int64)
	}
}

// TestOptOutsHoldAtSendTime runs the opt-out checks on every dialect.
func TestOptOutsHoldAtSendTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, b *bundle)
	}{
		{"BeforeAndDuringCampaign", testOptOutBeforeAndDuringCampaign},
		{"HoldsAtClaim", testOptOutHoldsAtClaim},
		{"WhileWaitingForThePace", testOptOutWhileWaitingForThePace},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachDialect(t, tc.fn)
		})
	}
}

// A campaign item claimed with its batch, whose phone opts out while it
// waits for its gateway's pace, is not sent either: after a wait that long
// the loop looks the phone up again before sending.
func testOptOutWhileWaitingForThePace(t *testing.T, b *bundle) {
	ctx := context.Background()
	c := newCampaign(t, b.db, 2, 0) // both slots due at once
	list, err := b.db.CampaignContacts(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	phones := []string{list[0].Phone, list[1].Phone}
	if _, err := changeCampaign(ctx, b.db, c.ID, campaign.Start); err != nil {
		t.Fatal(err)
	}
	d := campaign.NewDispatcher(b.db, campaign.DispatcherConfig{Tick: time.Minute, Now: b.clock.Now}, nil)
	if _, err := d.Once(ctx); err != nil {
		t.Fatal(err)
	}
	// The first send opts the other phone out, while the other item,
	// claimed with it, waits its two seconds for the pace.
	var once sync.Once
	var other int
	snd := &fake.Sender{Fail: func(d queue.Delivery) error {
		once.Do(func() {
			if d.Phone == phones[0] {
				other = 1
			}
			if err := b.db.AddOptOut(ctx, phones[other], "replied STOP", "telegram:2"); err != nil {
				t.Error(err)
			}
		})
		return nil
	}}
	loop := queue.New(queue.Config{Workers: 4, ProcessorID: "paced", LockTimeout: 5 * time.Minute, Now: b.clock.Now,
		GatewayRates: map[string]float64{"fake": 0.5}},
		b.db, queue.StaticGateways{Active: "fake", Senders: map[string]queue.Sender{"fake": snd}}, nil)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- loop.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := b.db.CampaignStats(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Sent+s.OptedOut+s.Failed+s.Cancelled == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the campaign's two items did not finish: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var got []string
	for _, r := range snd.Sends() {
		got = append(got, r.Phone)
	}
	if want := []string{phones[1-other]}; !slices.Equal(got, want) {
		t.Fatalf("the gateway got %v, want only %v", got, want)
	}
	checkOptedOutResults(t, b.db, c.ID, phones, other)
	rows, err := b.db.CampaignResults(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rows[other].Attempts.Int64 != 0 {
		t.Errorf("the item ended while waiting shows %d attempts, want its claim's given back", rows[other].Attempts.Int64)
	}
}
