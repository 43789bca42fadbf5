package webadmin_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
)

// TestPageGatewaySwitchAndPausedCampaign: on the page, switching to a
// gateway that cannot send a scheduled campaign's template is refused
// naming it; once the switch is forced and the campaign's time has come,
// the campaign's row says why it is paused.
func TestPageGatewaySwitchAndPausedCampaign(t *testing.T) {
	t.Parallel()
	s := newSiteWith(t, func(cfg *ops.Config) {
		for i := range cfg.Gateways {
			if cfg.Gateways[i].Name == whapi.Name {
				cfg.Gateways[i].Caps = queue.Capabilities{Text: true, Media: true}
			}
		}
	}, nil)
	ctx := context.Background()
	op := ops.Actor{Identity: "telegram:200", Role: ops.RoleOperator}
	c, err := s.ops.CreateCampaign(ctx, op, "Diwali")
	if err != nil {
		t.Fatal(err)
	}
	list := "Name,Mobile\nAsha,9876543201\n"
	if _, err := s.ops.ImportContacts(ctx, op, c.ID, "list.csv", strings.NewReader(list), int64(len(list)), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ops.SetCampaign(ctx, op, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "diwali_offer", Language: "en"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ops.ScheduleCampaign(ctx, op, c.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	b := s.signedIn(t)
	res, body := s.postRead(t, b, "/admin/gateways/active", url.Values{"gateway": {"whapi"}})
	if res.StatusCode != http.StatusConflict {
		t.Fatalf("switch: %d", res.StatusCode)
	}
	for _, want := range []string{"Not switched", "#1 Diwali (scheduled)", "template", "/gateway use! whapi", "Switch anyway"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the refused switch's page lacks %q:\n%s", want, body)
		}
	}
	if got := s.ops.ActiveGateway(ctx); got == whapi.Name {
		t.Fatal("the page switched to whapi")
	}

	// The page's "Switch anyway" goes ahead.
	if res := s.post(t, b, "/admin/gateways/active", url.Values{"gateway": {"whapi"}, "force": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("forced switch: %d", res.StatusCode)
	}
	if got := s.ops.ActiveGateway(ctx); got != whapi.Name {
		t.Fatalf("after the forced switch the active gateway is %s", got)
	}
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	d := campaign.NewDispatcher(s.db, campaign.DispatcherConfig{Tick: time.Minute, Now: later, Ready: s.ops.CampaignReadiness}, nil)
	if n, err := d.Once(ctx); err != nil || n != 0 {
		t.Fatalf("dispatch: %d, %v", n, err)
	}
	_, body = s.get(t, b, "/admin/")
	body = html.UnescapeString(body)
	for _, want := range []string{"paused", "did not start at its scheduled time", "whapi"} {
		if !strings.Contains(body, want) {
			t.Fatalf("the dashboard's campaign row lacks %q", want)
		}
	}
}
