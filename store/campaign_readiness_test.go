package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestCampaignTxReadsAndNotices runs, on every dialect, what the readiness
// check and the scheduler read and write inside a campaign's transaction:
// the active gateway setting, a saved message, the contacts' columns, the
// pause reason and scheduler, and a staff notice about the campaign that
// the notice outbox claims beside item notices.
func TestCampaignTxReadsAndNotices(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, storetest.Options{}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		putOperator(t, db, "telegram:5", store.RoleOperator)
		if err := db.PutSetting(ctx, "gateway.active", "whapi", false, "test"); err != nil {
			t.Fatal(err)
		}
		msgID, err := db.CreateSavedMessage(ctx, "hello", "text", "Hello!", 0, "test")
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.CreateCampaign(ctx, "Diwali", "telegram:5")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := db.AddCampaignContacts(ctx, c.ID, []store.NewContact{
			{Phone: "+919876543201", Name: "Asha", Vars: map[string]string{"City": "Pune"}},
			{Phone: "+919876543202", Name: "Ravi", Vars: map[string]string{"City": " "}},
		}); err != nil {
			t.Fatal(err)
		}
		for _, by := range []string{"web:admin", "telegram:5"} {
			reason := "it did not start: " + strings.Repeat("x", 1200)
			got, err := db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
				if v, ok, err := tx.Setting("gateway.active"); err != nil || !ok || v != "whapi" {
					t.Errorf("tx.Setting = %q, %v, %v", v, ok, err)
				}
				if _, ok, err := tx.Setting("no.such"); err != nil || ok {
					t.Errorf("tx.Setting of an unset name: %v, %v", ok, err)
				}
				if m, err := tx.SavedMessage(msgID); err != nil || m.Name != "hello" {
					t.Errorf("tx.SavedMessage = %+v, %v", m, err)
				}
				if _, err := tx.SavedMessage(msgID + 100); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("tx.SavedMessage of no message: %v", err)
				}
				if cols, total, err := tx.ContactColumns(); err != nil || total != 2 || cols["City"] != 1 {
					t.Errorf("tx.ContactColumns = %v, %d, %v", cols, total, err)
				}
				if err := tx.Update(store.CampaignUpdate{ScheduledBy: &by, PauseReason: &reason}); err != nil {
					return err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.ScheduledBy != by || len([]rune(got.PauseReason)) != 1000 || !strings.HasPrefix(got.PauseReason, "it did not start") {
				t.Fatalf("scheduled by %q, reason of %d characters", got.ScheduledBy, len([]rune(got.PauseReason)))
			}
			var told bool
			if _, err := db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
				told, err = tx.NotifyScheduler()
				return err
			}); err != nil {
				t.Fatal(err)
			}
			// The web page is not a chat: only an operator is told.
			if want := by == "telegram:5"; told != want {
				t.Fatalf("scheduled by %s: told = %v, want %v", by, told, want)
			}
		}
		ns, err := db.CampaignNotices(ctx, c.ID)
		if err != nil || len(ns) != 1 || ns[0].Recipient != "telegram:5" || ns[0].ItemID != 0 || ns[0].CampaignID != c.ID {
			t.Fatalf("campaign notices: %+v, %v", ns, err)
		}
		claimed, err := db.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: []string{"telegram"}, Token: "tok"})
		if err != nil || len(claimed) != 1 || claimed[0].CampaignID != c.ID || claimed[0].ItemID != 0 {
			t.Fatalf("claimed: %+v, %v", claimed, err)
		}
		if ok, err := db.FinishStaffNotice(ctx, claimed[0].ID, "tok", store.NoticeOutcome{State: store.NoticeSent}); err != nil || !ok {
			t.Fatalf("finish: %v, %v", ok, err)
		}
	})
}

// The readiness check reads the template catalog (status and shape) inside
// the campaign's transaction, on every dialect.
func TestCampaignTxCatalogEntries(t *testing.T) {
	t.Parallel()
	storetest.ForEachDialect(t, storetest.Options{}, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		shape := store.TemplateShape{Header: store.HeaderImage, BodyParams: 1, URLButtons: []int{1}}
		if _, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogTemplate, Name: "diwali_offer", ExternalID: "diwali_offer",
			Language: "en", ParamCount: 1, Shape: shape, Status: store.TemplatePaused}, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PutCatalogEntry(ctx, store.CatalogEntry{Kind: store.CatalogFlow, Name: "welcome", ExternalID: "123"}, "test"); err != nil {
			t.Fatal(err)
		}
		c, err := db.CreateCampaign(ctx, "Diwali", "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
			list, err := tx.CatalogEntries(store.CatalogTemplate)
			if err != nil {
				return err
			}
			if len(list) != 1 || list[0].Status != store.TemplatePaused || list[0].Shape.Header != store.HeaderImage || len(list[0].Shape.URLButtons) != 1 {
				t.Errorf("tx.CatalogEntries = %+v", list)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}
