package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// TestScheduledCampaignNotReadyInChat: in chat, /gateway use whapi is
// refused naming the template campaign scheduled under meta; once the
// switch is forced, the campaign does not start at its time: /campaign 1
// and /campaigns show why it is paused, the operator who scheduled it is
// told in their chat, /campaign resume is refused for the same reason, and
// back on meta it resumes.
func TestScheduledCampaignNotReadyInChat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := storetest.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)) // 14:30 in Kolkata
	db := storetest.OpenSQLite(t, storetest.Options{Now: clock.Now})
	names := []string{"meta", "whapi"}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs(names))
	if err != nil {
		t.Fatal(err)
	}
	svc := ops.New(db, settings.NewReader(reg, db, time.Nanosecond, nil), ops.Config{Now: clock.Now, Gateways: []ops.Gateway{
		{Name: "meta", Caps: queue.Capabilities{Text: true, Media: true, Templates: true, Flows: true}},
		{Name: "whapi", Caps: queue.Capabilities{Text: true, Media: true}},
	}}, nil)
	f := &fixture{clock: clock, db: db, ops: svc, router: commands.New(svc, commands.Config{Now: clock.Now}, nil)}
	for id, role := range map[string]string{"telegram:2": "operator", "telegram:3": "admin"} {
		if _, err := db.PutOperator(ctx, id, role, "", "test"); err != nil {
			t.Fatal(err)
		}
	}
	dispatcher := campaign.NewDispatcher(db, campaign.DispatcherConfig{Tick: time.Minute, Now: clock.Now, Ready: svc.CampaignReadiness}, nil)

	f.say(t, "telegram:2", "/campaign new Diwali")
	f.sayWith(t, "telegram:2", "/import 1", "list.csv", []byte("Name,Mobile\nAsha,9876543201\nRavi,9876543202\n"))
	if reply := f.say(t, "telegram:2", "/campaign set 1 template=diwali_offer:en params={name}"); !strings.Contains(reply, "set template") {
		t.Fatalf("set: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign schedule 1 2026-11-27 16:00"); !strings.Contains(reply, "16:00") {
		t.Fatalf("schedule: %q", reply)
	}
	reply := f.say(t, "telegram:3", "/gateway use whapi")
	for _, want := range []string{"Not switched", "#1 Diwali (scheduled)", "template", "/gateway use! whapi"} {
		if !strings.Contains(reply, want) {
			t.Fatalf("/gateway use whapi: %q lacks %q", reply, want)
		}
	}
	if err := svc.UseGateway(ctx, ops.Actor{Identity: "telegram:3", Role: ops.RoleAdmin}, "whapi", true); err != nil {
		t.Fatal(err)
	}

	clock.Advance(2 * time.Hour)
	if n, err := dispatcher.Once(ctx); err != nil || n != 0 {
		t.Fatalf("dispatch at its time: %d, %v", n, err)
	}
	for _, cmd := range []string{"/campaign 1", "/campaigns"} {
		reply := f.say(t, "telegram:2", cmd)
		for _, want := range []string{"paused", "did not start at its scheduled time", "whapi"} {
			if !strings.Contains(reply, want) {
				t.Fatalf("%s: %q lacks %q", cmd, reply, want)
			}
		}
	}
	if reply := f.say(t, "telegram:2", "/campaign 1"); !strings.Contains(reply, "/campaign resume 1") {
		t.Fatalf("/campaign 1 does not say how to go on: %q", reply)
	}

	tg := newChat()
	notices := commands.NewNotices(svc, map[string]commands.Notifier{"telegram": tg}, commands.NoticeConfig{}, nil)
	if n, err := notices.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("notices: %d, %v", n, err)
	}
	told := tg.texts("2")
	if len(told) != 1 || !strings.Contains(told[0], `campaign #1 "Diwali" is paused`) || !strings.Contains(told[0], "whapi") || !strings.Contains(told[0], "/campaign resume 1") {
		t.Fatalf("the scheduler was told %q", told)
	}
	if n, _ := notices.RunOnce(ctx); n != 0 || tg.total() != 1 {
		t.Fatalf("told again: %d more claims, %d sent", n, tg.total())
	}

	if reply := f.say(t, "telegram:2", "/campaign resume 1"); !strings.Contains(reply, "not ready") || !strings.Contains(reply, "whapi") {
		t.Fatalf("resume on whapi: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/gateway use meta"); !strings.Contains(reply, "via meta") {
		t.Fatalf("back to meta: %q", reply)
	}
	if reply := f.say(t, "telegram:2", "/campaign resume 1"); reply != "Campaign #1 is running." {
		t.Fatalf("resume on meta: %q", reply)
	}
	if n, err := dispatcher.Once(ctx); err != nil || n != 2 {
		t.Fatalf("dispatch after resume: %d, %v", n, err)
	}
	for _, it := range f.items(t) {
		if it.Content.Kind != store.ContentTemplate || it.Content.TemplateParams[0] == "{name}" {
			t.Fatalf("queued %+v, want the template with the contact's name", it.Content)
		}
	}
}
