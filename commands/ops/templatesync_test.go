package ops_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// fakeTemplates is a gateway's template list that tests change between
// syncs.
type fakeTemplates struct {
	mu    sync.Mutex
	list  []store.CatalogEntry
	err   error
	calls int
}

func (f *fakeTemplates) set(list []store.CatalogEntry, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list, f.err = list, err
}

func (f *fakeTemplates) Templates(context.Context) ([]store.CatalogEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return append([]store.CatalogEntry(nil), f.list...), f.err
}

// listed is a template as the Cloud API gateway lists it: Meta's name,
// language, status, category and shape; no catalog name.
func listed(name, lang, status string, shape store.TemplateShape) store.CatalogEntry {
	return store.CatalogEntry{Kind: store.CatalogTemplate, ExternalID: name, Language: lang, Status: status, Category: "MARKETING",
		ParamCount: shape.BodyParams, Shape: shape}
}

// newSyncService is the operations with a dryrun gateway and a meta one
// whose template list is fake, on a clock.
func newSyncService(t *testing.T, fake *fakeTemplates, ready func(context.Context) string) (*ops.Service, *store.DB, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	db := storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	gws := []ops.Gateway{{Name: "dryrun", Caps: allCaps}, {Name: "meta", Caps: allCaps, Ready: ready, Templates: fake.Templates}}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"dryrun", "meta"}))
	if err != nil {
		t.Fatal(err)
	}
	svc := ops.New(db, settings.NewReader(reg, db, time.Nanosecond, nil), ops.Config{Gateways: gws, Now: clock.Now}, nil)
	return svc, db, clock
}

// entryNames lists the saved templates as "name → id:lang status synced".
func entryNames(t *testing.T, svc *ops.Service) []string {
	t.Helper()
	list, err := svc.Catalog(context.Background(), ops.CatalogTemplate)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		src := "hand-made"
		if e.Synced {
			src = "synced"
		}
		out = append(out, fmt.Sprintf("%s → %s:%s %s %s", e.Name, e.ExternalID, e.Language, e.Status, src))
	}
	return out
}

func names(list []ops.CatalogEntry) []string {
	var out []string
	for _, e := range list {
		out = append(out, e.Name)
	}
	sort.Strings(out)
	return out
}

// TestSyncTemplates: the account's templates come into the catalog under
// names that stay put, with their shape and status; a template in two
// languages gets "<name> <lang>" names; a template no longer listed is
// kept as DELETED; a hand-made entry of the same name is left alone and
// the clash reported; a second sync of the same list changes nothing.
func TestSyncTemplates(t *testing.T) {
	t.Parallel()
	fake := &fakeTemplates{}
	svc, db, clock := newSyncService(t, fake, nil)
	ctx := context.Background()
	hand := putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "thanks", ExternalID: "thank_you", Language: "en", Params: 1})

	image := store.TemplateShape{Header: store.HeaderImage, BodyParams: 1}
	named := store.TemplateShape{Header: store.HeaderText, HeaderParams: 1, HeaderName: "name", BodyParams: 2,
		BodyNames: []string{"name", "order_id"}, URLButtons: []int{1}}
	fake.set([]store.CatalogEntry{
		listed("diwali_offer", "hi", "APPROVED", image),
		listed("diwali_offer", "en", "APPROVED", image),
		listed("order_update", "en_US", "PAUSED", named),
		listed("thanks", "en", "APPROVED", store.TemplateShape{}),
		listed("old_promo", "en", "APPROVED", store.TemplateShape{BodyParams: 1}),
		listed("bad name", "en", "APPROVED", store.TemplateShape{}),
	}, nil)

	if _, err := svc.SyncTemplates(ctx, staff); ops.ErrorCode(err) != ops.EFORBIDDEN {
		t.Fatalf("staff sync: %v", err)
	}
	res, err := svc.SyncTemplates(ctx, operator)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 4 || res.Updated != 0 || res.Unchanged != 0 || res.Gone != 0 || len(res.Skipped) != 1 ||
		!reflect.DeepEqual(names(res.NotApproved), []string{"order_update"}) || !reflect.DeepEqual(res.Gateways, []string{"meta"}) {
		t.Fatalf("first sync: %+v", res)
	}
	if want := []ops.TemplateClash{{Name: "thanks", ExternalID: "thanks", Language: "en"}}; !reflect.DeepEqual(res.Clashes, want) {
		t.Fatalf("clashes = %+v, want %+v", res.Clashes, want)
	}
	if !strings.Contains(res.Skipped[0], "bad name") {
		t.Fatalf("skipped = %q", res.Skipped)
	}
	if got := res.Summary(); got != "4 added, 0 updated, 0 unchanged, 0 gone, 1 not approved, 1 clash with hand-made entries, 1 skipped" {
		t.Fatalf("summary = %q", got)
	}
	want := []string{
		"diwali_offer en → diwali_offer:en APPROVED synced",
		"diwali_offer hi → diwali_offer:hi APPROVED synced",
		"old_promo → old_promo:en APPROVED synced",
		"order_update → order_update:en_US PAUSED synced",
		"thanks → thank_you:en  hand-made",
	}
	if got := entryNames(t, svc); !reflect.DeepEqual(got, want) {
		t.Fatalf("catalog after the first sync:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ou, err := svc.CatalogEntry(ctx, ops.CatalogTemplate, "Order_Update")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ou.Shape, named) || ou.Params != 2 || ou.Category != "MARKETING" || ou.Approved() ||
		ou.HeaderWords() != "text header with {{name}}" || ou.ParamWords() != "params name, order_id, 1 URL button param" {
		t.Fatalf("order_update: %+v (%q, %q)", ou, ou.HeaderWords(), ou.ParamWords())
	}
	if d, _ := svc.CatalogEntry(ctx, ops.CatalogTemplate, "diwali_offer hi"); d.HeaderWords() != "image header" || d.ParamWords() != "1 param" || !d.Approved() {
		t.Fatalf("diwali_offer hi: %+v", d)
	}
	if h, _ := svc.CatalogEntry(ctx, ops.CatalogTemplate, "thanks"); !reflect.DeepEqual(h, hand) || h.HeaderWords() != "" || !h.Approved() {
		t.Fatalf("the hand-made entry changed: %+v, want %+v", h, hand)
	}

	// The same list again: nothing to write.
	clock.Advance(time.Hour)
	res, err = svc.SyncTemplates(ctx, operator)
	if err != nil || res.Added != 0 || res.Updated != 0 || res.Unchanged != 4 || res.Gone != 0 || len(res.NotApproved) != 1 {
		t.Fatalf("second sync: %+v, %v", res, err)
	}

	// Meta unpauses order_update, deletes diwali_offer en and old_promo,
	// adds welcome in one language.
	fake.set([]store.CatalogEntry{
		listed("diwali_offer", "hi", "APPROVED", image),
		listed("order_update", "en_US", "APPROVED", named),
		listed("thanks", "en", "APPROVED", store.TemplateShape{}),
		listed("welcome", "en", "REJECTED", store.TemplateShape{}),
	}, nil)
	clock.Advance(time.Hour)
	res, err = svc.SyncTemplates(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Updated != 1 || res.Unchanged != 1 || res.Gone != 2 || len(res.Clashes) != 1 ||
		!reflect.DeepEqual(names(res.NotApproved), []string{"welcome"}) || !reflect.DeepEqual(names(res.Removed), []string{"diwali_offer en", "old_promo"}) {
		t.Fatalf("third sync: %+v", res)
	}
	want = []string{
		"diwali_offer en → diwali_offer:en DELETED synced",
		"diwali_offer hi → diwali_offer:hi APPROVED synced",
		"old_promo → old_promo:en DELETED synced",
		"order_update → order_update:en_US APPROVED synced",
		"thanks → thank_you:en  hand-made",
		"welcome → welcome:en REJECTED synced",
	}
	if got := entryNames(t, svc); !reflect.DeepEqual(got, want) {
		t.Fatalf("catalog after the third sync:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	gone, _ := svc.CatalogEntry(ctx, ops.CatalogTemplate, "old_promo")
	if gone.Params != 1 || gone.Approved() {
		t.Fatalf("a gone template lost what it was: %+v", gone)
	}
	// A gone template that comes back gets its name again, and a
	// one-language template whose plain name a gone one holds is told
	// apart by its language.
	fake.set([]store.CatalogEntry{
		listed("old_promo", "en", "APPROVED", store.TemplateShape{BodyParams: 1}),
		listed("diwali_offer", "hi", "APPROVED", image),
		listed("diwali_offer", "en", "APPROVED", image),
		listed("order_update", "en_US", "APPROVED", named),
		listed("welcome", "en", "REJECTED", store.TemplateShape{}),
	}, nil)
	if res, err = svc.SyncTemplates(ctx, admin); err != nil || res.Updated != 2 || res.Gone != 0 {
		t.Fatalf("fourth sync: %+v, %v", res, err)
	}
	if e, _ := svc.CatalogEntry(ctx, ops.CatalogTemplate, "old_promo"); e.Status != "APPROVED" {
		t.Fatalf("old_promo came back as %+v", e)
	}

	log, err := db.AuditLog(ctx, 1)
	if err != nil || len(log) != 1 || log[0].Action != "templates.sync" || !strings.Contains(log[0].Detail, "2 updated") || log[0].Outcome != "ok" {
		t.Fatalf("audit: %+v, %v", log, err)
	}
}

// A list that cannot be read changes nothing and says why in plain words;
// a gateway not set up for it, or none with a list, matches ErrNotSetUp.
func TestSyncTemplatesRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := &fakeTemplates{}
	fake.set([]store.CatalogEntry{listed("order_update", "en", "APPROVED", store.TemplateShape{})}, nil)
	svc, _, _ := newSyncService(t, fake, nil)
	if _, err := svc.SyncTemplates(ctx, operator); err != nil {
		t.Fatal(err)
	}

	fake.set(nil, errors.New("meta: the access token was refused (190): renew meta.access_token on the admin page"))
	_, err := svc.SyncTemplates(ctx, operator)
	wantCode(t, err, ops.ECONFLICT, "Could not read the templates from meta, so nothing changed", "renew meta.access_token")
	if errors.Is(err, ops.ErrNotSetUp) {
		t.Fatal("a refusal was taken for a list not set up")
	}
	if e, err := svc.CatalogEntry(ctx, ops.CatalogTemplate, "order_update"); err != nil || e.Status != "APPROVED" {
		t.Fatalf("a failed sync changed the catalog: %+v, %v", e, err)
	}

	fake.set(nil, ops.NotSetUp("meta.waba_id is not set: set it to the WhatsApp Business Account id"))
	_, err = svc.SyncTemplates(ctx, operator)
	wantCode(t, err, ops.ECONFLICT, "Templates cannot be read yet: meta: meta.waba_id is not set")
	if !errors.Is(err, ops.ErrNotSetUp) {
		t.Fatalf("not set up: %v", err)
	}

	calls := fake.calls
	notReady, _, _ := newSyncService(t, fake, func(context.Context) string { return "not set up: the access token is empty" })
	_, err = notReady.SyncTemplates(ctx, operator)
	wantCode(t, err, ops.ECONFLICT, "meta: not set up: the access token is empty")
	if !errors.Is(err, ops.ErrNotSetUp) || fake.calls != calls {
		t.Fatalf("a gateway not ready was asked for its list: %v (%d calls)", err, fake.calls-calls)
	}

	none, _ := newService(t, storetest.OpenSQLite(t, storetest.Options{}), nil, nil)
	_, err = none.SyncTemplates(ctx, operator)
	wantCode(t, err, ops.ECONFLICT, "No gateway here reads templates")
	if !errors.Is(err, ops.ErrNotSetUp) {
		t.Fatalf("no list: %v", err)
	}
}

// Two syncs at once leave one entry per template.
func TestSyncTemplatesAtOnce(t *testing.T) {
	t.Parallel()
	fake := &fakeTemplates{}
	var list []store.CatalogEntry
	for i := range 20 {
		list = append(list, listed(fmt.Sprintf("promo_%02d", i), "en", "APPROVED", store.TemplateShape{BodyParams: i % 3}))
	}
	fake.set(list, nil)
	svc, _, _ := newSyncService(t, fake, nil)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.SyncTemplates(context.Background(), operator)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := entryNames(t, svc)
	if len(got) != 20 || got[0] != "promo_00 → promo_00:en APPROVED synced" {
		t.Fatalf("after three syncs at once: %v", got)
	}
}

// A synced entry is the sync's: saving one of its name by hand is refused
// with the reason, and the entry stays as synced. Removing it is allowed.
func TestSyncedEntriesAreNotEditedByHand(t *testing.T) {
	t.Parallel()
	fake := &fakeTemplates{}
	fake.set([]store.CatalogEntry{listed("order_update", "en", "APPROVED", store.TemplateShape{BodyParams: 1})}, nil)
	svc, _, _ := newSyncService(t, fake, nil)
	ctx := context.Background()
	if _, err := svc.SyncTemplates(ctx, operator); err != nil {
		t.Fatal(err)
	}
	_, err := svc.PutCatalogEntry(ctx, admin, ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "Order_Update", ExternalID: "other", Language: "hi"})
	wantCode(t, err, ops.ECONFLICT, "came from the account's template list", "another name")
	if e, _ := svc.CatalogEntry(ctx, ops.CatalogTemplate, "order_update"); !e.Synced || e.ExternalID != "order_update" {
		t.Fatalf("the synced entry changed: %+v", e)
	}
	if err := svc.RemoveCatalogEntry(ctx, admin, ops.CatalogTemplate, "order_update"); err != nil {
		t.Fatal(err)
	}
}
