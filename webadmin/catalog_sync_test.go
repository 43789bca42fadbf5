package webadmin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
)

// accountTemplates is a fake template list of the meta gateway.
type accountTemplates struct {
	mu    sync.Mutex
	list  []store.CatalogEntry
	err   error
	calls int
}

func (a *accountTemplates) Templates(context.Context) ([]store.CatalogEntry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	return append([]store.CatalogEntry(nil), a.list...), a.err
}

func (a *accountTemplates) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// The catalog page's "Sync from Meta" reads the account's templates and
// comes back with the counts; the list then shows each template's
// language, header, parameters, status and source. The button is a form
// like the others: a cross-site post or one without a session does
// nothing.
func TestCatalogPageSyncsTemplatesFromMeta(t *testing.T) {
	t.Parallel()
	acct := &accountTemplates{list: []store.CatalogEntry{
		{ExternalID: "diwali_offer", Language: "hi", Status: "APPROVED", ParamCount: 1, Shape: store.TemplateShape{Header: store.HeaderImage, BodyParams: 1}},
		{ExternalID: "diwali_offer", Language: "en", Status: "APPROVED", ParamCount: 1, Shape: store.TemplateShape{Header: store.HeaderImage, BodyParams: 1}},
		{ExternalID: "order_update", Language: "en_US", Status: "PAUSED", ParamCount: 2,
			Shape: store.TemplateShape{BodyParams: 2, BodyNames: []string{"customer", "order_id"}, URLButtons: []int{0}}},
	}}
	s := newSiteWith(t, func(cfg *ops.Config) {
		for i := range cfg.Gateways {
			if cfg.Gateways[i].Name == "meta" {
				cfg.Gateways[i].Templates = acct.Templates
			}
		}
	}, nil)
	c := s.signedIn(t)
	form := url.Values{"kind": {"template"}, "name": {"thanks"}, "external_id": {"thank_you"}, "language": {"hi"}, "params": {"1"}}
	if res := s.post(t, c, "/admin/catalog", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}

	// No session, or a post from another site: nothing is read.
	if res := s.post(t, s.client(t), "/admin/catalog/sync", nil); res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/admin/login") {
		t.Fatalf("sync without a session: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/catalog/sync", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || acct.count() != 0 {
		t.Fatalf("cross-site sync: %d, %d reads", res.StatusCode, acct.count())
	}

	if res := s.post(t, c, "/admin/catalog/sync", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/catalog" {
		t.Fatalf("sync: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := s.get(t, c, "/admin/catalog")
	for _, want := range []string{
		"Templates synced from meta: 3 added, 0 updated, 0 unchanged, 0 gone, 1 not approved. Not approved, so campaigns cannot send them: order_update (PAUSED).",
		"Sync from Meta",
		"<td>diwali_offer hi</td><td><code>diwali_offer</code></td><td>hi</td><td>image header</td><td>1 param</td>",
		"<td>order_update</td><td><code>order_update</code></td><td>en_US</td><td>no header</td><td>params customer, order_id, 1 URL button param</td>",
		`<strong class="bad">PAUSED</strong>`,
		"<td>thanks</td><td><code>thank_you</code></td><td>hi</td><td>—</td><td>1 param</td>",
		"<td>synced</td>", "<td>hand-made</td>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	e, err := s.ops.CatalogEntry(context.Background(), ops.CatalogTemplate, "diwali_offer en")
	if err != nil || !e.Synced {
		t.Fatalf("synced entry: %+v, %v", e, err)
	}

	// A synced entry is not typed over by hand; the form keeps what was typed.
	form = url.Values{"kind": {"template"}, "name": {"order_update"}, "external_id": {"my_order_update"}, "language": {"hi"}, "params": {"1"}}
	res, body = s.postRead(t, c, "/admin/catalog", form)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "came from the account's template list") ||
		!strings.Contains(body, `value="my_order_update"`) {
		t.Fatalf("saving over a synced entry: %d\n%s", res.StatusCode, body)
	}

	// A list that cannot be read yet: the page says why, and nothing changes.
	acct.mu.Lock()
	acct.list, acct.err = nil, ops.NotSetUp("meta.waba_id is not set: set it to the WhatsApp Business Account id")
	acct.mu.Unlock()
	if res := s.post(t, c, "/admin/catalog/sync", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sync not set up: %d", res.StatusCode)
	}
	if _, body := s.get(t, c, "/admin/catalog"); !strings.Contains(body, "Templates cannot be read yet: meta: meta.waba_id is not set") ||
		!strings.Contains(body, "<td>diwali_offer hi</td>") {
		t.Fatalf("the page does not say why the sync did nothing:\n%s", body)
	}
}
