package dryrun_test

import (
	"context"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/dryrun"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// An item sent through the dry-run gateway is recorded, gets an id, and
// moves to delivered and then read by simulated receipts.
func TestDryRunSendsReceipts(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	ctx := context.Background()
	gw := dryrun.New(dryrun.Options{Receipts: db, ReceiptDelay: 10 * time.Millisecond})
	defer gw.Close()
	ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543210", MaxAttempts: 3,
		Content: store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}}})
	if err != nil {
		t.Fatal(err)
	}
	loop := queue.New(queue.Config{}, db, queue.StaticGateways{Active: dryrun.Name, Senders: map[string]queue.Sender{dryrun.Name: gw}}, nil)
	if n, err := loop.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	sent := gw.Sent()
	if len(sent) != 1 || sent[0].ItemID != ids[0] || sent[0].Phone != "+919876543210" || sent[0].ProviderID == "" {
		t.Fatalf("records = %+v", sent)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		it, err := db.QueueItem(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if it.Status == store.StatusRead {
			if it.DeliveredAt.IsZero() || it.SentGateway != dryrun.Name || it.ProviderMessageID != sent[0].ProviderID {
				t.Fatalf("read item: %+v", it)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("item still %s after 5s", it.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Close drops receipts that are not yet due.
func TestCloseDropsPendingReceipts(t *testing.T) {
	t.Parallel()
	sink := &countingSink{}
	gw := dryrun.New(dryrun.Options{Receipts: sink, ReceiptDelay: time.Hour})
	if _, err := gw.Send(context.Background(), queue.Delivery{ItemID: 1, Phone: "+919876543210"}); err != nil {
		t.Fatal(err)
	}
	gw.Close()
	if sink.n != 0 {
		t.Fatalf("%d receipts applied after Close", sink.n)
	}
}

type countingSink struct{ n int }

func (s *countingSink) ApplyReceipt(context.Context, store.Receipt) (bool, error) {
	s.n++
	return true, nil
}
