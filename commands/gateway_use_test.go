package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/dryrun"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestGatewayUseRefusesNotSetUp: in chat, switching to meta without an
// access token, or to the session with no linked account, is refused with
// the gateway's own readiness reason; /gateway use! switches anyway.
func TestGatewayUseRefusesNotSetUp(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	// The gateways as they describe themselves (no account is linked).
	defs := []gateways.Definition{dryrun.Definition(), meta.Definition(), session.Definition(nil)}
	var names []string
	groups := [][]settings.Def{queue.SettingDefs()}
	for _, d := range defs {
		names = append(names, d.Name)
		groups = append(groups, d.Settings)
	}
	reg, err := settings.NewRegistry(append(groups, ops.SettingDefs(names))...)
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	var gws []ops.Gateway
	for _, d := range defs {
		gws = append(gws, ops.Gateway{Name: d.Name, Caps: d.Caps, Ready: func(ctx context.Context) string { return d.ReadyReason(ctx, r) }})
	}
	svc := ops.New(db, r, ops.Config{Gateways: gws}, nil)
	router := commands.New(svc, commands.Config{}, nil)
	ctx := context.Background()
	if _, err := db.PutOperator(ctx, "telegram:3", "admin", "", "test"); err != nil {
		t.Fatal(err)
	}
	say := func(text string) string {
		var parts []string
		for _, rep := range router.Handle(ctx, bot.Message{Transport: "telegram", ChatID: "3", From: bot.Identity{Transport: "telegram", ID: "3"}, Text: text}) {
			parts = append(parts, rep.Text)
		}
		return strings.Join(parts, "\n")
	}

	reply := say("/gateway use meta")
	for _, want := range []string{"Not switched: meta is not set up: the access token is empty.", "Messages still go out via dryrun.", "/gateway use! meta"} {
		if !strings.Contains(reply, want) {
			t.Errorf("/gateway use meta without a token: %q lacks %q", reply, want)
		}
	}
	reply = say("/gateway use session")
	if !strings.Contains(reply, "session is "+session.NotLinkedReason) || !strings.Contains(reply, "/gateway use! session") {
		t.Errorf("/gateway use session with no account linked: %q", reply)
	}
	if got := svc.ActiveGateway(ctx); got != "dryrun" {
		t.Fatalf("a refused switch made %s active", got)
	}

	if reply := say("/gateway use! meta"); reply != "Messages now go out via meta." {
		t.Fatalf("/gateway use! meta: %q", reply)
	}
	if got := svc.ActiveGateway(ctx); got != "meta" {
		t.Fatalf("forced switch: active %s", got)
	}
	log, err := db.AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	forced := false
	for _, e := range log {
		forced = forced || e.Action == "/gateway use!"
	}
	if !forced {
		t.Errorf("the forced switch is not audited as /gateway use!: %+v", log)
	}

	// Once meta is set up, a plain switch goes ahead.
	if _, err := svc.SetSetting(ctx, ops.Actor{Identity: "web:asha", Role: ops.RoleAdmin}, meta.SettingAccessToken, "EAAG-test-token", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetSetting(ctx, ops.Actor{Identity: "web:asha", Role: ops.RoleAdmin}, meta.SettingPhoneNumberID, "106540352242922", true); err != nil {
		t.Fatal(err)
	}
	say("/gateway use dryrun")
	if reply := say("/gateway use meta"); reply != "Messages now go out via meta." {
		t.Fatalf("/gateway use meta once set up: %q", reply)
	}
}
