package meta_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/meta/metatest"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// Contract tests: the real client (meta.New, Definition, WebhookHandler)
// against the project's fake Cloud API, metatest, which enforces Meta's
// rules. Where the two disagree, one of them is wrong about Meta.

// contractNow is the fake's (and the store's) clock.
var contractNow = time.Date(2026, 3, 9, 11, 30, 0, 0, time.UTC)

const contractPhone = "+919876543210"

// fakeClient returns a client of the fake's phone number and account;
// byLink sets meta.media_by_link.
func fakeClient(g *metatest.Server, cache meta.MediaCache, byLink bool) *meta.Client {
	return meta.New(meta.Options{
		Credentials: func(context.Context) (meta.Credentials, error) {
			return meta.Credentials{AccessToken: g.Token(), PhoneNumberID: g.PhoneNumberID(), WABAID: g.WABAID(),
				BaseURL: g.URL(), GraphVersion: g.Version(), AppSecret: g.AppSecret(), MediaByLink: byLink}, nil
		},
		Media:      cache,
		HTTPClient: g.Client(),
		Now:        g.Now,
	})
}

// mountWebhook serves h as the app's /webhooks/meta and points the fake's
// webhooks at it.
func mountWebhook(t *testing.T, g *metatest.Server, h http.Handler) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/webhooks/meta", h)
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	g.SetWebhook(app.URL + "/webhooks/meta")
}

// A template with an image header, one positional body value and a URL
// button goes whole: the image uploaded to the fake's /media once and
// its id reused from the cache on the next send, then by link; a NAMED
// template with a text header goes with every parameter named. The fake
// refuses none and records each component as sent.
func TestContractTemplateSends(t *testing.T) {
	t.Parallel()
	g := metatest.New(t)
	g.SetNow(contractNow)
	g.AddTemplate(metatest.Template{Name: "diwali_offer", Language: "en", Components: []metatest.Component{
		{Type: "HEADER", Format: "IMAGE"},
		{Type: "BODY", Text: "Hi {{1}}, our Diwali sale is on!"},
		{Type: "BUTTONS", Buttons: []metatest.Button{{Type: "URL", Text: "Shop now", URL: "https://shop.example.com/offer/{{1}}"}}},
	}})
	g.AddTemplate(metatest.Template{Name: "order_named", Language: "en_US", Category: "UTILITY", ParameterFormat: "NAMED",
		Components: []metatest.Component{
			{Type: "HEADER", Format: "TEXT", Text: "Hello {{first_name}}"},
			{Type: "BODY", Text: "Order {{order_id}} ships from {{city}}."},
		}})
	ctx := context.Background()
	img := testImage(7)
	offer := queue.Delivery{Phone: contractPhone, Kind: queue.KindTemplate, Template: queue.Template{
		Name: "diwali_offer", Language: "en", Params: []string{"Asha"},
		Header:  &queue.TemplateHeader{Format: store.HeaderImage, Media: img},
		Buttons: []queue.TemplateButton{{Index: 0, Text: "d25"}},
	}}

	uploading := fakeClient(g, newMemCache(), false)
	for i := range 2 {
		if id, err := uploading.Send(ctx, offer); err != nil || !strings.HasPrefix(id, "wamid.") {
			t.Fatalf("offer by upload, send %d: %q, %v", i+1, id, err)
		}
	}
	if id, err := fakeClient(g, nil, true).Send(ctx, offer); err != nil || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("offer by link: %q, %v", id, err)
	}
	named := queue.Delivery{Phone: contractPhone, Kind: queue.KindTemplate, Template: queue.Template{
		Name: "order_named", Language: "en_US", Params: []string{"A-17", "Pune"}, ParamNames: []string{"order_id", "city"},
		Header: &queue.TemplateHeader{Format: store.HeaderText, Text: "Asha", Name: "first_name"},
	}}
	if id, err := uploading.Send(ctx, named); err != nil || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("named template: %q, %v", id, err)
	}

	if refs := g.Refusals(); len(refs) != 0 {
		t.Fatalf("the fake refused: %+v", refs)
	}
	ups := g.Uploads()
	if len(ups) != 1 {
		t.Fatalf("%d uploads, want 1 (the second send takes the cached id): %+v", len(ups), ups)
	}
	if u := ups[0]; u.Type != "image/jpeg" || u.FileType != "image/jpeg" || u.FileName != "offer.jpg" {
		t.Errorf("upload = type %q, file type %q, name %q", u.Type, u.FileType, u.FileName)
	}
	msgs := g.Messages()
	if len(msgs) != 4 {
		t.Fatalf("%d messages accepted, want 4", len(msgs))
	}
	for i, want := range []metatest.Parameter{
		{Type: "image", ID: ups[0].ID},
		{Type: "image", ID: ups[0].ID},
		{Type: "image", Link: img.PublicURL},
	} {
		m := msgs[i]
		if m.Type != "template" || m.Template == nil || m.Template.Name != "diwali_offer" || m.Template.Language != "en" {
			t.Fatalf("offer %d: %+v", i+1, m)
		}
		if m.Text != "Hi Asha, our Diwali sale is on!" {
			t.Errorf("offer %d text = %q", i+1, m.Text)
		}
		wantComps := []metatest.SentComponent{
			{Type: "header", Parameters: []metatest.Parameter{want}},
			{Type: "body", Parameters: []metatest.Parameter{{Type: "text", Text: "Asha"}}},
			{Type: "button", SubType: "url", Index: 0, Parameters: []metatest.Parameter{{Type: "text", Text: "d25"}}},
		}
		if !reflect.DeepEqual(m.Template.Components, wantComps) {
			t.Errorf("offer %d components:\n got %+v\nwant %+v", i+1, m.Template.Components, wantComps)
		}
	}
	m := msgs[3]
	if m.Template == nil || m.Template.Name != "order_named" || m.Text != "Order A-17 ships from Pune." {
		t.Fatalf("named template: %+v", m)
	}
	wantNamed := []metatest.SentComponent{
		{Type: "header", Parameters: []metatest.Parameter{{Type: "text", Name: "first_name", Text: "Asha"}}},
		{Type: "body", Parameters: []metatest.Parameter{{Type: "text", Name: "order_id", Text: "A-17"}, {Type: "text", Name: "city", Text: "Pune"}}},
	}
	if !reflect.DeepEqual(m.Template.Components, wantNamed) {
		t.Errorf("named components:\n got %+v\nwant %+v", m.Template.Components, wantNamed)
	}
}

// Template sends the fake refuses for their shape reach the client as
// permanent errors with Meta's code: a missing body value (132000), a
// body value short (132000), an unknown template (132001).
func TestContractTemplateShapeErrors(t *testing.T) {
	t.Parallel()
	g := metatest.New(t)
	g.SetNow(contractNow)
	g.AddTemplate(metatest.Template{Name: "diwali_offer", Language: "en", Components: []metatest.Component{
		{Type: "HEADER", Format: "IMAGE"},
		{Type: "BODY", Text: "Hi {{1}}, use {{2}} at the till."},
	}})
	c := fakeClient(g, nil, true)
	header := &queue.TemplateHeader{Format: store.HeaderImage, Media: testImage(7)}
	for _, tc := range []struct {
		name string
		tpl  queue.Template
		code int
	}{
		{"no body value", queue.Template{Name: "diwali_offer", Language: "en", Header: header}, 132000},
		{"one body value of two", queue.Template{Name: "diwali_offer", Language: "en", Header: header, Params: []string{"Asha"}}, 132000},
		{"unknown template", queue.Template{Name: "no_such_template", Language: "en", Params: []string{"Asha"}}, 132001},
		{"known name, other language", queue.Template{Name: "diwali_offer", Language: "hi", Header: header, Params: []string{"Asha", "D25"}}, 132001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(g.Refusals())
			id, err := c.Send(context.Background(), queue.Delivery{Phone: contractPhone, Kind: queue.KindTemplate, Template: tc.tpl})
			class, se := queue.ClassOf(err)
			if id != "" || se == nil || class != queue.Permanent || se.Code != strconv.Itoa(tc.code) {
				t.Fatalf("Send = %q, %v (class %v); want permanent code %d", id, err, class, tc.code)
			}
			if errors.Is(err, queue.ErrWindowClosed) {
				t.Errorf("a template shape error is ErrWindowClosed: %v", err)
			}
			refs := g.Refusals()
			if len(refs) != before+1 || refs[before].Code != tc.code || refs[before].Template != tc.tpl.Name {
				t.Errorf("fake refusals = %+v", refs[before:])
			}
		})
	}
	if n := len(g.Messages()); n != 0 {
		t.Errorf("%d messages accepted", n)
	}
}

// The window through the wiring (Definition over settings, a SQLite
// store and an inbound sink that records into it): a text to a customer
// who never wrote is refused as ErrWindowClosed; once the customer
// writes, the fake's signed webhook stores the message, the stored
// window is open and the text goes; Meta's redelivery stores nothing
// more.
func TestContractWindowAndInbound(t *testing.T) {
	t.Parallel()
	g := metatest.New(t)
	g.SetNow(contractNow)
	db := storetest.OpenSQLite(t, storetest.Options{Now: func() time.Time { return contractNow }})
	def := meta.Definition()
	reg, err := settings.NewRegistry(def.Settings)
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	ctx := context.Background()
	for k, v := range map[string]string{meta.SettingAccessToken: g.Token(), meta.SettingPhoneNumberID: g.PhoneNumberID(),
		meta.SettingWABAID: g.WABAID(), meta.SettingBaseURL: g.URL(), meta.SettingGraphVersion: g.Version(),
		meta.SettingAppSecret: g.AppSecret()} {
		if _, err := r.Set(ctx, k, v, "test"); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
	}
	if why := def.Ready(ctx, r); why != "" {
		t.Fatalf("not ready: %s", why)
	}
	gw, err := def.Open(ctx, gateways.Env{DB: db, Settings: r, Inbound: storeInbound{db}})
	if err != nil {
		t.Fatal(err)
	}
	mountWebhook(t, g, gw.Webhook)
	text := queue.Delivery{Phone: contractPhone, Kind: queue.KindText, Text: "Your parcel is on its way"}

	_, err = gw.Sender.Send(ctx, text)
	if class, se := queue.ClassOf(err); !errors.Is(err, queue.ErrWindowClosed) || class != queue.Permanent || se.Code != "131047" {
		t.Fatalf("text to a customer who never wrote: %v (class %v), want permanent 131047 wrapping ErrWindowClosed", err, class)
	}

	g.SetProfileName(contractPhone, "Asha Rao")
	wamid, status := g.CustomerWrites(contractPhone, "hi")
	if status != http.StatusOK {
		t.Fatalf("inbound webhook answered %d", status)
	}
	w, err := db.CustomerWindow(ctx, meta.Name, contractPhone)
	if err != nil {
		t.Fatal(err)
	}
	if !w.LastInbound.Equal(contractNow) || !w.OpenAt(contractNow, def.Window) {
		t.Errorf("stored window = %+v, want open from %v", w, contractNow)
	}
	if id, err := gw.Sender.Send(ctx, text); err != nil || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("text after the customer wrote: %q, %v", id, err)
	}
	if msgs := g.Messages(); len(msgs) != 1 || msgs[0].Type != "text" || msgs[0].Text != text.Text {
		t.Errorf("accepted = %+v", msgs)
	}

	if status := g.Redeliver(wamid); status != http.StatusOK {
		t.Fatalf("redelivery answered %d", status)
	}
	got, err := db.InboundMessages(ctx, contractPhone, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d stored messages after a redelivery, want 1: %+v", len(got), got)
	}
	m := got[0]
	if m.Gateway != meta.Name || m.Account != g.PhoneNumberID() || m.ProviderMessageID != wamid || m.Phone != contractPhone ||
		m.ProfileName != "Asha Rao" || m.Kind != store.InboundText || m.Body != "hi" || !m.ReceivedAt.Equal(contractNow) {
		t.Errorf("stored = %+v", m)
	}
	imgID, status := g.CustomerSendsImage(contractPhone, "this one please")
	if status != http.StatusOK {
		t.Fatalf("inbound image webhook answered %d", status)
	}
	if got, err := db.InboundMessages(ctx, contractPhone, 10); err != nil || len(got) != 2 ||
		got[0].ProviderMessageID != imgID || got[0].Kind != store.InboundImage || got[0].Body != "this one please" {
		t.Errorf("stored after an image: %+v, %v", got, err)
	}

	// The product's window (the stored one, the definition's length) and
	// Meta's close at the same instant: open a second before 24 hours,
	// closed at 24 hours.
	if def.Window != metatest.Window {
		t.Fatalf("Definition().Window = %v, the fake's window is %v", def.Window, metatest.Window)
	}
	for _, tc := range []struct {
		advance time.Duration
		open    bool
	}{{def.Window - time.Second, true}, {time.Second, false}} {
		g.Advance(tc.advance)
		now := g.Now()
		if w, err := db.CustomerWindow(ctx, meta.Name, contractPhone); err != nil || w.OpenAt(now, def.Window) != tc.open {
			t.Errorf("at %v the stored window %+v is open=%v (%v), want %v", now, w, !tc.open, err, tc.open)
		}
		_, err := gw.Sender.Send(ctx, text)
		if tc.open && err != nil {
			t.Errorf("at %v (window open): %v", now, err)
		}
		if !tc.open && !errors.Is(err, queue.ErrWindowClosed) {
			t.Errorf("at %v (window closed): %v, want ErrWindowClosed", now, err)
		}
	}
}

// Meta's other way of saying 131047: the send is answered with a wamid,
// and the failed status that follows reaches the webhook as a failed
// receipt marked WindowClosed.
func TestContractAsyncWindowClosed(t *testing.T) {
	t.Parallel()
	g := metatest.New(t, metatest.WithAsyncWindow(), metatest.WithHeldStatuses())
	g.SetNow(contractNow)
	c := fakeClient(g, nil, false)
	sink := &memSink{}
	mountWebhook(t, g, c.WebhookHandler(sink, &memEvents{}, nil))
	id, err := c.Send(context.Background(), queue.Delivery{Phone: contractPhone, Kind: queue.KindText, Text: "Hello"})
	if err != nil || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("Send = %q, %v; want the wamid Meta answers before the failed status", id, err)
	}
	if n := len(sink.got()); n != 0 {
		t.Fatalf("%d receipts before the status was flushed", n)
	}
	if codes := g.FlushStatuses(); len(codes) != 1 || codes[0] != http.StatusOK {
		t.Fatalf("flushed statuses answered %v", codes)
	}
	got := sink.got()
	if len(got) != 1 {
		t.Fatalf("%d receipts, want 1", len(got))
	}
	want := store.Receipt{Gateway: meta.Name, ProviderMessageID: id, Status: store.StatusFailed, At: contractNow,
		Error: "meta: Re-engagement message (code 131047)", WindowClosed: true}
	if r := got[0]; !reflect.DeepEqual(r, want) {
		t.Errorf("receipt:\n got %+v\nwant %+v", r, want)
	}
	if refs := g.Refusals(); len(refs) != 1 || !refs[0].Async || refs[0].ID != id || refs[0].Code != meta.CodeWindowClosed {
		t.Errorf("fake refusals = %+v", refs)
	}
}

// The template list, one template a page: every template comes back with
// its status, category and shape, the paused one too, and the named one
// with its image header and URL button.
func TestContractTemplateList(t *testing.T) {
	t.Parallel()
	g := metatest.New(t, metatest.WithPageSize(1))
	g.AddTemplate(metatest.Template{Name: "order_update", Language: "en_US", Category: "UTILITY", Components: []metatest.Component{
		{Type: "HEADER", Format: "TEXT", Text: "Order {{1}}"},
		{Type: "BODY", Text: "Hi {{1}}, order {{2}} has shipped."},
		{Type: "FOOTER", Text: "Reply STOP to opt out"},
	}})
	g.AddTemplate(metatest.Template{Name: "diwali_offer", Language: "hi", Status: "PAUSED", Components: []metatest.Component{
		{Type: "BODY", Text: "नमस्ते {{1}}, दिवाली सेल शुरू!"},
	}})
	g.AddTemplate(metatest.Template{Name: "welcome_named", Language: "en", ParameterFormat: "NAMED", Components: []metatest.Component{
		{Type: "HEADER", Format: "IMAGE"},
		{Type: "BODY", Text: "Dear {{first_name}}, use {{code}} today, {{first_name}}."},
		{Type: "BUTTONS", Buttons: []metatest.Button{
			{Type: "QUICK_REPLY", Text: "Stop promotions"},
			{Type: "URL", Text: "Help", URL: "https://shop.example.com/help"},
			{Type: "URL", Text: "Shop", URL: "https://shop.example.com/s/{{1}}"},
		}},
	}})
	got, err := fakeClient(g, nil, false).Templates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []store.CatalogEntry{
		{Kind: store.CatalogTemplate, ExternalID: "order_update", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			ParamCount: 2, Shape: store.TemplateShape{Header: store.HeaderText, HeaderParams: 1, BodyParams: 2}},
		{Kind: store.CatalogTemplate, ExternalID: "diwali_offer", Language: "hi", Status: "PAUSED", Category: "MARKETING",
			ParamCount: 1, Shape: store.TemplateShape{BodyParams: 1}},
		{Kind: store.CatalogTemplate, ExternalID: "welcome_named", Language: "en", Status: "APPROVED", Category: "MARKETING",
			ParamCount: 2, Shape: store.TemplateShape{Header: store.HeaderImage, BodyParams: 2,
				BodyNames: []string{"first_name", "code"}, URLButtons: []int{2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("templates:\n got %+v\nwant %+v", got, want)
	}
}
