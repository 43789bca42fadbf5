package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// newWindowFixture is newFixture with meta a gateway with a 24-hour
// window, as the binary describes it.
func newWindowFixture(t *testing.T) *fixture {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	f := &fixture{clock: clock}
	f.db = storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"dryrun", "meta"}), meta.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	all := queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}
	gws := []ops.Gateway{{Name: "dryrun", Caps: all}, {Name: "meta", Caps: all, Window: 24 * time.Hour}}
	f.ops = ops.New(f.db, settings.NewReader(reg, f.db, time.Nanosecond, nil), ops.Config{Gateways: gws, Now: clock.Now}, nil)
	f.router = commands.New(f.ops, commands.Config{Now: clock.Now}, nil)
	ctx := context.Background()
	for id, role := range map[string]string{"telegram:1": "staff", "telegram:2": "operator", "telegram:3": "admin"} {
		if _, err := f.db.PutOperator(ctx, id, role, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) syncedTemplate(t *testing.T, name string, shape store.TemplateShape) {
	t.Helper()
	if _, err := f.db.PutCatalogEntry(context.Background(), store.CatalogEntry{Kind: store.CatalogTemplate, Name: name, ExternalID: name,
		Language: "en", ParamCount: shape.BodyParams, Shape: shape, Status: store.TemplateApproved}, "test"); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) savedImage(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	mid, err := f.db.CreateMediaObject(ctx, store.MediaObject{SHA256: strings.Repeat("cd", 32), MIME: "image/jpeg", Size: 10,
		Storage: "local", StorageKey: "cd/x.jpg", OriginalName: "x.jpg"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateSavedMessage(ctx, name, store.SavedKindImage, "", mid, "test"); err != nil {
		t.Fatal(err)
	}
}

func TestTemplateSendsFromChat(t *testing.T) {
	t.Parallel()
	f := newWindowFixture(t)
	ctx := context.Background()
	f.syncedTemplate(t, "diwali_offer", store.TemplateShape{Header: store.HeaderImage, BodyParams: 1})
	f.savedImage(t, "Diwali poster")

	// Switching to meta warns while no intake template is set.
	if reply := f.say(t, "telegram:3", "/gateway use meta"); !strings.Contains(reply, "Messages now go out via meta.") ||
		!strings.Contains(reply, "⚠ meta sends free-form messages only within 24h") || !strings.Contains(reply, "/set intake.template") {
		t.Fatalf("/gateway use meta: %q", reply)
	}
	// A customer who has not written cannot be reached, and staff are told
	// at once with the fix.
	if reply := f.say(t, "telegram:1", "/send 9876543201"); !strings.Contains(reply, "✗ +919876543201 cannot be reached on WhatsApp now") ||
		!strings.Contains(reply, "/set intake.template") {
		t.Fatalf("/send without intake template: %q", reply)
	}
	// A template to one customer, with its values.
	reply := f.say(t, "telegram:1", `/send 9876543201 diwali_offer header="Diwali poster" body={{staff}}`)
	if !strings.HasPrefix(reply, "Queued #") {
		t.Fatalf("/send template: %q", reply)
	}
	items := f.items(t)
	if c := items[0].Content; c.Kind != store.ContentTemplate || c.TemplateName != "diwali_offer" || c.TemplateHeader == nil ||
		len(c.TemplateParams) != 1 || c.TemplateParams[0] != "telegram:1" {
		t.Fatalf("queued %+v", items[0].Content)
	}
	if reply := f.say(t, "telegram:1", "/send! 9876543201 template:diwali_offer body=x"); !strings.Contains(reply, "diwali_offer needs an image header and 1 body value: no header was given") {
		t.Fatalf("/send template without header: %q", reply)
	}

	// The intake template, set from chat, is checked and then used.
	if reply := f.say(t, "telegram:2", `/set intake.template_params header="Diwali poster" body={{phone}}`); strings.Contains(reply, "Not changed") {
		t.Fatalf("/set intake.template_params: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/set intake.template diwali_offer"); strings.Contains(reply, "Not changed") {
		t.Fatalf("/set intake.template: %q", reply)
	}
	if reply := f.say(t, "telegram:1", "/send 9876543202"); !strings.Contains(reply, "as the template diwali_offer") {
		t.Fatalf("/send with intake template: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/set intake.template_params body=a|b"); !strings.Contains(reply, "diwali_offer needs an image header and 1 body value") {
		t.Fatalf("/set intake.template_params that does not fit: %q", reply)
	}

	// Campaigns on meta send templates, values given with template=.
	f.say(t, "telegram:2", "/campaign new Diwali")
	if _, err := f.db.CreateSavedMessage(ctx, "thanks", "text", "Thanks!", 0, "test"); err != nil {
		t.Fatal(err)
	}
	if reply := f.say(t, "telegram:2", "/campaign set 1 message=thanks"); !strings.Contains(reply, "on meta a campaign must send an approved template") {
		t.Fatalf("/campaign set message on meta: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign set 1 template=diwali_offer body={{name}}"); !strings.Contains(reply, "diwali_offer needs an image header and 1 body value") {
		t.Fatalf("/campaign set without header: %q", reply)
	}
	if reply := f.say(t, "telegram:2", `/campaign set 1 template=diwali_offer header="Diwali poster" body={{name}}`); !strings.HasPrefix(reply, "Campaign #1: set") {
		t.Fatalf("/campaign set template: %q", reply)
	}
	if reply := f.say(t, "telegram:2", `/campaign set 1 body={{name}}`); !strings.Contains(reply, "goes with template=") {
		t.Fatalf("/campaign set body= alone: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign 1"); !strings.Contains(reply, "template diwali_offer:en header=saved image #") || !strings.Contains(reply, "{{name}}") {
		t.Fatalf("/campaign 1: %q", reply)
	}
}
