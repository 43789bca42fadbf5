package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestShownItemsAreRedacted: an item's last error written before a secret
// was set is shown with the secret redacted by every operation that
// returns the item, Cancel and EditPhone included.
func TestShownItemsAreRedacted(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, func() {})
	ctx := context.Background()
	const secret = "hunter2-correct-horse-battery"

	ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{
		{Phone: "+919876543210", MaxAttempts: 1, CreatedBy: "test", Content: store.QueueContent{Kind: store.ContentText, Body: "a"}},
		{Phone: "+919876543211", MaxAttempts: 1, CreatedBy: "test", Content: store.QueueContent{Kind: store.ContentText, Body: "b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 10, Owner: "test", Token: "tok"})
	if err != nil || len(items) != 2 {
		t.Fatalf("claim: %d, %v", len(items), err)
	}
	var outs []store.Outcome
	for _, it := range items {
		outs = append(outs, store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusFailed,
			Error: "login refused for password " + secret, ErrorClass: "permanent"})
	}
	if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetSetting(ctx, admin, shiprocket.SettingPassword, secret, true); err != nil {
		t.Fatal(err)
	}
	check := func(what, lastError string) {
		t.Helper()
		if strings.Contains(lastError, secret) || lastError == "" {
			t.Fatalf("%s shows last error %q", what, lastError)
		}
	}
	it, err := svc.QueueItem(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	check("QueueItem", it.LastError)
	recent, err := svc.Recent(ctx, store.RecentFilter{Limit: 10})
	if err != nil || len(recent) != 2 {
		t.Fatalf("recent: %d, %v", len(recent), err)
	}
	for _, r := range recent {
		check("Recent", r.LastError)
	}
	it, err = svc.EditPhone(ctx, operator, ids[0], "9876543219")
	if err != nil {
		t.Fatal(err)
	}
	check("EditPhone", it.LastError)
	it, err = svc.Cancel(ctx, operator, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	check("Cancel", it.LastError)
}
