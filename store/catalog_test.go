package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/messagebridge/messagebridge/store"
)

// testCatalog: entries are saved by (kind, name), replaced in place, listed
// per kind by name, and deleted.
func testCatalog(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if _, err := db.CatalogEntry(ctx, store.CatalogFlow, "welcome"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing entry: err = %v, want ErrNotFound", err)
	}
	if list, err := db.CatalogEntries(ctx, store.CatalogFlow); err != nil || len(list) != 0 {
		t.Fatalf("empty catalog: %v, %v", list, err)
	}
	first, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogFlow, Name: "welcome", ExternalID: "111"}, "web:asha")
	if err != nil {
		t.Fatal(err)
	}
	want := store.CatalogEntry{ID: first.ID, Kind: "flow", Name: "welcome", ExternalID: "111",
		CreatedAt: conformanceEpoch, CreatedBy: "web:asha", UpdatedAt: conformanceEpoch, UpdatedBy: "web:asha"}
	if first.ID == 0 || !reflect.DeepEqual(first, want) {
		t.Fatalf("put = %+v, want %+v", first, want)
	}
	// The same name as a template is another entry.
	tpl, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogTemplate, Name: "welcome", ExternalID: "welcome_v2",
		Language: "en_US", ParamCount: 2}, "web:asha")
	if err != nil {
		t.Fatal(err)
	}
	if tpl.ID == first.ID || tpl.Language != "en_US" || tpl.ParamCount != 2 {
		t.Fatalf("template = %+v", tpl)
	}
	// Saving the flow again replaces its values, keeps its id and creation.
	again, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogFlow, Name: "welcome", ExternalID: "222",
		Language: "hi", ParamCount: 1}, "web:ravi")
	if err != nil {
		t.Fatal(err)
	}
	want.ExternalID, want.Language, want.ParamCount, want.UpdatedBy = "222", "hi", 1, "web:ravi"
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("second put = %+v, want %+v", again, want)
	}
	for _, name := range []string{"order status", "abandoned cart"} {
		if _, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogFlow, Name: name, ExternalID: "9"}, "web:asha"); err != nil {
			t.Fatal(err)
		}
	}
	flows, err := db.CatalogEntries(ctx, store.CatalogFlow)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range flows {
		names = append(names, e.Name)
	}
	if want := []string{"abandoned cart", "order status", "welcome"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("flows = %v, want %v", names, want)
	}
	if !reflect.DeepEqual(flows[2], again) {
		t.Fatalf("listed %+v, got %+v alone", flows[2], again)
	}
	templates, err := db.CatalogEntries(ctx, store.CatalogTemplate)
	if err != nil || len(templates) != 1 || !reflect.DeepEqual(templates[0], tpl) {
		t.Fatalf("templates = %+v, %v; want only %+v", templates, err, tpl)
	}
	if _, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: "sticker", Name: "x", ExternalID: "1"}, "t"); err == nil {
		t.Fatal("an entry of an unknown kind was saved")
	}

	if err := db.DeleteCatalogEntry(ctx, store.CatalogFlow, "welcome"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CatalogEntry(ctx, store.CatalogFlow, "welcome"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted entry: err = %v, want ErrNotFound", err)
	}
	if err := db.DeleteCatalogEntry(ctx, store.CatalogFlow, "welcome"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: err = %v, want ErrNotFound", err)
	}
	if got, err := db.CatalogEntry(ctx, store.CatalogTemplate, "welcome"); err != nil || !reflect.DeepEqual(got, tpl) {
		t.Fatalf("the template of the same name: %+v, %v", got, err)
	}
}
