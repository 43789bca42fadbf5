package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// A gateway's not-ready answer reaches the operations as ops.NotSetUp,
// worded as the gateway's reason; other errors and lists pass as they are.
func TestTemplateListWrapsNotReady(t *testing.T) {
	t.Parallel()
	if templateList(nil) != nil {
		t.Fatal("a gateway without a list got one")
	}
	list := templateList(func(context.Context) ([]store.CatalogEntry, error) {
		return nil, gateways.NotReady("meta.waba_id is not set: set it to the WhatsApp Business Account id")
	})
	_, err := list(context.Background())
	if !errors.Is(err, ops.ErrNotSetUp) || ops.ErrorMessage(err) != "meta.waba_id is not set: set it to the WhatsApp Business Account id" {
		t.Fatalf("not ready: %v (%q)", err, ops.ErrorMessage(err))
	}
	refused := errors.New("meta templates: the access token was refused (190)")
	list = templateList(func(context.Context) ([]store.CatalogEntry, error) {
		return nil, queue.Classify(queue.SenderBlocked, "190", refused)
	})
	if _, err := list(context.Background()); !errors.Is(err, refused) || errors.Is(err, ops.ErrNotSetUp) || err.Error() != refused.Error() {
		t.Fatalf("refusal: %v", err)
	}
}

// The scheduled sync logs a list not set up at Info, a failure at Error,
// and a sync's counts at Info.
func TestScheduledTemplateSyncLogs(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t, storetest.Options{})
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs([]string{"dryrun", "meta"}))
	if err != nil {
		t.Fatal(err)
	}
	var answer func() ([]store.CatalogEntry, error)
	caps := queue.Capabilities{Text: true, Templates: true}
	svc := ops.New(db, settings.NewReader(reg, db, time.Nanosecond, nil), ops.Config{Gateways: []ops.Gateway{
		{Name: "dryrun", Caps: caps},
		{Name: "meta", Caps: caps, Templates: templateList(func(context.Context) ([]store.CatalogEntry, error) { return answer() })},
	}}, nil)
	run := func() string {
		var buf bytes.Buffer
		syncTemplatesNow(context.Background(), svc, slog.New(slog.NewTextHandler(&buf, nil)))
		return buf.String()
	}

	answer = func() ([]store.CatalogEntry, error) { return nil, gateways.NotReady("meta.waba_id is not set") }
	if out := run(); !strings.Contains(out, "level=INFO") || !strings.Contains(out, "template sync skipped") ||
		!strings.Contains(out, "meta.waba_id is not set") {
		t.Fatalf("not set up: %s", out)
	}
	answer = func() ([]store.CatalogEntry, error) { return nil, errors.New("Graph API answered 500") }
	if out := run(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "template sync failed") {
		t.Fatalf("failure: %s", out)
	}
	answer = func() ([]store.CatalogEntry, error) {
		return []store.CatalogEntry{{ExternalID: "order_update", Language: "en", Status: "APPROVED"}}, nil
	}
	if out := run(); !strings.Contains(out, "level=INFO") || !strings.Contains(out, "added=1") {
		t.Fatalf("sync: %s", out)
	}
	if e, err := svc.CatalogEntry(context.Background(), ops.CatalogTemplate, "order_update"); err != nil || !e.Synced {
		t.Fatalf("synced entry: %+v, %v", e, err)
	}
	log, err := db.AuditLog(context.Background(), 1)
	if err != nil || len(log) != 1 || log[0].Actor != "system:template-sync" {
		t.Fatalf("audit: %+v, %v", log, err)
	}
}

// The operations get each built gateway's template list, and none for a
// gateway without one.
func TestDescribePassesTemplateLists(t *testing.T) {
	t.Parallel()
	list := func(context.Context) ([]store.CatalogEntry, error) {
		return []store.CatalogEntry{{ExternalID: "order_update", Language: "en", Status: "APPROVED"}}, nil
	}
	defs := []gateways.Definition{
		{Name: "plain", Open: func(context.Context, gateways.Env) (gateways.Gateway, error) { return gateways.Gateway{}, nil }},
		{Name: "listing", Open: func(context.Context, gateways.Env) (gateways.Gateway, error) {
			return gateways.Gateway{Templates: list}, nil
		}},
	}
	g, err := buildGateways(context.Background(), defs, gateways.Env{})
	if err != nil {
		t.Fatal(err)
	}
	described := g.describe(nil)
	if len(described) != 2 || described[0].Templates != nil || described[1].Templates == nil {
		t.Fatalf("described: %+v", described)
	}
	got, err := described[1].Templates(context.Background())
	if err != nil || len(got) != 1 || got[0].ExternalID != "order_update" {
		t.Fatalf("list: %+v, %v", got, err)
	}
}
