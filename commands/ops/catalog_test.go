package ops_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// putEntry saves a catalog entry as an admin.
func putEntry(t testing.TB, svc *ops.Service, e ops.CatalogEntry) ops.CatalogEntry {
	t.Helper()
	saved, err := svc.PutCatalogEntry(context.Background(), admin, e)
	if err != nil {
		t.Fatalf("put %s %q: %v", e.Kind, e.Name, err)
	}
	return saved
}

// TestCatalogEntries: admins save, change and remove named flows and
// templates; names compare in any case; everything else is refused with
// the reason, and each change is audited.
func TestCatalogEntries(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, nil)
	ctx := context.Background()

	e := ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "  Order   Update ", ExternalID: " order_update_v2 ", Language: "en-us", Params: 2}
	_, err := svc.PutCatalogEntry(ctx, operator, e)
	wantCode(t, err, ops.EFORBIDDEN, "admin")
	saved := putEntry(t, svc, e)
	if saved.Name != "order update" || saved.ExternalID != "order_update_v2" || saved.Language != "en_US" || saved.Params != 2 ||
		saved.UpdatedBy != admin.Identity || saved.UpdatedAt.IsZero() {
		t.Fatalf("saved %+v", saved)
	}
	got, err := svc.CatalogEntry(ctx, ops.CatalogTemplate, "ORDER update")
	if err != nil || !reflect.DeepEqual(got, saved) {
		t.Fatalf("lookup in another case: %+v, %v; want %+v", got, err, saved)
	}
	_, err = svc.CatalogEntry(ctx, ops.CatalogFlow, "order update")
	wantCode(t, err, ops.ENOTFOUND, "no saved flow", "/flows")

	// Saving the name again, in another case, changes the entry.
	changed := putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "ORDER UPDATE", ExternalID: "order_update_v3", Language: "hi", Params: 1})
	list, err := svc.Catalog(ctx, ops.CatalogTemplate)
	if err != nil || len(list) != 1 || list[0].ExternalID != "order_update_v3" || list[0].Language != "hi" || list[0].Params != 1 {
		t.Fatalf("templates after a change: %+v, %v", list, err)
	}
	if changed.Name != "order update" {
		t.Fatalf("changed %+v", changed)
	}

	// Flows: the language is optional; the list is by name.
	for _, name := range []string{"Welcome", "abandoned cart", "Order-Status.v2"} {
		putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogFlow, Name: name, ExternalID: "1" + name[:1]})
	}
	flows, err := svc.Catalog(ctx, ops.CatalogFlow)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range flows {
		names = append(names, f.Name)
	}
	if want := []string{"abandoned cart", "order-status.v2", "welcome"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("flows %v, want %v", names, want)
	}

	long := strings.Repeat("x", 65)
	for _, tc := range []struct {
		e       ops.CatalogEntry
		phrases []string
	}{
		{ops.CatalogEntry{Kind: "sticker", Name: "x", ExternalID: "1"}, []string{"unknown kind", "flow or template"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "  ", ExternalID: "1"}, []string{"1 to 64 characters"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: long, ExternalID: "1"}, []string{"too long", "64"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "order/status", ExternalID: "1"}, []string{`"/"`, "letters, digits, spaces and . _ -"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "12345", ExternalID: "1"}, []string{"no letter", "flow's id"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "2024-10", ExternalID: "1"}, []string{"no letter"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "welcome", ExternalID: " "}, []string{"flow id", "welcome"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "welcome", ExternalID: "12 34"}, []string{"space or a control character"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "welcome", ExternalID: "12\x0034"}, []string{"control character"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "welcome", ExternalID: strings.Repeat("9", 129)}, []string{"at most 128"}},
		{ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "promo", ExternalID: "promo"}, []string{"needs its language"}},
		{ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "promo", ExternalID: "promo", Language: "english"}, []string{`"english" is not a WhatsApp language code`}},
		{ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "promo", ExternalID: "promo", Language: "en_USA"}, []string{"language code"}},
		{ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "promo", ExternalID: "1", Language: "e1"}, []string{"language code"}},
		{ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "promo", ExternalID: "promo", Language: "en", Params: 21}, []string{"0 to 20", "21"}},
		{ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "promo", ExternalID: "promo", Language: "en", Params: -1}, []string{"0 to 20"}},
	} {
		_, err := svc.PutCatalogEntry(ctx, admin, tc.e)
		wantCode(t, err, ops.EINVALID, tc.phrases...)
	}
	if n := len(mustCatalog(t, svc, ops.CatalogFlow)) + len(mustCatalog(t, svc, ops.CatalogTemplate)); n != 4 {
		t.Fatalf("%d entries after refused puts, want 4", n)
	}
	// The edges of what is accepted.
	putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogFlow, Name: strings.Repeat("é", 64), ExternalID: strings.Repeat("9", 128), Language: "FIL"})
	putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "दीवाली offer 2", ExternalID: "diwali", Language: "hi", Params: 20})

	err = svc.RemoveCatalogEntry(ctx, operator, ops.CatalogFlow, "welcome")
	wantCode(t, err, ops.EFORBIDDEN)
	if err := svc.RemoveCatalogEntry(ctx, admin, ops.CatalogFlow, "WELCOME"); err != nil {
		t.Fatal(err)
	}
	err = svc.RemoveCatalogEntry(ctx, admin, ops.CatalogFlow, "welcome")
	wantCode(t, err, ops.ENOTFOUND, "no saved flow", "welcome")
	_, err = svc.CatalogEntry(ctx, ops.CatalogFlow, "welcome")
	wantCode(t, err, ops.ENOTFOUND)

	log, err := db.AuditLog(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range log {
		if strings.HasPrefix(a.Action, "catalog.") {
			actions = append(actions, a.Action+" "+a.Outcome+" "+a.Detail)
		}
	}
	if len(actions) != 9 || actions[6] != "catalog.put ok flow welcome → 1W" || actions[7] != "catalog.put ok template order update → order_update_v3 hi (1 param)" || !strings.HasPrefix(actions[0], "catalog.remove error flow welcome") ||
		!strings.HasPrefix(actions[1], "catalog.remove ok flow welcome") ||
		actions[len(actions)-1] != "catalog.put ok template order update → order_update_v2 en_US (2 params)" {
		t.Fatalf("audit, newest first:\n%s", strings.Join(actions, "\n"))
	}
}

func mustCatalog(t testing.TB, svc *ops.Service, kind ops.CatalogKind) []ops.CatalogEntry {
	t.Helper()
	list, err := svc.Catalog(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// TestCampaignUsesSavedNames: flow= and template= take a saved name in
// any case, which resolves to what it stands for; ids keep working; a
// name that is neither is refused with the saved names.
func TestCampaignUsesSavedNames(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	svc, _ := newService(t, db, nil, nil)
	ctx := context.Background()
	c := newCampaign(t, svc, "Named")
	importCSV(t, svc, c.ID, csvContacts("Name,Mobile,City", "Asha,9876543201,Pune"))
	content := func() store.QueueContent {
		t.Helper()
		got, err := svc.Campaign(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Content
	}
	set := func(ch ops.CampaignChange) error {
		_, err := svc.SetCampaign(ctx, operator, c.ID, ch)
		return err
	}

	// No saved flows yet: a name is refused and says none are saved; an id
	// goes through.
	err := set(ops.CampaignChange{Flow: ptr("welcome")})
	wantCode(t, err, ops.ENOTFOUND, `no saved flow called "welcome"`, "no flows are saved yet", "admin page", "flow=1234567890")
	if err := set(ops.CampaignChange{Flow: ptr("1234567890123")}); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.Kind != store.ContentFlow || got.FlowID != "1234567890123" {
		t.Fatalf("raw flow id: %+v", got)
	}

	putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "Welcome flow", ExternalID: "555000111"})
	putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "feedback", ExternalID: "sr-feedback"})
	if err := set(ops.CampaignChange{Flow: ptr("  WELCOME   Flow ")}); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.FlowID != "555000111" {
		t.Fatalf("flow by name: %+v", got)
	}
	if err := set(ops.CampaignChange{Flow: ptr("Feedback")}); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.FlowID != "sr-feedback" {
		t.Fatalf("flow by name: %+v", got)
	}
	// A name wins over the same text read as an id.
	putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogFlow, Name: "flow-7", ExternalID: "777"})
	if err := set(ops.CampaignChange{Flow: ptr("flow-7")}); err != nil || content().FlowID != "777" {
		t.Fatalf("a name that looks like an id: %+v, %v", content(), err)
	}
	if err := set(ops.CampaignChange{Flow: ptr("flow-8")}); err != nil || content().FlowID != "flow-8" {
		t.Fatalf("an id with letters and digits: %+v, %v", content(), err)
	}
	err = set(ops.CampaignChange{Flow: ptr("welcom")})
	wantCode(t, err, ops.ENOTFOUND, `no saved flow called "welcom"`, `Saved flows: feedback, flow-7, "welcome flow".`)
	noPhrase(t, err, "more")
	err = set(ops.CampaignChange{Flow: ptr("order status")})
	wantCode(t, err, ops.ENOTFOUND, "saved flows")
	if got := content(); got.FlowID != "flow-8" {
		t.Fatalf("a refused name changed the campaign: %+v", got)
	}
	// At most ten names are listed.
	for i := range 12 {
		putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogFlow, Name: fmt.Sprintf("promo %02d", i), ExternalID: fmt.Sprint(900 + i)})
	}
	err = set(ops.CampaignChange{Flow: ptr("welcom")})
	wantCode(t, err, ops.ENOTFOUND, `"promo 07" and 5 more (/flows lists them all)`)
	noPhrase(t, err, "promo 08")

	// Templates.
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "order update"}})
	wantCode(t, err, ops.ENOTFOUND, `no saved template called "order update"`, "no templates are saved yet", "template=<name>:<language>")
	if err := set(ops.CampaignChange{Template: &ops.Template{Name: "order_update", Language: "en-gb", Params: []string{"{name}"}}}); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.Kind != store.ContentTemplate || got.TemplateName != "order_update" || got.TemplateLanguage != "en_GB" ||
		!reflect.DeepEqual(got.TemplateParams, []string{"{name}"}) {
		t.Fatalf("raw template: %+v", got)
	}
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "order_update", Language: "english"}})
	wantCode(t, err, ops.EINVALID, "language code")

	putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "Order update", ExternalID: "order_update_v2", Language: "en_US", Params: 2})
	putEntry(t, svc, ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "thanks", ExternalID: "thank_you", Language: "hi"})
	if err := set(ops.CampaignChange{Template: &ops.Template{Name: "ORDER UPDATE", Params: []string{"{name}", "{City}"}}}); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.TemplateName != "order_update_v2" || got.TemplateLanguage != "en_US" || !reflect.DeepEqual(got.TemplateParams, []string{"{name}", "{City}"}) {
		t.Fatalf("template by name: %+v", got)
	}
	// A language after the name picks another translation.
	if err := set(ops.CampaignChange{Template: &ops.Template{Name: "order update", Language: "hi", Params: []string{"{name}", "{City}"}}}); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.TemplateName != "order_update_v2" || got.TemplateLanguage != "hi" {
		t.Fatalf("template by name in another language: %+v", got)
	}
	if err := set(ops.CampaignChange{Template: &ops.Template{Name: "Thanks"}}); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.TemplateName != "thank_you" || got.TemplateLanguage != "hi" || len(got.TemplateParams) != 0 {
		t.Fatalf("template without parameters: %+v", got)
	}
	// The parameters must be as many as the saved template takes.
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "order update", Params: []string{"{name}"}}})
	wantCode(t, err, ops.EINVALID, "order update needs 2 body values: 1 body value was given")
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "order update"}})
	wantCode(t, err, ops.EINVALID, "order update needs 2 body values: no body value was given")
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "thanks", Params: []string{"Asha"}}})
	wantCode(t, err, ops.EINVALID, "thanks takes no values: 1 body value was given")
	// ... and name columns the contacts have.
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "order update", Params: []string{"{name}", "{Order}"}}})
	wantCode(t, err, ops.ECONFLICT, "Order")
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "thank you"}})
	wantCode(t, err, ops.ENOTFOUND, `no saved template called "thank you"`, `Saved templates: "order update", thanks.`, "template=<name>:<language>")
	// A name with spaces is no template's own name, language or not.
	err = set(ops.CampaignChange{Template: &ops.Template{Name: "thank you", Language: "en"}})
	wantCode(t, err, ops.ENOTFOUND, "saved templates")
	if got := content(); got.TemplateName != "thank_you" {
		t.Fatalf("a refused template changed the campaign: %+v", got)
	}

	// A campaign keeps what a name resolved to when the entry changes or
	// goes.
	if err := svc.RemoveCatalogEntry(ctx, admin, ops.CatalogTemplate, "thanks"); err != nil {
		t.Fatal(err)
	}
	if got := content(); got.TemplateName != "thank_you" || got.TemplateLanguage != "hi" {
		t.Fatalf("after removing the entry: %+v", got)
	}
	if _, err := svc.ChangeCampaign(ctx, operator, c.ID, ops.ActionStart); err != nil {
		t.Fatalf("start after removing the entry: %v", err)
	}
}
