package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// bundle is what each conformance test needs: a database on the manual
// clock, a fake gateway and a loop that is stepped with RunOnce.
type bundle struct {
	db    *store.DB
	clock *storetest.Clock
	fake  *fake.Sender
	loop  *queue.Loop
	// rescuer recovers stale locks on the same clock, as cmd runs one next
	// to the loop.
	rescuer *queue.Rescuer
}

var epoch = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

const retryBase = time.Minute

func setup(t *testing.T, db *store.DB, clock *storetest.Clock) *bundle {
	t.Helper()
	b := &bundle{db: db, clock: clock, fake: &fake.Sender{}}
	b.loop = queue.New(queue.Config{
		Workers:        16,
		ProcessorID:    "test-processor",
		Retry:          queue.Backoff{Base: retryBase, Cap: 10 * retryBase},
		LockTimeout:    5 * time.Minute,
		BlockedRecheck: time.Minute,
		Now:            clock.Now,
	}, db, queue.StaticGateways{Active: "fake", Senders: map[string]queue.Sender{"fake": b.fake}}, nil)
	b.rescuer = queue.NewRescuer(db, queue.RescuerConfig{LockTimeout: 5 * time.Minute, Actor: "test-processor", Now: clock.Now}, nil)
	return b
}

// forEachDialect runs fn on SQLite and MySQL with a manual clock shared by
// the store and the loop.
func forEachDialect(t *testing.T, fn func(t *testing.T, b *bundle)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			clock := storetest.NewClock(epoch)
			opts := storetest.Options{Now: clock.Now}
			db := storetest.OpenDialect(t, d, opts)
			fn(t, setup(t, db, clock))
		})
	}
}

func (b *bundle) enqueue(t *testing.T, items ...store.NewQueueItem) []int64 {
	t.Helper()
	for i := range items {
		if items[i].Phone == "" {
			items[i].Phone = fmt.Sprintf("+9198765%05d", i)
		}
		if items[i].Content.Kind == "" {
			items[i].Content = store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}
		}
		if items[i].MaxAttempts == 0 {
			items[i].MaxAttempts = 3
		}
		if items[i].CreatedBy == "" {
			items[i].CreatedBy = "telegram:42"
		}
	}
	ids, err := b.db.EnqueueQueueItems(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (b *bundle) item(t *testing.T, id int64) store.QueueItem {
	t.Helper()
	it, err := b.db.QueueItem(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func (b *bundle) step(t *testing.T) int {
	t.Helper()
	n, err := b.loop.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, b *bundle)
	}{
		{"ClaimOrderAndDueTime", testClaimOrderAndDueTime},
		{"ConcurrentClaimsNeverOverlap", testConcurrentClaimsNeverOverlap},
		{"GuardedCompletion", testGuardedCompletion},
		{"StaleLockRecovery", testStaleLockRecovery},
		{"RetryBacksOffUntilMaxAttempts", testRetryBacksOffUntilMaxAttempts},
		{"PermanentFailsAtOnce", testPermanentFailsAtOnce},
		{"RateLimitedKeepsAttempts", testRateLimitedKeepsAttempts},
		{"SenderBlockedPausesGateway", testSenderBlockedPausesGateway},
		{"EditResetCancel", testEditResetCancel},
		{"ErrorsAreSanitized", testErrorsAreSanitized},
		{"ReportingWindows", testReportingWindows},
		{"ReceiptsOnlyMoveForward", testReceiptsOnlyMoveForward},
		{"HealthWarnings", testHealthWarnings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachDialect(t, tc.fn)
		})
	}
}

func testClaimOrderAndDueTime(t *testing.T, b *bundle) {
	ctx := context.Background()
	ids := b.enqueue(t,
		store.NewQueueItem{Priority: store.PriorityCampaign},
		store.NewQueueItem{Priority: store.PriorityIntake},
		store.NewQueueItem{Priority: store.PriorityCampaign},
		store.NewQueueItem{Priority: store.PriorityIntake, NotBefore: epoch.Add(time.Hour)},
		store.NewQueueItem{Priority: store.PriorityIntake},
	)
	got, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 3, Owner: "p1", Token: "tok-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{ids[1], ids[4], ids[0]} // intake first, then the oldest campaign item
	if len(got) != len(want) {
		t.Fatalf("claimed %d items, want %d", len(got), len(want))
	}
	for i, it := range got {
		if it.ID != want[i] {
			t.Errorf("claim[%d] = #%d, want #%d", i, it.ID, want[i])
		}
		if it.Status != store.StatusProcessing || it.Attempts != 1 || it.LockToken != "tok-1" || it.LockedBy != "p1" || !it.LockedAt.Equal(epoch) {
			t.Errorf("claimed item not stamped: %+v", it)
		}
	}
	rest, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "p1", Token: "tok-2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0].ID != ids[2] {
		t.Fatalf("second claim = %v, want only #%d (the future item is not due)", itemIDs(rest), ids[2])
	}
	b.clock.Advance(time.Hour)
	later, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "p1", Token: "tok-3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(later) != 1 || later[0].ID != ids[3] {
		t.Fatalf("claim after an hour = %v, want #%d", itemIDs(later), ids[3])
	}
}

// Claimers racing on one database never get the same item.
func testConcurrentClaimsNeverOverlap(t *testing.T, b *bundle) {
	const n = 400
	items := make([]store.NewQueueItem, n)
	b.enqueue(t, items...)
	seen := make(chan int64, n)
	errs := make(chan error, 8)
	for c := range 8 {
		go func() {
			for {
				got, err := b.db.ClaimQueueItems(context.Background(), store.ClaimParams{Limit: 7, Owner: "p", Token: fmt.Sprintf("t%d-%d", c, time.Now().UnixNano())})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					errs <- nil
					return
				}
				for _, it := range got {
					seen <- it.ID
				}
			}
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(seen)
	count := map[int64]int{}
	for id := range seen {
		count[id]++
	}
	if len(count) != n {
		t.Fatalf("claimed %d distinct items, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("item #%d claimed %d times", id, c)
		}
	}
}

func testGuardedCompletion(t *testing.T, b *bundle) {
	ctx := context.Background()
	id := b.enqueue(t, store.NewQueueItem{})[0]
	claimed, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "p", Token: "right"})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	sent := store.Outcome{ID: id, Token: "wrong", Status: store.StatusSent, ProviderMessageID: "wamid.1", Gateway: "fake"}
	applied, err := b.db.CompleteQueueItems(ctx, []store.Outcome{sent})
	if err != nil {
		t.Fatal(err)
	}
	if applied[0] {
		t.Fatal("an outcome with the wrong token was applied")
	}
	if it := b.item(t, id); it.Status != store.StatusProcessing {
		t.Fatalf("item changed by a wrong token: %s", it.Status)
	}
	sent.Token = "right"
	if applied, err = b.db.CompleteQueueItems(ctx, []store.Outcome{sent}); err != nil || !applied[0] {
		t.Fatalf("right token: applied %v, err %v", applied, err)
	}
	it := b.item(t, id)
	if it.Status != store.StatusSent || it.ProviderMessageID != "wamid.1" || it.SentGateway != "fake" || it.LockToken != "" || !it.SentAt.Equal(epoch) {
		t.Fatalf("sent item = %+v", it)
	}
	// A second, late outcome for the same claim changes nothing.
	late := store.Outcome{ID: id, Token: "right", Status: store.StatusFailed, Error: "late"}
	if applied, err = b.db.CompleteQueueItems(ctx, []store.Outcome{late}); err != nil || applied[0] {
		t.Fatalf("late outcome: applied %v, err %v", applied, err)
	}
	if it := b.item(t, id); it.Status != store.StatusSent {
		t.Fatalf("late outcome overwrote a sent item: %s", it.Status)
	}
}

func testStaleLockRecovery(t *testing.T, b *bundle) {
	ctx := context.Background()
	ids := b.enqueue(t, store.NewQueueItem{MaxAttempts: 3}, store.NewQueueItem{MaxAttempts: 1})
	claimed, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 2, Owner: "crashed", Token: "old"})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}

	b.clock.Advance(4 * time.Minute) // under the 5m lock timeout
	if res, err := b.rescuer.RescueOnce(ctx); err != nil || res != (queue.RescueResult{}) {
		t.Fatalf("rescue before the timeout: %+v, %v", res, err)
	}
	b.clock.Advance(2 * time.Minute)
	res, err := b.rescuer.RescueOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res != (queue.RescueResult{Requeued: 1, Failed: 1}) {
		t.Fatalf("rescue = %+v, want 1 requeued and 1 failed", res)
	}
	again := b.item(t, ids[0])
	if again.Status != store.StatusQueued || again.Attempts != 1 || again.LockToken != "" || !strings.Contains(again.LastError, "crashed") {
		t.Fatalf("requeued item = %+v", again)
	}
	spent := b.item(t, ids[1])
	if spent.Status != store.StatusFailed || !strings.Contains(spent.LastError, "gave up after 1 attempts") {
		t.Fatalf("item out of attempts = %+v", spent)
	}
	evs, err := b.db.QueueItemEvents(ctx, ids[0])
	if err != nil || len(evs) != 1 || evs[0].Event != "rescued" || evs[0].Actor != "test-processor" {
		t.Fatalf("history of the rescued item = %+v, %v", evs, err)
	}

	// The crashed owner comes back late: its outcome is ignored.
	applied, err := b.db.CompleteQueueItems(ctx, []store.Outcome{{ID: ids[0], Token: "old", Status: store.StatusSent}})
	if err != nil || applied[0] {
		t.Fatalf("late outcome of the old owner: applied %v, err %v", applied, err)
	}
	if n := b.step(t); n != 1 {
		t.Fatalf("stepped %d items, want the requeued one", n)
	}
	if it := b.item(t, ids[0]); it.Status != store.StatusSent || it.Attempts != 2 {
		t.Fatalf("after resend: %+v", it)
	}
}

func testRetryBacksOffUntilMaxAttempts(t *testing.T, b *bundle) {
	b.fake.Fail = func(queue.Delivery) error {
		return queue.Classify(queue.Retry, "131000", errors.New("something went wrong"))
	}
	id := b.enqueue(t, store.NewQueueItem{MaxAttempts: 3})[0]
	for attempt := 1; attempt <= 2; attempt++ {
		if n := b.step(t); n != 1 {
			t.Fatalf("attempt %d: stepped %d", attempt, n)
		}
		it := b.item(t, id)
		wantNext := b.clock.Now().Add(retryBase << (attempt - 1))
		if it.Status != store.StatusQueued || it.Attempts != attempt || !it.NextAttemptAt.Equal(wantNext) || it.LastErrorClass != "retry" {
			t.Fatalf("after attempt %d: status %s attempts %d next %v (want %v) class %q", attempt, it.Status, it.Attempts, it.NextAttemptAt, wantNext, it.LastErrorClass)
		}
		if n := b.step(t); n != 0 {
			t.Fatalf("item retried before its backoff: %d", n)
		}
		b.clock.Advance(retryBase << (attempt - 1))
	}
	b.step(t)
	it := b.item(t, id)
	if it.Status != store.StatusFailed || it.Attempts != 3 || !strings.Contains(it.LastError, "gave up after 3 attempts") {
		t.Fatalf("after the last attempt: %+v", it)
	}
	if b.fake.Calls() != 3 {
		t.Fatalf("gateway called %d times, want 3", b.fake.Calls())
	}
}

func testPermanentFailsAtOnce(t *testing.T, b *bundle) {
	b.fake.Fail = func(queue.Delivery) error {
		return queue.Classify(queue.Permanent, "131026", errors.New("message undeliverable"))
	}
	id := b.enqueue(t, store.NewQueueItem{MaxAttempts: 5})[0]
	b.step(t)
	it := b.item(t, id)
	if it.Status != store.StatusFailed || it.Attempts != 1 || it.LastErrorClass != "permanent" || !strings.Contains(it.LastError, "131026") || !it.FailedAt.Equal(epoch) {
		t.Fatalf("permanent failure: %+v", it)
	}
}

func testRateLimitedKeepsAttempts(t *testing.T, b *bundle) {
	b.fake.Fail = func(queue.Delivery) error {
		return queue.RateLimitedFor(90*time.Second, "130429", errors.New("throughput reached"))
	}
	id := b.enqueue(t, store.NewQueueItem{MaxAttempts: 1})[0]
	for range 3 {
		b.step(t)
		it := b.item(t, id)
		if it.Status != store.StatusQueued || it.Attempts != 0 || !it.NextAttemptAt.Equal(b.clock.Now().Add(90*time.Second)) {
			t.Fatalf("rate limited: %+v", it)
		}
		b.clock.Advance(90 * time.Second)
	}
	b.fake.Fail = nil
	b.step(t)
	if it := b.item(t, id); it.Status != store.StatusSent || it.Attempts != 1 {
		t.Fatalf("after the limit passed: %+v", it)
	}
}

func testSenderBlockedPausesGateway(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.fake.Fail = func(queue.Delivery) error {
		return queue.Classify(queue.SenderBlocked, "190", errors.New("access token expired"))
	}
	ids := b.enqueue(t, store.NewQueueItem{}, store.NewQueueItem{})
	b.loop = queue.New(queue.Config{Workers: 1, Now: b.clock.Now, BlockedRecheck: time.Minute},
		b.db, queue.StaticGateways{Active: "fake", Senders: map[string]queue.Sender{"fake": b.fake}}, nil)
	b.step(t)
	first := b.item(t, ids[0])
	if first.Status != store.StatusQueued || first.Attempts != 0 || first.LastErrorClass != "sender_blocked" {
		t.Fatalf("blocked item: %+v", first)
	}
	states, err := b.db.GatewayStates(ctx)
	if err != nil || len(states) != 1 || !states[0].Blocked || states[0].Gateway != "fake" {
		t.Fatalf("gateway states = %+v, %v", states, err)
	}
	b.step(t) // the second item is held without calling the gateway
	if b.fake.Calls() != 1 {
		t.Fatalf("gateway called %d times while paused, want 1", b.fake.Calls())
	}
	if it := b.item(t, ids[1]); it.Status != store.StatusQueued || it.Attempts != 0 || !strings.Contains(it.LastError, "paused") {
		t.Fatalf("held item: %+v", it)
	}
}

func testEditResetCancel(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.fake.Fail = func(queue.Delivery) error {
		return queue.Classify(queue.Permanent, "131026", errors.New("not on WhatsApp"))
	}
	ids := b.enqueue(t, store.NewQueueItem{Phone: "+919876543210"}, store.NewQueueItem{Phone: "+919876500000"})
	b.step(t)
	b.fake.Fail = nil

	phone := "+919812345678"
	edited, err := b.db.EditQueueItem(ctx, ids[0], store.QueueEdit{Phone: &phone}, "telegram:7")
	if err != nil {
		t.Fatal(err)
	}
	if edited.Phone != phone || edited.Status != store.StatusFailed {
		t.Fatalf("edited item: %+v", edited)
	}
	content := store.QueueContent{Kind: store.ContentTemplate, TemplateName: "order_ready", TemplateLanguage: "en", TemplateParams: []string{"Asha", "#1043"}}
	if edited, err = b.db.EditQueueItem(ctx, ids[0], store.QueueEdit{Content: &content}, "telegram:7"); err != nil {
		t.Fatal(err)
	}
	if edited.Content.TemplateName != "order_ready" || len(edited.Content.TemplateParams) != 2 || edited.Content.TemplateParams[1] != "#1043" {
		t.Fatalf("edited content: %+v", edited.Content)
	}
	reset, err := b.db.ResetQueueItem(ctx, ids[0], "telegram:7")
	if err != nil {
		t.Fatal(err)
	}
	if reset.Status != store.StatusQueued || reset.Attempts != 0 || !strings.Contains(reset.LastError, "not on WhatsApp") {
		t.Fatalf("reset item: %+v", reset)
	}
	b.step(t)
	if it := b.item(t, ids[0]); it.Status != store.StatusSent || it.Phone != phone {
		t.Fatalf("after reset and resend: %+v", it)
	}
	evs, err := b.db.QueueItemEvents(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Event+"/"+e.Actor)
	}
	if got := strings.Join(kinds, ","); got != "failed/test-processor,edited/telegram:7,edited/telegram:7,reset/telegram:7" {
		t.Fatalf("history = %s", got)
	}
	if !strings.Contains(evs[3].Detail, "not on WhatsApp") {
		t.Errorf("reset event lost the error: %q", evs[3].Detail)
	}

	if _, err := b.db.CancelQueueItem(ctx, ids[1], "telegram:7"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.EditQueueItem(ctx, ids[1], store.QueueEdit{Phone: &phone}, "x"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("edit of a cancelled item: %v, want ErrConflict", err)
	}
	if _, err := b.db.CancelQueueItem(ctx, ids[0], "x"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("cancel of a sent item: %v, want ErrConflict", err)
	}
	if _, err := b.db.ResetQueueItem(ctx, 999999, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset of a missing item: %v, want ErrNotFound", err)
	}
	bad := store.QueueContent{Kind: store.ContentTemplate}
	if _, err := b.db.EditQueueItem(ctx, ids[1], store.QueueEdit{Content: &bad}, "x"); err == nil {
		t.Fatal("edit to invalid content accepted")
	}
}

func testErrorsAreSanitized(t *testing.T, b *bundle) {
	const token = "EAAGm0PX4ZCpsBAKZBsecrettoken1234567890"
	b.fake.Fail = func(queue.Delivery) error {
		return queue.Classify(queue.Permanent, "100", fmt.Errorf(`POST https://graph.facebook.com/v23.0/123/messages?access_token=%s: 400 {"error":{"message":"Invalid parameter","fbtrace_id":"x"}} Authorization: Bearer %s`, token, token))
	}
	id := b.enqueue(t, store.NewQueueItem{})[0]
	b.step(t)
	it := b.item(t, id)
	if strings.Contains(it.LastError, token) || strings.Contains(it.LastError, "secrettoken") {
		t.Fatalf("token stored in last_error: %q", it.LastError)
	}
	if !strings.Contains(it.LastError, "Invalid parameter") {
		t.Fatalf("sanitizing lost the reason: %q", it.LastError)
	}
	evs, _ := b.db.QueueItemEvents(context.Background(), id)
	for _, e := range evs {
		if strings.Contains(e.Detail, "secrettoken") {
			t.Fatalf("token stored in history: %q", e.Detail)
		}
	}
}

func testReportingWindows(t *testing.T, b *bundle) {
	ctx := context.Background()
	// Items created 40 days, 10 days, 2 days, 3 hours and just now ago.
	ages := []time.Duration{40 * 24 * time.Hour, 10 * 24 * time.Hour, 2 * 24 * time.Hour, 3 * time.Hour, 0}
	start := b.clock.Now()
	for i := range ages {
		if i > 0 {
			b.clock.Advance(ages[i-1] - ages[i])
		}
		b.enqueue(t, store.NewQueueItem{})
	}
	now := b.clock.Now()
	if !now.Equal(start.Add(ages[0])) {
		t.Fatalf("clock at %v", now)
	}
	b.step(t) // sends all five
	rep := queue.NewReporter(b.db, b.clock.Now)
	windows, err := rep.Windows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"1h": 1, "24h": 2, "7d": 3, "30d": 4, "all": 5}
	if len(windows) != 5 {
		t.Fatalf("got %d windows, want 5", len(windows))
	}
	for _, w := range windows {
		if got := w.Counts[store.StatusSent]; got != want[w.Name] {
			t.Errorf("window %s: %d sent, want %d", w.Name, got, want[w.Name])
		}
	}
}

func testReceiptsOnlyMoveForward(t *testing.T, b *bundle) {
	ctx := context.Background()
	ids := b.enqueue(t, store.NewQueueItem{}, store.NewQueueItem{}, store.NewQueueItem{})
	b.step(t)
	pid := func(id int64) string { return b.item(t, id).ProviderMessageID }
	apply := func(id int64, st store.QueueStatus, wantChanged bool) {
		t.Helper()
		changed, err := b.db.ApplyReceipt(ctx, store.Receipt{Gateway: "fake", ProviderMessageID: pid(id), Status: st, Error: "131047: re-engagement window closed"})
		if err != nil {
			t.Fatal(err)
		}
		if changed != wantChanged {
			t.Fatalf("item #%d %s: changed = %v, want %v", id, st, changed, wantChanged)
		}
	}
	// In order, then replayed.
	apply(ids[0], store.StatusDelivered, true)
	apply(ids[0], store.StatusRead, true)
	apply(ids[0], store.StatusRead, false)
	apply(ids[0], store.StatusDelivered, false)
	apply(ids[0], store.StatusFailed, false)
	if it := b.item(t, ids[0]); it.Status != store.StatusRead || it.DeliveredAt.IsZero() || it.ReadAt.IsZero() {
		t.Fatalf("item read in order: %+v", it)
	}
	// Read before delivered ends read, with delivered_at filled in late.
	apply(ids[1], store.StatusRead, true)
	apply(ids[1], store.StatusDelivered, true)
	apply(ids[1], store.StatusDelivered, false)
	if it := b.item(t, ids[1]); it.Status != store.StatusRead || it.DeliveredAt.IsZero() {
		t.Fatalf("item read before delivered: %+v", it)
	}
	// An asynchronous failure fails a sent item with the provider's reason.
	apply(ids[2], store.StatusFailed, true)
	if it := b.item(t, ids[2]); it.Status != store.StatusFailed || !strings.Contains(it.LastError, "131047") || it.LastErrorClass != "async" {
		t.Fatalf("failed by receipt: %+v", it)
	}
	// Unknown ids and other gateways change nothing.
	for _, r := range []store.Receipt{
		{Gateway: "fake", ProviderMessageID: "wamid.unknown", Status: store.StatusRead},
		{Gateway: "other", ProviderMessageID: pid(ids[2]), Status: store.StatusRead},
	} {
		if changed, err := b.db.ApplyReceipt(ctx, r); err != nil || changed {
			t.Fatalf("receipt %+v: changed %v, err %v", r, changed, err)
		}
	}
}

func testHealthWarnings(t *testing.T, b *bundle) {
	ctx := context.Background()
	rep := queue.NewReporter(b.db, b.clock.Now)
	h, err := rep.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if kinds := warningKinds(h); kinds != "no_processor" {
		t.Fatalf("empty queue, no processor: warnings %q", kinds)
	}

	b.enqueue(t, store.NewQueueItem{Priority: store.PriorityCampaign}, store.NewQueueItem{Priority: store.PriorityIntake}, store.NewQueueItem{})
	b.clock.Advance(20 * time.Minute)
	b.enqueue(t, store.NewQueueItem{Priority: store.PriorityIntake})
	if err := b.db.PutHeartbeat(ctx, store.Heartbeat{ProcessorID: "p1", StartedAt: b.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	b.fake.Fail = func(d queue.Delivery) error {
		if calls++; calls == 1 {
			return queue.Classify(queue.Permanent, "131026", errors.New("undeliverable"))
		}
		return queue.Classify(queue.SenderBlocked, "190", errors.New("token expired"))
	}
	h, err = rep.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h.OldestDue.Equal(epoch) || h.OldestDueAge != 20*time.Minute || len(h.Processors) != 1 {
		t.Fatalf("health: oldest %v age %v processors %d", h.OldestDue, h.OldestDueAge, len(h.Processors))
	}
	if kinds := warningKinds(h); kinds != "blocked_queue" {
		t.Fatalf("warnings %q, want blocked_queue", kinds)
	}
	b.step(t) // one permanent failure, the rest held by a blocked gateway
	h, err = rep.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.FailedLastHour != 1 || len(h.BlockedGateways) != 1 {
		t.Fatalf("health after failures: failed %d blocked %v", h.FailedLastHour, h.BlockedGateways)
	}
	if kinds := warningKinds(h); !strings.Contains(kinds, "permanent_failures") || !strings.Contains(kinds, "gateway_blocked") {
		t.Fatalf("warnings %q", kinds)
	}
	for _, w := range h.Warnings {
		if w.Kind == "permanent_failures" && w.Message != "1 message failed in the last hour" {
			t.Fatalf("one failure is worded %q", w.Message)
		}
	}
	b.clock.Advance(2 * time.Minute) // the heartbeat goes stale
	if h, err = rep.Health(ctx); err != nil || !strings.Contains(warningKinds(h), "no_processor") {
		t.Fatalf("stale heartbeat: warnings %q, %v", warningKinds(h), err)
	}
}

func warningKinds(h queue.Health) string {
	var ks []string
	for _, w := range h.Warnings {
		ks = append(ks, w.Kind)
	}
	return strings.Join(ks, ",")
}

func itemIDs(items []store.QueueItem) []int64 {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}
