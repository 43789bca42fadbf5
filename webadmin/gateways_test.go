package webadmin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/meta"
)

// TestGatewaySwitchRefusesNotSetUp: on the page, switching to a gateway
// that is not set up is refused with its readiness reason and a "Switch
// anyway" button; that button forces the switch.
func TestGatewaySwitchRefusesNotSetUp(t *testing.T) {
	t.Parallel()
	const reason = "not set up: the access token is empty"
	s := newSiteWith(t, func(cfg *ops.Config) {
		for i := range cfg.Gateways {
			if cfg.Gateways[i].Name == meta.Name {
				cfg.Gateways[i].Ready = func(context.Context) string { return reason }
			}
		}
	}, nil)
	c := s.signedIn(t)
	ctx := context.Background()

	post := func(form url.Values) (int, string) {
		t.Helper()
		res, body := s.postRead(t, c, "/admin/gateways/active", form)
		return res.StatusCode, body
	}

	code, body := post(url.Values{"gateway": {"meta"}})
	if code != http.StatusConflict {
		t.Fatalf("switch to meta without a token: %d, want 409\n%s", code, body)
	}
	for _, want := range []string{"meta is not set up: the access token is empty", "Messages still go out via dryrun",
		`name="force" value="1"`, `name="gateway" value="meta"`, "Switch anyway"} {
		if !strings.Contains(body, want) {
			t.Errorf("the refusal page lacks %q:\n%s", want, body)
		}
	}
	if got := s.ops.ActiveGateway(ctx); got != "dryrun" {
		t.Fatalf("a refused switch made %s active", got)
	}
	// A refusal force does not override (an unknown gateway) offers no
	// button.
	if code, body := post(url.Values{"gateway": {"nosuch"}}); code != http.StatusSeeOther {
		t.Fatalf("unknown gateway: %d\n%s", code, body)
	}
	if _, page := s.get(t, c, "/admin/gateways"); !strings.Contains(page, "There is no gateway") || strings.Contains(page, `name="force"`) {
		t.Fatalf("after an unknown gateway the page offers to force it, or says nothing:\n%s", page)
	}

	// "Switch anyway" posts force=1.
	if code, body := post(url.Values{"gateway": {"meta"}, "force": {"1"}}); code != http.StatusSeeOther {
		t.Fatalf("forced switch: %d\n%s", code, body)
	}
	if got := s.ops.ActiveGateway(ctx); got != "meta" {
		t.Fatalf("after Switch anyway the active gateway is %s, want meta", got)
	}
}
