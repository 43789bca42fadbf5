package whapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

const hookSecret = "hook-secret-5b7e21"

// countingSink passes receipts to the store and counts them, so a test can
// tell a skipped replay from one the store merely ignored.
type countingSink struct {
	db    *store.DB
	calls atomic.Int32
}

func (s *countingSink) ApplyReceipt(ctx context.Context, r store.Receipt) (bool, error) {
	s.calls.Add(1)
	return s.db.ApplyReceipt(ctx, r)
}

type hookBundle struct {
	db      *store.DB
	sink    *countingSink
	handler http.Handler
}

func setupHook(t *testing.T, secret string) *hookBundle {
	t.Helper()
	db := storetest.OpenSQLite(t, storetest.Options{})
	c := whapi.New(whapi.Options{Credentials: func(context.Context) (whapi.Credentials, error) {
		return whapi.Credentials{Token: testToken, WebhookSecret: secret}, nil
	}})
	sink := &countingSink{db: db}
	return &hookBundle{db: db, sink: sink, handler: c.WebhookHandler(sink, db)}
}

// sentItem enqueues, claims and completes an item as sent through whapi
// with the given provider id.
func (b *hookBundle) sentItem(t *testing.T, providerID string) int64 {
	t.Helper()
	ctx := context.Background()
	ids, err := b.db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543210", Gateway: whapi.Name,
		Content: store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}, MaxAttempts: 3, CreatedBy: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := b.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "test", Token: "tok-" + providerID})
	if err != nil || len(claimed) != 1 || claimed[0].ID != ids[0] {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	applied, err := b.db.CompleteQueueItems(ctx, []store.Outcome{{ID: ids[0], Token: claimed[0].LockToken, Status: store.StatusSent,
		ProviderMessageID: providerID, Gateway: whapi.Name}})
	if err != nil || !applied[0] {
		t.Fatalf("complete: %v %v", applied, err)
	}
	return ids[0]
}

func (b *hookBundle) item(t *testing.T, id int64) store.QueueItem {
	t.Helper()
	it, err := b.db.QueueItem(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func (b *hookBundle) post(t *testing.T, secret *string, body string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/whapi", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != nil {
		req.Header.Set(whapi.SecretHeader, *secret)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec.Code
}

func statusPayload(id, status, ts string, extra string) string {
	return `{"statuses":[{"id":"` + id + `","code":3,"status":"` + status + `","recipient_id":"919876543210@s.whatsapp.net","timestamp":"` + ts + `"` + extra + `}],` +
		`"event":{"type":"statuses","method":"post"},"channel_id":"SUPERMAN-f75"}`
}

func ptr(s string) *string { return &s }

func TestWebhook(t *testing.T) {
	t.Parallel()

	t.Run("secret required, receipts applied once", func(t *testing.T) {
		t.Parallel()
		b := setupHook(t, hookSecret)
		id := b.sentItem(t, testMsgID)
		delivered := statusPayload(testMsgID, "delivered", "1712995300", "")

		for name, secret := range map[string]*string{"missing": nil, "empty": ptr(""), "wrong": ptr("hook-secret-5b7e22"), "prefix": ptr(hookSecret[:5])} {
			if code := b.post(t, secret, delivered); code != http.StatusUnauthorized {
				t.Fatalf("%s secret: status %d, want 401", name, code)
			}
		}
		if it := b.item(t, id); it.Status != store.StatusSent || !it.DeliveredAt.IsZero() || b.sink.calls.Load() != 0 {
			t.Fatalf("rejected webhooks changed the item: %s delivered_at %v, %d receipts", it.Status, it.DeliveredAt, b.sink.calls.Load())
		}

		// Accepted: also proves the rejected requests marked no event, or
		// this one would have been skipped as a replay.
		if code := b.post(t, ptr(hookSecret), delivered); code != http.StatusOK {
			t.Fatalf("right secret: status %d", code)
		}
		it := b.item(t, id)
		if it.Status != store.StatusDelivered || !it.DeliveredAt.Equal(time.Unix(1712995300, 0)) {
			t.Fatalf("after delivered: %s at %v", it.Status, it.DeliveredAt)
		}

		// Replay: 200 (so WHAPI stops retrying), not applied, nothing changed.
		before := it
		if code := b.post(t, ptr(hookSecret), delivered); code != http.StatusOK {
			t.Fatalf("replay: status %d", code)
		}
		if n := b.sink.calls.Load(); n != 1 {
			t.Fatalf("receipts applied %d times, want 1 (replay must be skipped)", n)
		}
		if after := b.item(t, id); after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) || !after.DeliveredAt.Equal(before.DeliveredAt) {
			t.Fatalf("replay changed the item: %+v", after)
		}

		// Statuses that are no receipt change nothing; read moves on.
		for _, s := range []string{"pending", "sent", "deleted"} {
			if code := b.post(t, ptr(hookSecret), statusPayload(testMsgID, s, "1712995301", "")); code != http.StatusOK {
				t.Fatalf("%s: status %d", s, code)
			}
		}
		if n := b.sink.calls.Load(); n != 1 {
			t.Fatalf("non-receipt statuses reached the store (%d calls)", n)
		}
		if code := b.post(t, ptr(hookSecret), statusPayload(testMsgID, "read", "1712995400", "")); code != http.StatusOK {
			t.Fatalf("read: status %d", code)
		}
		if it := b.item(t, id); it.Status != store.StatusRead || !it.ReadAt.Equal(time.Unix(1712995400, 0)) {
			t.Fatalf("after read: %s at %v", it.Status, it.ReadAt)
		}
	})

	t.Run("failed status carries the scrubbed reason", func(t *testing.T) {
		t.Parallel()
		b := setupHook(t, hookSecret)
		id := b.sentItem(t, "AbCdEfGh-9876")
		body := statusPayload("AbCdEfGh-9876", "failed", "1712995300",
			`,"errors":[{"code":470,"message":"Recipient not on WhatsApp","details":"token=`+testToken+`"}]`)
		if code := b.post(t, ptr(hookSecret), body); code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		it := b.item(t, id)
		if it.Status != store.StatusFailed || !strings.Contains(it.LastError, "Recipient not on WhatsApp") || strings.Contains(it.LastError, testToken) {
			t.Fatalf("after failed: %s %q", it.Status, it.LastError)
		}
	})

	t.Run("no configured secret refuses everything", func(t *testing.T) {
		t.Parallel()
		b := setupHook(t, "")
		id := b.sentItem(t, testMsgID)
		for _, s := range []*string{nil, ptr("")} {
			if code := b.post(t, s, statusPayload(testMsgID, "delivered", "1712995300", "")); code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", code)
			}
		}
		if it := b.item(t, id); it.Status != store.StatusSent {
			t.Fatalf("item is %s", it.Status)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		t.Parallel()
		b := setupHook(t, hookSecret)
		if code := b.post(t, ptr(hookSecret), `{"statuses":[`); code != http.StatusBadRequest {
			t.Fatalf("malformed: %d", code)
		}
		req := httptest.NewRequest(http.MethodGet, "/webhooks/whapi", nil)
		req.Header.Set(whapi.SecretHeader, hookSecret)
		rec := httptest.NewRecorder()
		b.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %d", rec.Code)
		}
		// A message without a chat and unknown ids are acknowledged and
		// ignored.
		if code := b.post(t, ptr(hookSecret), `{"messages":[{"id":"x","from_me":false}],"event":{"type":"messages","method":"post"}}`); code != http.StatusOK {
			t.Fatalf("messages event: %d", code)
		}
		if code := b.post(t, ptr(hookSecret), statusPayload("Unknown1-0000", "delivered", "1712995300", "")); code != http.StatusOK {
			t.Fatalf("unknown id: %d", code)
		}
	})
}

func TestReceiptMapping(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]store.QueueStatus{"delivered": store.StatusDelivered, "read": store.StatusRead,
		"played": store.StatusRead, "failed": store.StatusFailed, "pending": "", "sent": "", "deleted": "", "bogus": ""} {
		r, ok := whapi.Receipt("AbCd-1234", status, []byte(`1712995300`))
		if ok != (want != "") || r.Status != want {
			t.Errorf("%s → %q %v, want %q", status, r.Status, ok, want)
		}
		if ok && (r.Gateway != whapi.Name || !r.At.Equal(time.Unix(1712995300, 0))) {
			t.Errorf("%s → %+v", status, r)
		}
	}
}
