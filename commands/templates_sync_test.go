package commands_test

import (
	"context"
	"strings"
	"sync"
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

// templateAccount is a gateway's template list that tests change.
type templateAccount struct {
	mu   sync.Mutex
	list []store.CatalogEntry
	err  error
}

func (a *templateAccount) set(list []store.CatalogEntry, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list, a.err = list, err
}

func (a *templateAccount) Templates(context.Context) ([]store.CatalogEntry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]store.CatalogEntry(nil), a.list...), a.err
}

// newSyncFixture is newFixture with a meta gateway whose template list is
// acct's.
func newSyncFixture(t *testing.T, acct *templateAccount) *fixture {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	f := &fixture{clock: clock}
	f.db = storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"dryrun", "meta"}), meta.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	all := queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}
	f.ops = ops.New(f.db, settings.NewReader(reg, f.db, time.Nanosecond, nil), ops.Config{Now: clock.Now, Gateways: []ops.Gateway{
		{Name: "dryrun", Caps: all}, {Name: "meta", Caps: all, Templates: acct.Templates}}}, nil)
	f.router = commands.New(f.ops, commands.Config{Now: clock.Now}, nil)
	for id, role := range map[string]string{"telegram:1": "staff", "telegram:2": "operator", "telegram:3": "admin"} {
		if _, err := f.db.PutOperator(context.Background(), id, role, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func tpl(name, lang, status string, shape store.TemplateShape) store.CatalogEntry {
	return store.CatalogEntry{Kind: store.CatalogTemplate, ExternalID: name, Language: lang, Status: status, Category: "MARKETING",
		ParamCount: shape.BodyParams, Shape: shape}
}

// /templates sync reads the account's templates and says what changed and
// what cannot be sent; /templates then shows each one's language, header,
// parameters and status, and marks the hand-made ones.
func TestTemplatesSyncFromChat(t *testing.T) {
	t.Parallel()
	acct := &templateAccount{}
	f := newSyncFixture(t, acct)
	admin := ops.Actor{Identity: "web:asha", Role: ops.RoleAdmin, Transport: "web"}
	if _, err := f.ops.PutCatalogEntry(context.Background(), admin, ops.CatalogEntry{Kind: ops.CatalogTemplate, Name: "thanks",
		ExternalID: "thank_you", Language: "hi", Params: 1}); err != nil {
		t.Fatal(err)
	}
	image := store.TemplateShape{Header: store.HeaderImage, BodyParams: 1}
	acct.set([]store.CatalogEntry{
		tpl("diwali_offer", "hi", "APPROVED", image),
		tpl("diwali_offer", "en", "APPROVED", image),
		tpl("order_update", "en_US", "PAUSED", store.TemplateShape{Header: store.HeaderText, HeaderName: "customer", HeaderParams: 1,
			BodyParams: 2, BodyNames: []string{"customer", "order_id"}, URLButtons: []int{0}}),
		tpl("thanks", "en", "APPROVED", store.TemplateShape{}),
		tpl("old_promo", "en", "APPROVED", store.TemplateShape{}),
	}, nil)

	if reply := f.say(t, "telegram:1", "/templates sync"); !strings.Contains(reply, "needs the operator role") {
		t.Fatalf("/templates sync as staff: %q", reply)
	}
	want := "Templates synced from meta: 4 added, 0 updated, 0 unchanged, 0 gone, 1 not approved, 1 clash with hand-made entries.\n" +
		"Not approved, so campaigns cannot send them:\n• order_update (en_US): PAUSED\n" +
		"Left alone:\n• \"thanks\" is a hand-made entry, so the account's thanks (en) was not saved under that name; remove the hand-made one on the admin page and sync again to use the account's."
	if reply := f.say(t, "telegram:2", "/templates sync"); reply != want {
		t.Fatalf("/templates sync:\n%s\nwant:\n%s", reply, want)
	}
	want = "Saved templates (5):\n" +
		"• \"diwali_offer en\" → diwali_offer · en · image header · 1 param\n" +
		"• \"diwali_offer hi\" → diwali_offer · hi · image header · 1 param\n" +
		"• old_promo → old_promo · en · no header · no params\n" +
		"• order_update → order_update · en_US · text header with {{customer}} · params customer, order_id, 1 URL button param · PAUSED\n" +
		"• thanks → thank_you · hi · 1 param · hand-made\n" +
		"Use one with /campaign set <id> template=<name>. /templates sync reads them from the account; admins add others on the admin page."
	if reply := f.say(t, "telegram:2", "/templates"); reply != want {
		t.Fatalf("/templates:\n%s\nwant:\n%s", reply, want)
	}

	acct.set([]store.CatalogEntry{
		tpl("diwali_offer", "hi", "APPROVED", image),
		tpl("diwali_offer", "en", "APPROVED", image),
		tpl("order_update", "en_US", "APPROVED", store.TemplateShape{Header: store.HeaderText, HeaderName: "customer", HeaderParams: 1,
			BodyParams: 2, BodyNames: []string{"customer", "order_id"}, URLButtons: []int{0}}),
	}, nil)
	want = "Templates synced from meta: 0 added, 1 updated, 2 unchanged, 1 gone, 0 not approved.\n" +
		"No longer in the account (kept as DELETED):\n• old_promo (en)"
	if reply := f.say(t, "telegram:3", "/templates sync"); reply != want {
		t.Fatalf("second /templates sync:\n%s\nwant:\n%s", reply, want)
	}
	if reply := f.say(t, "telegram:2", "/templates"); !strings.Contains(reply, "• old_promo → old_promo · en · no header · no params · DELETED\n") {
		t.Fatalf("/templates after a template went: %s", reply)
	}
	if reply := f.say(t, "telegram:2", "/templates sync now"); reply != "Usage: /templates sync" {
		t.Fatalf("/templates sync with an argument: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/templates all"); !strings.Contains(reply, "/templates sync") {
		t.Fatalf("/templates with an argument: %q", reply)
	}

	acct.set(nil, ops.NotSetUp("meta.waba_id is not set: set it to the WhatsApp Business Account id on the admin page"))
	if reply := f.say(t, "telegram:2", "/templates sync"); !strings.Contains(reply, "meta.waba_id is not set") {
		t.Fatalf("/templates sync without a WABA id: %q", reply)
	}
}
