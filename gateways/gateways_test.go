package gateways_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/dryrun"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestNotSetUpPausesWithTheReadinessReason: a gateway that is not set up
// says why in its readiness check, and its Send fails sender-blocked with
// that same reason as its whole text: the pause names what happened (not
// an expired login). Once set up, it is ready.
func TestNotSetUpPausesWithTheReadinessReason(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	defs := []gateways.Definition{meta.Definition(), whapi.Definition(), shiprocket.Definition()}
	var groups [][]settings.Def
	for _, d := range defs {
		groups = append(groups, d.Settings)
	}
	reg, err := settings.NewRegistry(groups...)
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	ctx := context.Background()
	env := gateways.Env{DB: db, Settings: r}
	text := queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "Hello"}
	flow := queue.Delivery{ItemID: 2, Phone: "+919876543210", Kind: queue.KindFlow, Flow: queue.Flow{ID: "flow-1"}}
	for _, tc := range []struct {
		def    gateways.Definition
		d      queue.Delivery
		reason string
		setUp  map[string]string
	}{
		{meta.Definition(), text, "not set up: the access token is empty",
			map[string]string{meta.SettingAccessToken: "EAAG-test", meta.SettingPhoneNumberID: "106540352242922"}},
		{whapi.Definition(), text, "not set up: the channel token is empty", map[string]string{whapi.SettingToken: "whapi-test"}},
		{shiprocket.Definition(), flow, "not set up: the flow-trigger URL is empty",
			map[string]string{shiprocket.SettingFlowURL: "engage/flows/{{flow_id}}/trigger", shiprocket.SettingAPIKey: "sr-key"}},
	} {
		if got := tc.def.ReadyReason(ctx, r); got != tc.reason {
			t.Errorf("%s not set up: readiness %q, want %q", tc.def.Name, got, tc.reason)
		}
		g, err := tc.def.Open(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Sender.Send(ctx, tc.d)
		if class, _ := queue.ClassOf(err); class != queue.SenderBlocked || !errors.Is(err, gateways.ErrNotReady) {
			t.Errorf("%s send not set up: %v (class %v), want sender-blocked, not ready", tc.def.Name, err, class)
		}
		if err != nil && err.Error() != "sender_blocked: "+tc.reason {
			t.Errorf("%s send not set up: %q, want the readiness reason %q", tc.def.Name, err, tc.reason)
		}
		for k, v := range tc.setUp {
			if err := db.PutSetting(ctx, k, v, false, "test"); err != nil {
				t.Fatal(err)
			}
		}
		if got := tc.def.ReadyReason(ctx, r); got != "" {
			t.Errorf("%s set up: readiness %q, want ready", tc.def.Name, got)
		}
	}
	if got := session.Definition(nil).ReadyReason(ctx, r); got != session.NotLinkedReason || !strings.HasPrefix(got, "not set up: ") {
		t.Errorf("session without an account: readiness %q", got)
	}
	if got := dryrun.Definition().ReadyReason(ctx, r); got != "" {
		t.Errorf("dryrun readiness %q", got)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	if err := gateways.Check([]gateways.Definition{dryrun.Definition(), meta.Definition()}); err != nil {
		t.Fatal(err)
	}
	for name, defs := range map[string][]gateways.Definition{
		"twice":   {dryrun.Definition(), dryrun.Definition()},
		"no name": {{Open: dryrun.Definition().Open}},
		"no open": {{Name: "x"}},
		"none":    nil,
	} {
		if err := gateways.Check(defs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
