package main

import (
	"context"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestInboundSinkWaitsForTheOperations: a customer's message that arrives
// before the operations layer is built is refused (the provider delivers
// it again), and stored once it is.
func TestInboundSinkWaitsForTheOperations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t, storetest.Options{})
	defs := gatewayList(nil)
	reg, err := newRegistry(defs)
	if err != nil {
		t.Fatal(err)
	}
	sink := &lateOps{}
	m := store.InboundMessage{Gateway: "meta", ProviderMessageID: "wamid.1", Phone: "919876543210", Kind: store.InboundText, Body: "hi"}
	if err := sink.Inbound(ctx, m); err == nil {
		t.Fatal("a message was taken before the operations layer was ready")
	}
	gs := &gatewaySet{defs: defs}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	svc := ops.New(db, r, ops.Config{Gateways: gs.describe(r)}, nil)
	sink.ops.Store(svc)
	if err := sink.Inbound(ctx, m); err != nil {
		t.Fatal(err)
	}
	if list, err := db.InboundMessages(ctx, "", 10); err != nil || len(list) != 1 || list[0].Phone != "+919876543210" {
		t.Fatalf("stored %+v, %v", list, err)
	}
	// Each definition's window reaches the operations layer.
	for i := range gs.defs {
		gs.defs[i].Window = time.Duration(i+1) * time.Hour
	}
	for i, g := range gs.describe(r) {
		if g.Window != time.Duration(i+1)*time.Hour {
			t.Errorf("gateway %s: window %v, want %v", g.Name, g.Window, time.Duration(i+1)*time.Hour)
		}
	}
}
