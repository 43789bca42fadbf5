package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// A removed operator is remembered as removed (by whom, when) until it is
// put again, on every dialect.
func TestOperatorRemovalIsRemembered(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(conformanceEpoch)
			testOperatorRemoval(t, storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now}), clock)
		})
	}
}

func testOperatorRemoval(t *testing.T, db *store.DB, clock *storetest.Clock) {
	ctx := context.Background()
	s, err := db.DescribeSchema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"identity", "removed_at", "removed_by"}; !slices.Equal(s.Columns["removed_operators"], want) {
		t.Fatalf("removed_operators columns %v, want %v", s.Columns["removed_operators"], want)
	}
	if _, err := db.OperatorRemoval(ctx, "console:local"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removal of an identity never seen: %v", err)
	}
	for _, id := range []string{"console:local", "telegram:9"} {
		if _, err := db.PutOperator(ctx, id, store.RoleAdmin, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(id, by string) {
		t.Helper()
		if err := db.WithOperators(ctx, func(tx *store.OperatorTx) error { return tx.RemoveBy(id, by) }); err != nil {
			t.Fatal(err)
		}
	}
	remove("console:local", "telegram:9")
	r, err := db.OperatorRemoval(ctx, "console:local")
	if err != nil || r.Identity != "console:local" || r.RemovedBy != "telegram:9" || !r.RemovedAt.Equal(conformanceEpoch) {
		t.Fatalf("removal %+v, %v", r, err)
	}
	if _, err := db.Operator(ctx, "console:local"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the removed operator is still there: %v", err)
	}
	// Seen inside an operators transaction too.
	if err := db.WithOperators(ctx, func(tx *store.OperatorTx) error {
		r, err := tx.Removal("console:local")
		if err != nil || r.RemovedBy != "telegram:9" {
			t.Errorf("removal in a transaction %+v, %v", r, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Put again (in a transaction, as admins do): no longer removed.
	if err := db.WithOperators(ctx, func(tx *store.OperatorTx) error { return tx.Put("console:local", store.RoleStaff, "", "telegram:9") }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OperatorRemoval(ctx, "console:local"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removal after the identity was added again: %v", err)
	}
	// Removed twice: the latest removal is the one remembered.
	remove("console:local", "telegram:9")
	clock.Advance(time.Hour)
	if _, err := db.PutOperator(ctx, "console:local", store.RoleStaff, "", "MB_BOOTSTRAP_ADMINS"); err != nil {
		t.Fatal(err)
	}
	remove("console:local", "")
	if r, err := db.OperatorRemoval(ctx, "console:local"); err != nil || r.RemovedBy != "" || !r.RemovedAt.Equal(conformanceEpoch.Add(time.Hour)) {
		t.Fatalf("second removal %+v, %v", r, err)
	}
	// PutOperator (bootstrap admins) clears it too.
	if _, err := db.PutOperator(ctx, "console:local", store.RoleAdmin, "", "MB_BOOTSTRAP_ADMINS"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OperatorRemoval(ctx, "console:local"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removal after PutOperator: %v", err)
	}
}
