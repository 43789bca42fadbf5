package ops_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// windowRig is the operations over a database with a "dryrun" gateway
// (no window) and a "meta" one with a 24-hour window, on a clock.
type windowRig struct {
	svc   *ops.Service
	db    *store.DB
	clock *storetest.Clock
}

func newWindowRig(t *testing.T) *windowRig {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC))
	db := storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	gws := []ops.Gateway{{Name: "dryrun", Caps: allCaps}, {Name: "meta", Caps: allCaps, Window: 24 * time.Hour}}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"dryrun", "meta"}))
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	svc := ops.New(db, r, ops.Config{Gateways: gws, Now: clock.Now}, nil)
	return &windowRig{svc: svc, db: db, clock: clock}
}

// template saves a synced catalog entry.
func (r *windowRig) template(t *testing.T, name, status string, shape store.TemplateShape) {
	t.Helper()
	_, err := r.db.PutCatalogEntry(context.Background(), store.CatalogEntry{Kind: store.CatalogTemplate, Name: name, ExternalID: name,
		Language: "en", ParamCount: shape.BodyParams, Shape: shape, Status: status}, "test")
	if err != nil {
		t.Fatal(err)
	}
}

// image saves an image message called name and returns its id.
func (r *windowRig) image(t *testing.T, name string) int64 {
	t.Helper()
	ctx := context.Background()
	mid, err := r.db.CreateMediaObject(ctx, store.MediaObject{SHA256: strings.Repeat("ab", 32), MIME: "image/jpeg", Size: 10,
		Storage: "local", StorageKey: "ab/" + name, OriginalName: name + ".jpg"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	id, err := r.db.CreateSavedMessage(ctx, name, store.SavedKindImage, "", mid, "test")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (r *windowRig) use(t *testing.T, gw string) ops.GatewaySwitch {
	t.Helper()
	sw, err := r.svc.SwitchGateway(context.Background(), admin, gw, false)
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

func (r *windowRig) inbound(t *testing.T, phone string) {
	t.Helper()
	_, _, err := r.db.RecordInbound(context.Background(), store.InboundMessage{Gateway: "meta", ProviderMessageID: "wamid." + phone,
		Phone: phone, Kind: store.InboundText, Body: "hi"})
	if err != nil {
		t.Fatal(err)
	}
}

var diwaliShape = store.TemplateShape{Header: store.HeaderImage, BodyParams: 1}

func TestShapeProblemSentences(t *testing.T) {
	t.Parallel()
	img := &store.TemplateHeader{Format: store.HeaderImage, SavedMessageID: 4}
	for _, tc := range []struct {
		name  string
		shape store.TemplateShape
		c     store.QueueContent
		want  string
	}{
		{"fits", diwaliShape, store.QueueContent{TemplateHeader: img, TemplateParams: []string{"{{name}}"}}, ""},
		{"no header", diwaliShape, store.QueueContent{TemplateParams: []string{"x"}},
			"diwali_offer needs an image header and 1 body value: no header was given (header=<saved image message>)"},
		{"no values", diwaliShape, store.QueueContent{},
			"diwali_offer needs an image header and 1 body value: no header was given (header=<saved image message>); no body value was given (body=a|b)"},
		{"too many", diwaliShape, store.QueueContent{TemplateHeader: img, TemplateParams: []string{"a", "b"}},
			"diwali_offer needs an image header and 1 body value: 2 body values were given"},
		{"video for image", diwaliShape, store.QueueContent{TemplateHeader: &store.TemplateHeader{Format: store.HeaderVideo, SavedMessageID: 3}, TemplateParams: []string{"a"}},
			"diwali_offer needs an image header and 1 body value: the header given is a video"},
		{"url button", store.TemplateShape{BodyParams: 1, URLButtons: []int{1}}, store.QueueContent{TemplateParams: []string{"a"}},
			"diwali_offer needs 1 body value and a value for the URL button: the URL button has no value (button2=)"},
		{"not a url button", store.TemplateShape{URLButtons: []int{1}}, store.QueueContent{TemplateButtons: []store.TemplateButton{{Index: 0, Text: "x"}, {Index: 1, Text: "y"}}},
			"diwali_offer needs a value for the URL button: button1 is not a URL button that takes a value"},
		{"named", store.TemplateShape{BodyNames: []string{"first_name", "order_id"}}, store.QueueContent{TemplateParams: []string{"a"}, TemplateParamNames: []string{"first_name"}},
			"diwali_offer needs values for first_name, order_id: order_id has no value"},
		{"named extra", store.TemplateShape{BodyNames: []string{"first_name"}}, store.QueueContent{TemplateParams: []string{"a", "b"}, TemplateParamNames: []string{"first_name", "city"}},
			"diwali_offer needs a value for first_name: city is not one of its parameters"},
		{"positional for named", store.TemplateShape{BodyNames: []string{"first_name"}}, store.QueueContent{TemplateParams: []string{"a"}},
			"diwali_offer needs a value for first_name: first_name has no value; it takes named values (name=value), not body="},
		{"takes nothing", store.TemplateShape{}, store.QueueContent{TemplateParams: []string{"a"}},
			"diwali_offer takes no values: 1 body value was given"},
		{"header on none", store.TemplateShape{BodyParams: 1}, store.QueueContent{TemplateHeader: img, TemplateParams: []string{"a"}},
			"diwali_offer needs 1 body value: it has no header, so leave header= out"},
		{"text header", store.TemplateShape{Header: store.HeaderText, HeaderParams: 1}, store.QueueContent{},
			"diwali_offer needs a header value: no header value was given (header=<text>)"},
		{"fixed text header", store.TemplateShape{Header: store.HeaderText}, store.QueueContent{TemplateHeader: &store.TemplateHeader{Format: store.HeaderText, Text: "x"}},
			"diwali_offer takes no values: its header is fixed text, so leave header= out"},
	} {
		if got := ops.ShapeProblem("diwali_offer", tc.shape, tc.c); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestParseTemplateValues(t *testing.T) {
	t.Parallel()
	got, err := ops.ParseTemplateValues([]string{"header=Diwali poster", "body={{name}}|Diwali", "first_name={{name}}", "button2=ord/1", "button=x"})
	if err != nil {
		t.Fatal(err)
	}
	want := ops.Template{Header: "Diwali poster", Params: []string{"{{name}}", "Diwali"}, Named: map[string]string{"first_name": "{{name}}"},
		Buttons: map[int]string{2: "ord/1", 0: "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got, _ := ops.ParseTemplateValues([]string{"params={name},{City}"}); !reflect.DeepEqual(got.Params, []string{"{name}", "{City}"}) {
		t.Fatalf("params= (older form): %+v", got)
	}
	_, err = ops.ParseTemplateValues([]string{"button0=x"})
	wantCode(t, err, ops.EINVALID, "button1= for the first button")
	_, err = ops.ParseTemplateValues([]string{"First Name=x"})
	wantCode(t, err, ops.EINVALID, "is not a template value")
	_, err = ops.ParseTemplateValues([]string{"novalue"})
	wantCode(t, err, ops.EINVALID, "is not key=value")
}

func TestDiwaliCampaignQueuesWholeTemplate(t *testing.T) {
	t.Parallel()
	r := newWindowRig(t)
	ctx := context.Background()
	r.template(t, "diwali_offer", store.TemplateApproved, diwaliShape)
	poster := r.image(t, "Diwali poster")
	textMessage(t, r.db, "thanks", "Thanks!")
	r.use(t, "meta")

	c := newCampaign(t, r.svc, "Diwali")
	importCSV(t, r.svc, c.ID, csvContacts("Name,Mobile,City", "Asha,9876543201,Mumbai", "Ravi,9876543202,Pune"))
	// On meta a campaign sends a template: a plain saved message is
	// refused, naming templates.
	_, err := r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{SavedMessage: ptr("thanks")})
	wantCode(t, err, ops.ECONFLICT, "on meta a campaign must send an approved template", "set template=<name>", "a saved image or video can be its header")
	// The template's shape is checked when it is set.
	_, err = r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "diwali_offer", Params: []string{"{{City}}"}}})
	wantCode(t, err, ops.EINVALID, "diwali_offer needs an image header and 1 body value: no header was given")
	_, err = r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "diwali_offer", Header: "thanks", Params: []string{"{{City}}"}}})
	wantCode(t, err, ops.EINVALID, `the saved message "thanks" is a text`)
	_, err = r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "diwali_offer", Params: []string{"{{Shop}}"}}, SavedMessage: ptr("Diwali poster")})
	wantCode(t, err, ops.ECONFLICT, `no column "Shop"`)
	// A saved image given with the template is its header.
	if _, err := r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "diwali_offer", Params: []string{"{{City}}"}}, SavedMessage: ptr("Diwali poster")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart); err != nil {
		t.Fatal(err)
	}
	if n := dispatch(t, r.db); n != 2 {
		t.Fatalf("dispatch queued %d, want 2", n)
	}
	items, err := r.db.RecentQueueItems(ctx, store.RecentFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	byPhone := map[string]store.QueueContent{}
	for _, it := range items {
		byPhone[it.Phone] = it.Content
	}
	for phone, city := range map[string]string{"+919876543201": "Mumbai", "+919876543202": "Pune"} {
		got := byPhone[phone]
		want := store.QueueContent{Kind: store.ContentTemplate, TemplateName: "diwali_offer", TemplateLanguage: "en", TemplateParams: []string{city},
			TemplateHeader: &store.TemplateHeader{Format: store.HeaderImage, SavedMessageID: poster}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", phone, got, want)
		}
	}

	// Paused at Meta later: the campaign does not resume, and says why.
	if _, err := r.svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionPause); err != nil {
		t.Fatal(err)
	}
	r.template(t, "diwali_offer", store.TemplatePaused, diwaliShape)
	_, err = r.svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionResume)
	wantCode(t, err, ops.ECONFLICT, "the template diwali_offer is PAUSED at Meta")
	// And a new set is refused naming the status.
	_, err = r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &ops.Template{Name: "diwali_offer", Params: []string{"x"}}, SavedMessage: ptr("Diwali poster")})
	wantCode(t, err, ops.ECONFLICT, "The template diwali_offer is PAUSED at Meta")
	r.template(t, "diwali_offer", "DELETED", diwaliShape)
	_, err = r.svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionResume)
	wantCode(t, err, ops.ECONFLICT, "the template diwali_offer was deleted at Meta")
}

// A campaign of a plain saved message set while the active gateway had
// no window is refused at start once meta is active.
func TestCampaignStartRefusedOnWindowGateway(t *testing.T) {
	t.Parallel()
	r := newWindowRig(t)
	ctx := context.Background()
	textMessage(t, r.db, "thanks", "Thanks!")
	c := newCampaign(t, r.svc, "Plain")
	importCSV(t, r.svc, c.ID, csvContacts("Name,Mobile", "Asha,9876543201"))
	if _, err := r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{SavedMessage: ptr("thanks")}); err != nil {
		t.Fatal(err)
	}
	r.use(t, "meta")
	_, err := r.svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart)
	wantCode(t, err, ops.ECONFLICT, "on meta a campaign must send an approved template", "set template=<name>")
}

func TestStaffIntakeOnWindowGateway(t *testing.T) {
	t.Parallel()
	r := newWindowRig(t)
	ctx := context.Background()
	sw := r.use(t, "meta")
	if !strings.Contains(sw.Warning, "no intake template is set") {
		t.Fatalf("switch warning = %q", sw.Warning)
	}
	h, err := r.svc.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, w := range h.Warnings {
		warned = warned || w.Kind == "no_intake_template"
	}
	if !warned {
		t.Fatalf("health warnings %+v lack the intake template", h.Warnings)
	}

	// Without an intake template: the number whose window is closed is
	// named at once with the fix; the one who wrote lately still goes.
	r.inbound(t, "+919876543202")
	res, err := r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543201", "9876543202"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unreachable) != 1 || res.Unreachable[0].Raw != "+919876543201" || !strings.Contains(res.Unreachable[0].Reason, "cannot be reached on WhatsApp") ||
		!strings.Contains(res.Unreachable[0].Reason, "/set intake.template") {
		t.Fatalf("unreachable = %+v", res.Unreachable)
	}
	if len(res.Queued) != 1 || res.Queued[0].Phone != "+919876543202" || res.Queued[0].Template != "" {
		t.Fatalf("queued = %+v", res.Queued)
	}
	it, err := r.db.QueueItem(ctx, res.Queued[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if it.Content.Kind != store.ContentText {
		t.Fatalf("open window sends %+v, want the intake text", it.Content)
	}
	if _, ok, err := r.svc.IntakeTemplate(ctx, it); ok || err != nil {
		t.Fatalf("IntakeTemplate without the setting = %v, %v", ok, err)
	}

	// The intake template is checked when set.
	r.template(t, "order_ready", store.TemplateApproved, store.TemplateShape{BodyParams: 2})
	_, err = r.svc.SetSetting(ctx, operator, ops.SettingIntakeTemplate, "order_ready", false)
	wantCode(t, err, ops.EINVALID, "order_ready needs 2 body values", "/set intake.template_params")
	_, err = r.svc.SetSetting(ctx, operator, ops.SettingIntakeParams, "body={{City}}|x", false)
	if err != nil {
		t.Fatal(err) // no template yet: only the syntax is checked
	}
	_, err = r.svc.SetSetting(ctx, operator, ops.SettingIntakeTemplate, "order_ready", false)
	wantCode(t, err, ops.EINVALID, "{{City}}", "only {{phone}} and {{staff}}")
	if _, err := r.svc.SetSetting(ctx, operator, ops.SettingIntakeParams, `body="{{staff}}"|{{phone}}`, false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.SetSetting(ctx, operator, ops.SettingIntakeTemplate, "order_ready", false); err != nil {
		t.Fatal(err)
	}
	_, err = r.svc.SetSetting(ctx, operator, ops.SettingIntakeParams, "body=x", false)
	wantCode(t, err, ops.EINVALID, "order_ready needs 2 body values: 1 body value was given")

	// Now the closed window goes as the template, filled for the number
	// and the staff member; the open one still as free text.
	res, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543203", "9876543202"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unreachable) != 0 || len(res.Queued) != 2 {
		t.Fatalf("result %+v", res)
	}
	for _, q := range res.Queued {
		it, err := r.db.QueueItem(ctx, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch q.Phone {
		case "+919876543203":
			if q.Template != "order_ready" || it.Content.Kind != store.ContentTemplate ||
				!reflect.DeepEqual(it.Content.TemplateParams, []string{staff.Identity, "+919876543203"}) {
				t.Fatalf("closed window: %+v %+v", q, it.Content)
			}
			hook, ok, err := r.svc.IntakeTemplate(ctx, it)
			if err != nil || !ok || !reflect.DeepEqual(hook, it.Content) {
				t.Fatalf("IntakeTemplate = %+v, %v, %v; want %+v", hook, ok, err, it.Content)
			}
		case "+919876543202":
			if q.Template != "" || it.Content.Kind != store.ContentText {
				t.Fatalf("open window: %+v %+v", q, it.Content)
			}
		}
	}
	// The window closes 24 hours after the customer's message.
	r.clock.Advance(24 * time.Hour)
	res, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543202"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Queued) != 1 || res.Queued[0].Template != "order_ready" {
		t.Fatalf("after 24 hours: %+v", res)
	}
	if sw := r.use(t, "dryrun"); sw.Warning != "" {
		t.Fatalf("switch to a gateway without a window warns %q", sw.Warning)
	}
	if sw := r.use(t, "meta"); sw.Warning != "" {
		t.Fatalf("switch with the intake template set warns %q", sw.Warning)
	}
	// Paused at Meta later: staff sends say so instead of failing later.
	r.template(t, "order_ready", store.TemplatePaused, store.TemplateShape{BodyParams: 2})
	res, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543204", "9876543202"}, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unreachable) != 2 || !strings.Contains(res.Unreachable[0].Reason, `the intake template "order_ready"`) ||
		!strings.Contains(res.Unreachable[0].Reason, "PAUSED at Meta") {
		t.Fatalf("unreachable with the template paused: %+v", res.Unreachable)
	}
}

func TestSendTemplateToOneCustomer(t *testing.T) {
	t.Parallel()
	r := newWindowRig(t)
	ctx := context.Background()
	r.use(t, "meta")
	r.template(t, "diwali_offer", store.TemplateApproved, diwaliShape)
	r.image(t, "Diwali poster")
	textMessage(t, r.db, "thanks", "Thanks!")
	r.template(t, "thanks", store.TemplateApproved, store.TemplateShape{})

	res, err := r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543201"}, SavedMessage: "diwali_offer",
		Values: []string{"header=Diwali poster", "body={{staff}}"}})
	if err != nil {
		t.Fatal(err)
	}
	it, err := r.db.QueueItem(ctx, res.Queued[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if it.Content.TemplateName != "diwali_offer" || it.Content.TemplateHeader == nil || it.Content.TemplateHeader.Format != store.HeaderImage ||
		!reflect.DeepEqual(it.Content.TemplateParams, []string{staff.Identity}) {
		t.Fatalf("template send: %+v", it.Content)
	}
	// The shape is checked before anything is queued.
	_, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543202"}, SavedMessage: "diwali_offer"})
	wantCode(t, err, ops.EINVALID, "diwali_offer needs an image header and 1 body value")
	_, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543202"}, SavedMessage: "diwali_offer",
		Values: []string{"header=Diwali poster", "body={{City}}"}})
	wantCode(t, err, ops.EINVALID, "{{City}}", "only {{phone}} and {{staff}}")
	// A saved message of the same name wins; template: picks the template.
	_, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543203"}, SavedMessage: "thanks", Values: []string{"body=x"}})
	wantCode(t, err, ops.EINVALID, "is a saved message", "template:thanks")
	res, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543203"}, Template: &ops.Template{Name: "thanks"}})
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := r.db.QueueItem(ctx, res.Queued[0].ID); it.Content.Kind != store.ContentTemplate || it.Content.TemplateName != "thanks" {
		t.Fatalf("template:thanks sends %+v", it.Content)
	}
}

// A template with named parameters takes them by name, the header's too.
func TestNamedTemplateValues(t *testing.T) {
	t.Parallel()
	r := newWindowRig(t)
	ctx := context.Background()
	r.template(t, "order_update", store.TemplateApproved, store.TemplateShape{Header: store.HeaderText, HeaderParams: 1, HeaderName: "shop",
		BodyNames: []string{"first_name", "order_id"}, URLButtons: []int{0}})
	c := newCampaign(t, r.svc, "Orders")
	importCSV(t, r.svc, c.ID, csvContacts("Name,Mobile,Order", "Asha,9876543201,17"))
	tpl, err := ops.ParseTemplateValues([]string{"shop=Gupta Stores", "first_name={{name}}", "button={{Order}}"})
	if err != nil {
		t.Fatal(err)
	}
	tpl.Name = "order_update"
	_, err = r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &tpl})
	wantCode(t, err, ops.EINVALID, "order_update needs values for shop, first_name, order_id and a value for the URL button: order_id has no value")
	tpl.Named["order_id"] = "{{Order}}"
	if _, err := r.svc.SetCampaign(ctx, operator, c.ID, ops.CampaignChange{Template: &tpl}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart); err != nil {
		t.Fatal(err)
	}
	dispatch(t, r.db)
	items, err := r.db.RecentQueueItems(ctx, store.RecentFilter{Limit: 10})
	if err != nil || len(items) != 1 {
		t.Fatalf("items %+v, %v", items, err)
	}
	want := store.QueueContent{Kind: store.ContentTemplate, TemplateName: "order_update", TemplateLanguage: "en",
		TemplateParams: []string{"Asha", "17"}, TemplateParamNames: []string{"first_name", "order_id"},
		TemplateHeader:  &store.TemplateHeader{Format: store.HeaderText, Text: "Gupta Stores", Name: "shop"},
		TemplateButtons: []store.TemplateButton{{Index: 0, Text: "17"}}}
	if !reflect.DeepEqual(items[0].Content, want) {
		t.Fatalf("queued %+v\nwant %+v", items[0].Content, want)
	}
}
