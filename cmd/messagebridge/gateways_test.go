package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/messagebridge/messagebridge/store/storetest"
)

func TestSeedGatewaySettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t, storetest.Options{})
	env := map[string]string{"MB_META_ACCESS_TOKEN": "EAAG-seeded-token-0001", "MB_META_PHONE_NUMBER_ID": "1234567890"}
	if err := seedGatewaySettings(ctx, db, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	tok, err := db.Setting(ctx, "meta.access_token")
	if err != nil || tok.Value != "EAAG-seeded-token-0001" || !tok.Secret || tok.UpdatedBy != "env:MB_META_ACCESS_TOKEN" {
		t.Fatalf("seeded token: %+v, %v", tok, err)
	}
	// An admin changes the number; the variable no longer overrides it.
	if err := db.PutSetting(ctx, "meta.phone_number_id", "999", false, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := seedGatewaySettings(ctx, db, func(k string) string { return env[k] }, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if id, _ := db.Setting(ctx, "meta.phone_number_id"); id.Value != "999" {
		t.Fatalf("admin's value overwritten: %+v", id)
	}
	if _, err := db.Setting(ctx, "whapi.token"); err == nil {
		t.Fatal("an unset variable seeded a setting")
	}
	for key, env := range map[string]string{"meta.access_token": "MB_META_ACCESS_TOKEN", "whatsapp.operator_chats": "MB_WHATSAPP_OPERATOR_CHATS"} {
		if got := (gatewaySetting{Key: key}).Env(); got != env {
			t.Errorf("%s seeds from %s, want %s", key, got, env)
		}
	}
}
