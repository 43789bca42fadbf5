package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// Every lookup of one row says what it looked for and wraps ErrNotFound
// when there is no such row, on both dialects.
func TestLookupsOfOneRowSayNotFound(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, storetest.Options{}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		lookups := []struct {
			what string
			err  func() error
		}{
			{"campaign 404", func() error { _, err := db.Campaign(ctx, 404); return err }},
			{"queue item 404", func() error { _, err := db.QueueItem(ctx, 404); return err }},
			{"operator telegram:404", func() error { _, err := db.Operator(ctx, "telegram:404"); return err }},
			{"setting no.such", func() error { _, err := db.Setting(ctx, "no.such"); return err }},
			{"saved message 404", func() error { _, err := db.SavedMessageByID(ctx, 404); return err }},
			{`saved message "gone"`, func() error { _, err := db.SavedMessageByName(ctx, "gone"); return err }},
			{"media object 404", func() error { _, err := db.MediaObject(ctx, 404); return err }},
			{"admin user nobody", func() error { _, err := db.AdminUserByName(ctx, "nobody"); return err }},
			{"recent item for +919800000000", func() error {
				_, err := db.RecentItemForPhone(ctx, "+919800000000", time.Now().Add(-time.Hour))
				return err
			}},
		}
		for _, l := range lookups {
			err := l.err()
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", l.what, err)
				continue
			}
			if !strings.HasPrefix(err.Error(), l.what+": ") {
				t.Errorf("%s: error %q does not say what was looked for", l.what, err)
			}
		}
		if pos, ok, err := db.Cursor(ctx, "nowhere"); err != nil || ok || pos != 0 {
			t.Errorf("Cursor of an unsaved name = %d, %v, %v; want 0, false, nil", pos, ok, err)
		}
	})
}
