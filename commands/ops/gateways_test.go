package ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

func shiprocketGateways() []ops.Gateway {
	return []ops.Gateway{
		{Name: "dryrun", Caps: allCaps},
		{Name: "shiprocket", Caps: queue.Capabilities{Flows: true}, StaffFlowSetting: shiprocket.SettingStaffFlow},
		{Name: "mediaonly", Caps: queue.Capabilities{Media: true}},
	}
}

// TestUseGatewayNeedsStaffFlow: a gateway without plain text becomes
// active only once its staff flow is set, through UseGateway and through
// the gateway.active setting alike; staff sends then carry that flow.
func TestUseGatewayNeedsStaffFlow(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	notified := 0
	svc, _ := newService(t, db, shiprocketGateways(), func() { notified++ })
	ctx := context.Background()

	if got := svc.ActiveGateway(ctx); got != "dryrun" {
		t.Fatalf("default gateway %q, want dryrun", got)
	}
	wantCode(t, svc.UseGateway(ctx, admin, "shiprocket", false), ops.ECONFLICT, shiprocket.SettingStaffFlow, "dryrun")
	_, err := svc.SetSetting(ctx, admin, ops.SettingActiveGateway, "shiprocket", false)
	wantCode(t, err, ops.ECONFLICT, shiprocket.SettingStaffFlow)
	// A gateway that has neither text nor a staff flow setting is refused
	// for good.
	wantCode(t, svc.UseGateway(ctx, admin, "mediaonly", false), ops.ECONFLICT, "cannot send staff messages")
	if got := svc.ActiveGateway(ctx); got != "dryrun" {
		t.Fatalf("a refused switch changed the gateway to %q", got)
	}
	if _, err := db.Setting(ctx, ops.SettingActiveGateway); !isNotFound(err) {
		t.Fatalf("a refused switch stored gateway.active: %v", err)
	}

	wantCode(t, svc.UseGateway(ctx, admin, "nosuch", false), ops.EINVALID, "dryrun, shiprocket")
	_, err = svc.SetSetting(ctx, admin, ops.SettingActiveGateway, "nosuch", false)
	wantCode(t, err, ops.EINVALID)
	wantCode(t, svc.UseGateway(ctx, operator, "dryrun", false), ops.EFORBIDDEN)
	_, err = svc.SetSetting(ctx, operator, ops.SettingActiveGateway, "dryrun", false)
	wantCode(t, err, ops.EFORBIDDEN)

	// The staff flow is not secret: an admin may set it from chat.
	if _, err := svc.SetSetting(ctx, admin, shiprocket.SettingStaffFlow, "flow-777", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.UseGateway(ctx, admin, " ShipRocket ", false); err != nil {
		t.Fatalf("switch with the staff flow set: %v", err)
	}
	if got := svc.ActiveGateway(ctx); got != "shiprocket" {
		t.Fatalf("active gateway %q, want shiprocket", got)
	}
	if notified == 0 {
		t.Fatal("the switch did not wake the delivery loop")
	}

	res, err := svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"98765 43210", "+91 98765 43211"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Gateway != "shiprocket" || len(res.Queued) != 2 || len(res.Invalid) != 0 {
		t.Fatalf("intake: %+v", res)
	}
	for _, q := range res.Queued {
		it, err := svc.QueueItem(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if it.Content.Kind != store.ContentFlow || it.Content.FlowID != "flow-777" {
			t.Fatalf("item %d carries %+v, want flow flow-777", it.ID, it.Content)
		}
		if it.Priority != store.PriorityIntake {
			t.Fatalf("item %d priority %d, want intake's", it.ID, it.Priority)
		}
	}

	// The staff flow of the active gateway cannot be unset: staff sends
	// would have nothing to carry them.
	_, err = svc.SetSetting(ctx, admin, shiprocket.SettingStaffFlow, "", false)
	wantCode(t, err, ops.ECONFLICT, "shiprocket")
	if got, err := db.Setting(ctx, shiprocket.SettingStaffFlow); err != nil || got.Value != "flow-777" {
		t.Fatalf("staff flow after a refused unset: %+v %v", got, err)
	}
	if _, err := svc.SetSetting(ctx, admin, shiprocket.SettingStaffFlow, "flow-778", false); err != nil {
		t.Fatalf("changing the staff flow of the active gateway: %v", err)
	}
	if _, err := svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"98765 43212"}}); err != nil {
		t.Fatalf("intake after the flow changed: %v", err)
	}

	// The setting path follows the same rule, both ways.
	v, err := svc.SetSetting(ctx, admin, ops.SettingActiveGateway, "dryrun", false)
	if err != nil || v.Value != "dryrun" {
		t.Fatalf("set gateway.active=dryrun: %+v %v", v, err)
	}
	// Not active any more, its staff flow may go; then it cannot come back.
	if _, err := svc.SetSetting(ctx, admin, shiprocket.SettingStaffFlow, "", false); err != nil {
		t.Fatalf("unset the staff flow of an inactive gateway: %v", err)
	}
	_, err = svc.SetSetting(ctx, admin, ops.SettingActiveGateway, "shiprocket", false)
	wantCode(t, err, ops.ECONFLICT, shiprocket.SettingStaffFlow)
	if _, err := svc.SetSetting(ctx, admin, shiprocket.SettingStaffFlow, "flow-779", false); err != nil {
		t.Fatal(err)
	}
	v, err = svc.SetSetting(ctx, admin, ops.SettingActiveGateway, "shiprocket", false)
	if err != nil || v.Value != "shiprocket" {
		t.Fatalf("set gateway.active=shiprocket with the flow set: %+v %v", v, err)
	}
}

// TestIntakeOnTextGateway: on a gateway with text, staff sends carry
// intake.text; numbers repeated or sent within the dedupe window are not
// queued twice; bad numbers are reported.
func TestIntakeOnTextGateway(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, nil)
	ctx := context.Background()
	if _, err := svc.SetSetting(ctx, operator, ops.SettingIntakeText, "Your parcel is ready", false); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"98765 43210", "+919876543210", "12"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Queued) != 1 || len(res.Invalid) != 1 || res.Invalid[0].Raw != "12" {
		t.Fatalf("intake: %+v", res)
	}
	it, err := svc.QueueItem(ctx, res.Queued[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if it.Content.Kind != store.ContentText || it.Content.Body != "Your parcel is ready" || it.Phone != "+919876543210" {
		t.Fatalf("item: %+v", it)
	}
	again, err := svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543210"}})
	if err != nil || len(again.Queued) != 0 || len(again.Duplicates) != 1 || again.Duplicates[0].ID != it.ID {
		t.Fatalf("repeat within the window: %+v %v", again, err)
	}
	forced, err := svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543210"}, Force: true})
	if err != nil || len(forced.Queued) != 1 {
		t.Fatalf("forced repeat: %+v %v", forced, err)
	}
	_, err = svc.Intake(ctx, staff, ops.IntakeRequest{})
	wantCode(t, err, ops.EINVALID)
	_, err = svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543212"}, SavedMessage: "nope"})
	wantCode(t, err, ops.ENOTFOUND)
	_, err = svc.Intake(ctx, ops.Actor{Identity: "telegram:5"}, ops.IntakeRequest{Phones: []string{"9876543212"}})
	wantCode(t, err, ops.EFORBIDDEN)
}

// TestUseGatewayRefusesNotReady: a gateway that is not set up is refused
// with its readiness reason, naming the gateway messages still go out
// through and how to force it; force switches anyway. The staff-flow
// refusal is not one force overrides.
func TestUseGatewayRefusesNotReady(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	reason := "not set up: the access token is empty"
	gws := append(shiprocketGateways(), ops.Gateway{Name: "meta", Caps: allCaps, Ready: func(context.Context) string { return reason }})
	svc, _ := newService(t, db, gws, nil)
	ctx := context.Background()

	err := svc.UseGateway(ctx, admin, "meta", false)
	wantCode(t, err, ops.ECONFLICT, "meta is not set up: the access token is empty", "still go out via dryrun", "/gateway use! meta")
	if !errors.Is(err, ops.ErrForceable) {
		t.Fatalf("the readiness refusal is not forceable: %v", err)
	}
	if got := svc.ActiveGateway(ctx); got != "dryrun" {
		t.Fatalf("a refused switch changed the gateway to %q", got)
	}
	// /set gateway.active follows the same rule, without force.
	_, err = svc.SetSetting(ctx, admin, ops.SettingActiveGateway, "meta", false)
	wantCode(t, err, ops.ECONFLICT, reason)

	// The staff-flow refusal is not overridden by force.
	err = svc.UseGateway(ctx, admin, "shiprocket", true)
	wantCode(t, err, ops.ECONFLICT, shiprocket.SettingStaffFlow)
	if errors.Is(err, ops.ErrForceable) {
		t.Fatal("the staff-flow refusal claims to be forceable")
	}
	// Force is still an admin's.
	wantCode(t, svc.UseGateway(ctx, operator, "meta", true), ops.EFORBIDDEN)

	if err := svc.UseGateway(ctx, admin, "meta", true); err != nil {
		t.Fatalf("forced switch: %v", err)
	}
	if got := svc.ActiveGateway(ctx); got != "meta" {
		t.Fatalf("active gateway %q after a forced switch, want meta", got)
	}
	log, err := svc.AuditLog(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 || !strings.Contains(log[0].Detail, "forced") {
		t.Fatalf("the forced switch is not audited as forced: %+v", log)
	}
	// Before anything was sent through it, /status already warns.
	notReady := func() []ops.Warning {
		t.Helper()
		h, err := svc.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []ops.Warning
		for _, w := range h.Warnings {
			if w.Kind == "gateway_not_ready" {
				out = append(out, w)
			}
		}
		return out
	}
	if ws := notReady(); len(ws) != 1 || !strings.Contains(ws[0].Message, "meta is not set up: the access token is empty") {
		t.Fatalf("health warnings about the forced gateway: %+v", ws)
	}
	// Once ready, no force is needed, and the warning goes.
	reason = ""
	if ws := notReady(); len(ws) != 0 {
		t.Fatalf("a ready gateway is still warned about: %+v", ws)
	}
	if err := svc.UseGateway(ctx, admin, "dryrun", false); err != nil {
		t.Fatal(err)
	}
	if err := svc.UseGateway(ctx, admin, "meta", false); err != nil {
		t.Fatalf("switch to a ready gateway: %v", err)
	}
}
