package ops_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

// Actors of each role.
var (
	admin    = ops.Actor{Identity: "console:admin", Role: ops.RoleAdmin, Transport: "console"}
	operator = ops.Actor{Identity: "telegram:200", Role: ops.RoleOperator, Transport: "telegram"}
	staff    = ops.Actor{Identity: "telegram:300", Role: ops.RoleStaff, Transport: "telegram"}
)

// allCaps is a gateway that sends everything.
var allCaps = queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}

// newService builds the operations over db with gateways (default: one
// "dryrun" that sends everything), a registry holding the queue's, the
// operations' and Shiprocket's settings, and a settings cache that never
// goes stale.
func newService(t testing.TB, db *store.DB, gws []ops.Gateway, notify func()) (*ops.Service, *settings.Reader) {
	t.Helper()
	if len(gws) == 0 {
		gws = []ops.Gateway{{Name: "dryrun", Caps: allCaps}}
	}
	names := make([]string, len(gws))
	for i, g := range gws {
		names[i] = g.Name
	}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs(names), shiprocket.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	return ops.New(db, r, ops.Config{Gateways: gws, Notify: notify}, nil), r
}

// wantCode fails the test unless err carries code (and, when phrases are
// given, its message contains each of them).
func wantCode(t testing.TB, err error, code string, phrases ...string) {
	t.Helper()
	if got := ops.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	msg := ops.ErrorMessage(err)
	for _, p := range phrases {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(p)) {
			t.Fatalf("message %q does not mention %q", msg, p)
		}
	}
}

// noPhrase fails the test when err's message contains phrase.
func noPhrase(t testing.TB, err error, phrase string) {
	t.Helper()
	if msg := ops.ErrorMessage(err); strings.Contains(strings.ToLower(msg), strings.ToLower(phrase)) {
		t.Fatalf("message %q should not mention %q", msg, phrase)
	}
}

// csvContacts is a contact list with header and one line per contact:
// Indian mobiles 98765 432NN in order.
func csvContacts(header string, rows ...string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	return b.String()
}

// importCSV imports a CSV contact list into campaign id as an operator.
func importCSV(t testing.TB, svc *ops.Service, id int64, list string) ops.ImportResult {
	t.Helper()
	res, err := svc.ImportContacts(context.Background(), operator, id, "contacts.csv", strings.NewReader(list), int64(len(list)), "")
	if err != nil {
		t.Fatalf("import into #%d: %v", id, err)
	}
	return res
}

// newCampaign creates a draft campaign.
func newCampaign(t testing.TB, svc *ops.Service, name string) ops.Campaign {
	t.Helper()
	c, err := svc.CreateCampaign(context.Background(), operator, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// contactCount counts a campaign's contacts in the database.
func contactCount(t testing.TB, db *store.DB, id int64) int {
	t.Helper()
	cs, err := db.CampaignContacts(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// textMessage stores a saved text message and returns its name.
func textMessage(t testing.TB, db *store.DB, name, body string) string {
	t.Helper()
	if _, err := db.CreateSavedMessage(context.Background(), name, "text", body, 0, "test"); err != nil {
		t.Fatal(err)
	}
	return name
}

// sendAll marks every due queue item sent, as a delivery loop would.
func sendAll(t testing.TB, db *store.DB) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for i := 0; ; i++ {
		items, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 100, Owner: "test", Token: fmt.Sprintf("tok-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			return n
		}
		outs := make([]store.Outcome, len(items))
		for j, it := range items {
			outs[j] = store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusSent, Gateway: "dryrun",
				ProviderMessageID: fmt.Sprintf("p-%d", it.ID)}
		}
		applied, err := db.CompleteQueueItems(ctx, outs)
		if err != nil {
			t.Fatal(err)
		}
		for j, ok := range applied {
			if !ok {
				t.Fatalf("outcome of item %d was not applied", outs[j].ID)
			}
		}
		n += len(items)
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
