package store_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// testSyncedCatalog: a synced template is inserted, then updated in place
// (keeping its id and creation); a hand-made entry of the same name is
// never changed; two syncs writing one new name at once both succeed.
func testSyncedCatalog(t *testing.T, db *store.DB) {
	ctx := context.Background()
	at := sql.NullTime{Time: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), Valid: true}
	shape := store.TemplateShape{Header: store.HeaderImage, BodyParams: 2, BodyNames: []string{"name", "order"}, URLButtons: []int{1}}
	e := store.CatalogEntry{Kind: store.CatalogTemplate, Name: "diwali_offer hi", ExternalID: "diwali_offer", Language: "hi",
		ParamCount: 2, Shape: shape, Status: store.TemplateApproved, Category: "MARKETING", SyncedAt: at}
	first, err := db.PutSyncedCatalogEntry(ctx, e, "system:template-sync")
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || !first.SyncedAt.Valid || !first.SyncedAt.Time.Equal(at.Time) || !reflect.DeepEqual(first.Shape, shape) ||
		first.Status != store.TemplateApproved || first.Category != "MARKETING" || first.CreatedBy != "system:template-sync" {
		t.Fatalf("inserted %+v", first)
	}
	e.Status, e.Shape.URLButtons = store.TemplatePaused, nil
	e.SyncedAt.Time = at.Time.Add(time.Hour)
	again, err := db.PutSyncedCatalogEntry(ctx, e, "web:asha")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Status != store.TemplatePaused || len(again.Shape.URLButtons) != 0 ||
		!again.SyncedAt.Time.Equal(e.SyncedAt.Time) || again.CreatedBy != "system:template-sync" || again.UpdatedBy != "web:asha" {
		t.Fatalf("updated %+v (first %+v)", again, first)
	}

	hand, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogTemplate, Name: "thanks", ExternalID: "thank_you",
		Language: "en", ParamCount: 1}, "web:asha")
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.PutSyncedCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogTemplate, Name: "thanks", ExternalID: "thanks",
		Language: "en_US", Status: store.TemplateApproved, SyncedAt: at}, "system:template-sync")
	if !errors.Is(err, store.ErrHandMade) {
		t.Fatalf("sync over a hand-made entry: err = %v, want ErrHandMade", err)
	}
	if got, err := db.CatalogEntry(ctx, store.CatalogTemplate, "thanks"); err != nil || !reflect.DeepEqual(got, hand) {
		t.Fatalf("the hand-made entry changed: %+v, %v; want %+v", got, err, hand)
	}
	if _, err := db.PutSyncedCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogTemplate, Name: "x", ExternalID: "x"}, "t"); err == nil {
		t.Fatal("an entry without a sync time was saved as synced")
	}

	// Two syncs of one new name at once.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.PutSyncedCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogTemplate, Name: "order_update",
				ExternalID: "order_update", Language: "en", ParamCount: 1, Status: store.TemplateApproved, SyncedAt: at}, "system:template-sync")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent syncs: %v", err)
		}
	}
	list, err := db.CatalogEntries(ctx, store.CatalogTemplate)
	if err != nil || len(list) != 3 {
		t.Fatalf("templates after the syncs: %+v, %v", list, err)
	}
}
