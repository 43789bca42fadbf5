package queue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// windowStore counts the window reads the loop makes.
// windowStore counts the window reads the loop makes; with down set they
// fail as when the database is away.
type windowStore struct {
	*store.DB
	reads atomic.Int64
	down  atomic.Bool
}

func (s *windowStore) CustomerWindow(ctx context.Context, gateway, phone string) (store.Window, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return store.Window{}, errors.New("database is away")
	}
	return s.DB.CustomerWindow(ctx, gateway, phone)
}

// intake is a fake Reengager: the operations layer's intake template.
type intake struct {
	mu    sync.Mutex
	asked []int64
	none  bool
}

func (r *intake) IntakeTemplate(_ context.Context, it store.QueueItem) (store.QueueContent, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, it.ID)
	if r.none {
		return store.QueueContent{}, false, nil
	}
	return store.QueueContent{Kind: store.ContentTemplate, TemplateName: "order_intake", TemplateLanguage: "en",
		TemplateParams: []string{it.CreatedBy}}, true, nil
}

func (r *intake) askedFor() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.asked)
}

// cloudAPI is a fake gateway that enforces the window the way Meta does:
// free-form messages to a customer not in open are refused with 131047
// in the send answer; templates always go. It keeps every delivery it
// took.
type cloudAPI struct {
	fake.Sender
	mu   sync.Mutex
	open map[string]bool
	took []queue.Delivery
}

func newCloudAPI() *cloudAPI {
	c := &cloudAPI{open: map[string]bool{}}
	c.Fail = func(d queue.Delivery) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if d.Kind != queue.KindTemplate && !c.open[d.Phone] {
			return queue.Classify(queue.Permanent, "131047",
				fmt.Errorf("meta send: Re-engagement message: %w", queue.ErrWindowClosed))
		}
		c.took = append(c.took, d)
		return nil
	}
	return c
}

func (c *cloudAPI) setOpen(phone string, open bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open[phone] = open
}

func (c *cloudAPI) deliveries() []queue.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.took)
}

// windowBundle is a loop on the bundle's database and clock with two
// gateways: "meta", with a 24-hour window, and "plain", without.
type windowBundle struct {
	*bundle
	st    *windowStore
	meta  *cloudAPI
	plain *fake.Sender
	rec   *recorder
}

func setupWindow(t *testing.T, b *bundle, r queue.Reengager) *windowBundle {
	t.Helper()
	w := &windowBundle{bundle: b, st: &windowStore{DB: b.db}, meta: newCloudAPI(), plain: &fake.Sender{}, rec: &recorder{}}
	w.loop = queue.New(queue.Config{
		Workers:     16,
		ProcessorID: "test-processor",
		Retry:       queue.Backoff{Base: retryBase, Cap: 10 * retryBase},
		Observer:    w.rec,
		Now:         b.clock.Now,
		WindowOf: func(gateway string) time.Duration {
			if gateway == "meta" {
				return 24 * time.Hour
			}
			return 0
		},
		Reengage: r,
	}, w.st, queue.StaticGateways{Active: "meta", Senders: map[string]queue.Sender{"meta": w.meta, "plain": w.plain}}, nil)
	return w
}

// wrote records a message from phone on meta at the clock's time.
func (w *windowBundle) wrote(t *testing.T, phone string) {
	t.Helper()
	if _, _, err := w.db.RecordInbound(context.Background(), store.InboundMessage{Gateway: "meta",
		ProviderMessageID: fmt.Sprintf("wamid.%s.%d", phone, w.clock.Now().UnixNano()), Phone: phone,
		Kind: store.InboundText, Body: "hi", ReceivedAt: w.clock.Now()}); err != nil {
		t.Fatal(err)
	}
}

func (w *windowBundle) outcomes() []string {
	var out []string
	for _, o := range w.rec.take() {
		out = append(out, o.outcome)
	}
	return out
}

func TestWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, b *bundle)
	}{
		{"ClosedGoesAsIntakeTemplate", testClosedGoesAsIntakeTemplate},
		{"ClosedWithoutTemplateIsHeld", testClosedWithoutTemplateIsHeld},
		{"RefusedInSendAnswer", testRefusedInSendAnswer},
		{"RefusedInFailedStatus", testRefusedInFailedStatus},
		{"CampaignFreeFormFails", testCampaignFreeFormFails},
		{"NoWindowNoRead", testNoWindowNoRead},
		{"WindowUnreadable", testWindowUnreadable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachDialect(t, tc.fn)
		})
	}
}

// A staff text to a customer who never wrote goes as the intake template:
// the item's stored content becomes the template, sent in its one
// attempt, and the gateway sees no free-form message. Once the customer
// writes, the next staff text goes as text until the window ends at 24h.
func testClosedGoesAsIntakeTemplate(t *testing.T, b *bundle) {
	r := &intake{}
	w := setupWindow(t, b, r)
	const phone = "+919876500101"
	ids := w.enqueue(t, store.NewQueueItem{Phone: phone})
	w.step(t)
	it := w.item(t, ids[0])
	if it.Status != store.StatusSent || it.Attempts != 1 || it.Content.Kind != store.ContentTemplate ||
		it.Content.TemplateName != "order_intake" || !slices.Equal(it.Content.TemplateParams, []string{"telegram:42"}) {
		t.Fatalf("item after a closed window: %s attempts %d content %+v", it.Status, it.Attempts, it.Content)
	}
	got := w.meta.deliveries()
	if w.meta.Calls() != 1 || len(got) != 1 || got[0].Kind != queue.KindTemplate || got[0].Template.Name != "order_intake" ||
		!slices.Equal(got[0].Template.Params, []string{"telegram:42"}) {
		t.Fatalf("gateway got %d calls, %+v; want the intake template once", w.meta.Calls(), got)
	}
	if o := w.outcomes(); !slices.Equal(o, []string{"sent"}) {
		t.Errorf("observed %v", o)
	}
	evs, err := w.db.QueueItemEvents(context.Background(), ids[0])
	if err != nil || !slices.ContainsFunc(evs, func(e store.QueueEvent) bool { return e.Event == store.EventConverted }) {
		t.Errorf("history %+v (%v) does not say it was converted", evs, err)
	}

	// The customer writes: staff's next text goes as text, with no
	// intake template asked for.
	w.wrote(t, phone)
	w.meta.setOpen(phone, true)
	b.clock.Advance(time.Hour)
	ids = w.enqueue(t, store.NewQueueItem{Phone: phone})
	w.step(t)
	if it := w.item(t, ids[0]); it.Status != store.StatusSent || it.Content.Kind != store.ContentText {
		t.Fatalf("text in the open window: %s %s", it.Status, it.Content.Kind)
	}
	if got := w.meta.deliveries(); len(got) != 2 || got[1].Kind != queue.KindText {
		t.Fatalf("gateway got %+v, want the text second", got)
	}
	if a := r.askedFor(); len(a) != 1 {
		t.Errorf("intake template asked for %v, want only the first item", a)
	}

	// At exactly 24h after the customer's message the window is closed.
	b.clock.Advance(23 * time.Hour)
	ids = w.enqueue(t, store.NewQueueItem{Phone: phone})
	w.step(t)
	if it := w.item(t, ids[0]); it.Status != store.StatusSent || it.Content.Kind != store.ContentTemplate {
		t.Fatalf("at 24h: %s %s, want sent as the template", it.Status, it.Content.Kind)
	}
}

// Without an intake template a staff text to a closed window is held: it
// stays queued with its attempt given back and a plain reason, spends no
// gateway call and counts as no failure. When the customer writes,
// ReleaseHeld makes it due and it goes as text.
func testClosedWithoutTemplateIsHeld(t *testing.T, b *bundle) {
	for i, r := range []queue.Reengager{nil, &intake{none: true}} {
		w := setupWindow(t, b, r)
		phone := fmt.Sprintf("+91987650020%d", i)
		ids := w.enqueue(t, store.NewQueueItem{Phone: phone})
		if n := w.step(t); n != 1 {
			t.Fatalf("stepped %d", n)
		}
		it := w.item(t, ids[0])
		if it.Status != store.StatusQueued || it.Attempts != 0 || it.LastErrorClass != store.OutcomeWindowClosed ||
			!strings.Contains(it.LastError, "intake.template") || !strings.Contains(it.LastError, "window is closed") ||
			!it.NextAttemptAt.After(w.clock.Now().Add(time.Hour)) || it.Content.Kind != store.ContentText {
			t.Fatalf("held item (reengager %T): %+v", r, it)
		}
		if w.meta.Calls() != 0 {
			t.Fatalf("the gateway was called %d times for a held item", w.meta.Calls())
		}
		if o := w.outcomes(); len(o) != 0 {
			t.Errorf("a held item was observed as %v", o)
		}
		if n := w.step(t); n != 0 {
			t.Fatalf("a held item was claimed again at once (%d)", n)
		}

		w.clock.Advance(time.Minute)
		w.wrote(t, phone)
		w.meta.setOpen(phone, true)
		if n, err := w.db.ReleaseHeld(context.Background(), "meta", phone); err != nil || n != 1 {
			t.Fatalf("release held: %d, %v", n, err)
		}
		if n := w.step(t); n != 1 {
			t.Fatalf("the released item was not claimed (%d)", n)
		}
		it = w.item(t, ids[0])
		if it.Status != store.StatusSent || it.Attempts != 1 || it.Content.Kind != store.ContentText {
			t.Fatalf("released item: %s attempts %d %s", it.Status, it.Attempts, it.Content.Kind)
		}
		if o := w.outcomes(); !slices.Equal(o, []string{"sent"}) {
			t.Errorf("observed %v", o)
		}
	}
}

// The loop thinks the window is open, but the provider refuses the text
// with 131047 in its answer: the window is recorded closed and the item
// goes once more, in the same attempt, as the intake template; without
// one it is held. A template is never converted again.
func testRefusedInSendAnswer(t *testing.T, b *bundle) {
	ctx := context.Background()
	r := &intake{}
	w := setupWindow(t, b, r)
	const phone = "+919876500301"
	w.wrote(t, phone) // the provider does not agree: w.meta keeps it closed
	ids := w.enqueue(t, store.NewQueueItem{Phone: phone})
	w.step(t)
	it := w.item(t, ids[0])
	if it.Status != store.StatusSent || it.Attempts != 1 || it.Content.Kind != store.ContentTemplate {
		t.Fatalf("refused text: %s attempts %d %s; want sent as the template in one attempt", it.Status, it.Attempts, it.Content.Kind)
	}
	if got := w.meta.deliveries(); w.meta.Calls() != 2 || len(got) != 1 || got[0].Kind != queue.KindTemplate {
		t.Fatalf("gateway: %d calls, took %+v; want the refused text, then the template", w.meta.Calls(), got)
	}
	if o := w.outcomes(); !slices.Equal(o, []string{"window_closed", "sent"}) {
		t.Errorf("observed %v", o)
	}
	win, err := w.db.CustomerWindow(ctx, "meta", phone)
	if err != nil || win.ClosedAt.IsZero() || win.OpenAt(w.clock.Now(), 24*time.Hour) {
		t.Fatalf("window after 131047: %+v, %v", win, err)
	}

	// Without a template, the refused item is held.
	w2 := setupWindow(t, b, nil)
	const phone2 = "+919876500302"
	w2.wrote(t, phone2)
	ids = w2.enqueue(t, store.NewQueueItem{Phone: phone2})
	w2.step(t)
	if it := w2.item(t, ids[0]); it.Status != store.StatusQueued || it.Attempts != 0 || it.LastErrorClass != store.OutcomeWindowClosed {
		t.Fatalf("refused text without a template: %s attempts %d class %q", it.Status, it.Attempts, it.LastErrorClass)
	}
	if o := w2.outcomes(); !slices.Equal(o, []string{"window_closed"}) {
		t.Errorf("observed %v", o)
	}

	// A template refused with 131047 (a provider's mistake) is decided as
	// the error says, not converted again.
	w3 := setupWindow(t, b, r)
	w3.meta.Fail = func(queue.Delivery) error {
		return queue.Classify(queue.Permanent, "131047", fmt.Errorf("meta send: %w", queue.ErrWindowClosed))
	}
	ids = w3.enqueue(t, store.NewQueueItem{Phone: "+919876500303",
		Content: store.QueueContent{Kind: store.ContentTemplate, TemplateName: "order_ready", TemplateLanguage: "en"}})
	asked := len(r.askedFor())
	w3.step(t)
	if it := w3.item(t, ids[0]); it.Status != store.StatusFailed || w3.meta.Calls() != 1 || len(r.askedFor()) != asked {
		t.Fatalf("refused template: %s after %d calls", it.Status, w3.meta.Calls())
	}
}

// A failed status with 131047 puts the staff text back in the queue; the
// loop then sends it as the intake template.
func testRefusedInFailedStatus(t *testing.T, b *bundle) {
	ctx := context.Background()
	w := setupWindow(t, b, &intake{})
	const phone = "+919876500401"
	w.wrote(t, phone)
	w.meta.setOpen(phone, true) // the send answer accepts it…
	ids := w.enqueue(t, store.NewQueueItem{Phone: phone})
	w.step(t)
	it := w.item(t, ids[0])
	if it.Status != store.StatusSent || it.Content.Kind != store.ContentText {
		t.Fatalf("first send: %s %s", it.Status, it.Content.Kind)
	}
	w.clock.Advance(time.Minute)
	// …and the status webhook fails it.
	if changed, err := w.db.ApplyReceipt(ctx, store.Receipt{Gateway: "meta", ProviderMessageID: it.ProviderMessageID,
		Status: store.StatusFailed, At: w.clock.Now(), Error: "meta code 131047", WindowClosed: true}); err != nil || !changed {
		t.Fatalf("receipt: %v, %v", changed, err)
	}
	w.meta.setOpen(phone, false)
	if n := w.step(t); n != 1 {
		t.Fatalf("the requeued item was not claimed (%d)", n)
	}
	it = w.item(t, ids[0])
	if it.Status != store.StatusSent || it.Content.Kind != store.ContentTemplate || it.Attempts != 1 {
		t.Fatalf("after the failed status: %s %s attempts %d", it.Status, it.Content.Kind, it.Attempts)
	}
	if got := w.meta.deliveries(); len(got) != 2 || got[1].Kind != queue.KindTemplate {
		t.Fatalf("gateway took %+v", got)
	}
}

// On a gateway with a window a campaign must send a template: a free-form
// campaign item fails with a reason naming templates, without a gateway
// call or an intake template; a campaign template goes.
func testCampaignFreeFormFails(t *testing.T, b *bundle) {
	ctx := context.Background()
	r := &intake{}
	w := setupWindow(t, b, r)
	camp, err := w.db.CreateCampaign(ctx, "Diwali", "telegram:42")
	if err != nil {
		t.Fatal(err)
	}
	ids := w.enqueue(t,
		store.NewQueueItem{Phone: "+919876500501", CampaignID: camp.ID, Priority: store.PriorityCampaign},
		store.NewQueueItem{Phone: "+919876500502", CampaignID: camp.ID, Priority: store.PriorityCampaign,
			Content: store.QueueContent{Kind: store.ContentTemplate, TemplateName: "diwali_offer", TemplateLanguage: "en"}})
	w.step(t)
	it := w.item(t, ids[0])
	if it.Status != store.StatusFailed || !strings.Contains(it.LastError, "template") || !strings.Contains(it.LastError, "campaign") ||
		it.Content.Kind != store.ContentText {
		t.Fatalf("free-form campaign item: %s %q", it.Status, it.LastError)
	}
	if it := w.item(t, ids[1]); it.Status != store.StatusSent {
		t.Fatalf("campaign template: %s", it.Status)
	}
	if got := w.meta.deliveries(); w.meta.Calls() != 1 || len(got) != 1 || got[0].Kind != queue.KindTemplate {
		t.Fatalf("gateway: %d calls, took %+v", w.meta.Calls(), got)
	}
	if len(r.askedFor()) != 0 {
		t.Errorf("intake template asked for a campaign item")
	}
}

// A gateway without a window sends text to anyone, and neither it nor a
// template on a window gateway costs a window read; a free-form item on
// the window gateway costs one.
func testNoWindowNoRead(t *testing.T, b *bundle) {
	w := setupWindow(t, b, &intake{})
	ids := w.enqueue(t,
		store.NewQueueItem{Phone: "+919876500601", Gateway: "plain"},
		store.NewQueueItem{Phone: "+919876500602", Gateway: "plain",
			Content: store.QueueContent{Kind: store.ContentFlow, FlowID: "f1"}},
		store.NewQueueItem{Phone: "+919876500603",
			Content: store.QueueContent{Kind: store.ContentTemplate, TemplateName: "order_ready", TemplateLanguage: "en"}})
	w.step(t)
	for _, id := range ids {
		if it := w.item(t, id); it.Status != store.StatusSent || it.Content.Kind == store.ContentTemplate != (id == ids[2]) {
			t.Fatalf("item %d: %s %s", id, it.Status, it.Content.Kind)
		}
	}
	if n := w.plain.Calls(); n != 2 {
		t.Errorf("plain gateway called %d times, want 2", n)
	}
	if n := w.st.reads.Load(); n != 0 {
		t.Errorf("%d window reads for items that need none", n)
	}
	w.enqueue(t, store.NewQueueItem{Phone: "+919876500604"})
	w.step(t)
	if n := w.st.reads.Load(); n != 1 {
		t.Errorf("%d window reads for one free-form item on the window gateway, want 1", n)
	}
}

// When the window cannot be read the free-form item is not sent: it waits
// a moment with its attempt given back, and goes once the window is known.
func testWindowUnreadable(t *testing.T, b *bundle) {
	w := setupWindow(t, b, &intake{})
	w.st.down.Store(true)
	ids := w.enqueue(t, store.NewQueueItem{Phone: "+919876500701"})
	w.step(t)
	it := w.item(t, ids[0])
	if it.Status != store.StatusQueued || it.Attempts != 0 || it.LastErrorClass != queue.OutcomeUnavailable.String() ||
		!strings.Contains(it.LastError, "window") || w.meta.Calls() != 0 {
		t.Fatalf("item while the window is unreadable: %s attempts %d class %q %q, %d gateway calls",
			it.Status, it.Attempts, it.LastErrorClass, it.LastError, w.meta.Calls())
	}
	w.st.down.Store(false)
	w.clock.Advance(time.Minute)
	w.step(t)
	if it := w.item(t, ids[0]); it.Status != store.StatusSent || it.Content.Kind != store.ContentTemplate {
		t.Fatalf("once readable: %s %s", it.Status, it.Content.Kind)
	}
}
