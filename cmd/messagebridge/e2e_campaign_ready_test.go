package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// scriptedBotAPI is a Bot API whose user 1001 says what the test tells it
// to, in order, and that records what the bot sends.
type scriptedBotAPI struct {
	mu      sync.Mutex
	pending []string
	nextID  int64
	sent    []string // "chat_id: text"
}

func (f *scriptedBotAPI) say(text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending = append(f.pending, text)
}

func (f *scriptedBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + fakeToken + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseMultipartForm(1 << 20)
	ok := func(result any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": result})
	}
	switch strings.TrimPrefix(r.URL.Path, prefix) {
	case "getMe":
		ok(map[string]any{"id": 123456, "is_bot": true, "first_name": "Shop Bot", "username": "shop_bot"})
	case "getUpdates":
		f.mu.Lock()
		texts := f.pending
		f.pending = nil
		var updates []any
		for _, text := range texts {
			f.nextID++
			updates = append(updates, map[string]any{"update_id": 600 + f.nextID, "message": map[string]any{
				"message_id": 100 + f.nextID, "date": time.Now().Unix(), "text": text,
				"chat": map[string]any{"id": 1001, "type": "private"},
				"from": map[string]any{"id": 1001, "is_bot": false, "first_name": "Asha"}}})
		}
		f.mu.Unlock()
		if len(updates) == 0 {
			time.Sleep(50 * time.Millisecond)
			updates = []any{}
		}
		ok(updates)
	case "sendMessage":
		f.mu.Lock()
		f.sent = append(f.sent, r.FormValue("chat_id")+": "+r.FormValue("text"))
		f.mu.Unlock()
		ok(map[string]any{"message_id": 78, "date": time.Now().Unix(), "chat": map[string]any{"id": 1001, "type": "private"}})
	default:
		ok(true)
	}
}

// messages are what the bot sent, "chat_id: text".
func (f *scriptedBotAPI) messages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// waitFor waits up to 20s for a message the bot sent that contains want.
func (f *scriptedBotAPI) waitFor(t *testing.T, want string, logs *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		for _, m := range f.sent {
			if strings.Contains(m, want) {
				f.mu.Unlock()
				return m
			}
		}
		f.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Fatalf("the bot never sent %q; it sent %q\nlogs:\n%s", want, f.sent, logs.String())
	return ""
}

// The acceptance, end to end: a template campaign scheduled under
// meta, with whapi active by then. At its time the running program does
// not start it: it is paused with the reason, nothing is sent, and the
// operator who scheduled it is told in Telegram. Back on meta, /campaign
// resume sends every contact through (a fake of) the Cloud API.
func TestScheduledCampaignPausedWhenItsGatewayCannotSendIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tg := &scriptedBotAPI{}
	tgSrv := httptest.NewServer(tg)
	defer tgSrv.Close()
	graph := newPacingFake(1000)
	graphSrv := httptest.NewServer(graph)
	defer graphSrv.Close()
	dataDir := t.TempDir()
	getenv := env(t, "MB_DATA_DIR", dataDir, "MB_TELEGRAM_TOKEN", fakeToken, "MB_TELEGRAM_API_ENDPOINT", tgSrv.URL,
		"MB_GATEWAY", "whapi", "MB_META_ACCESS_TOKEN", pacingToken, "MB_META_PHONE_NUMBER_ID", pacingPhoneID, "MB_META_BASE_URL", graphSrv.URL)
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{})
	if _, err := db.PutOperator(ctx, "telegram:1001", store.RoleAdmin, "Asha", "test"); err != nil {
		t.Fatal(err)
	}

	// Campaign #1: two contacts, a template, scheduled by Asha (under
	// meta, before the switch) for a moment that has come.
	c, err := db.CreateCampaign(ctx, "Diwali", "telegram:1001")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.AddCampaignContacts(ctx, c.ID, []store.NewContact{
		{Phone: "+919876543201", Name: "Asha", Row: 2}, {Phone: "+919876543202", Name: "Ravi", Row: 3}}); err != nil {
		t.Fatal(err)
	}
	content := store.QueueContent{Kind: store.ContentTemplate, TemplateName: "diwali_offer", TemplateLanguage: "en", TemplateParams: []string{"{name}"}}
	by := "telegram:1001"
	if _, err := db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
		if err := campaign.Edit(tx, store.CampaignUpdate{Content: &content}); err != nil {
			return err
		}
		return tx.Update(store.CampaignUpdate{ScheduledBy: &by})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WithCampaign(ctx, c.ID, func(tx *store.CampaignTx) error {
		return campaign.Apply(tx, campaign.Schedule, time.Now().Add(-time.Second), nil)
	}); err != nil {
		t.Fatal(err)
	}

	stop, logs := serveUntilStarted(t, getenv)
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	told := tg.waitFor(t, "Your campaign #"+strconv.FormatInt(c.ID, 10), logs)
	for _, want := range []string{"1001: ", "is paused", "whapi", "template", "/campaign resume " + strconv.FormatInt(c.ID, 10)} {
		if !strings.Contains(told, want) {
			t.Errorf("the scheduler was told %q, which lacks %q", told, want)
		}
	}
	got, err := db.Campaign(ctx, c.ID)
	if err != nil || got.Status != store.CampaignPaused || !strings.Contains(got.PauseReason, "whapi") || !got.StartedAt.IsZero() {
		t.Fatalf("at its time the campaign is %+v, %v; want paused with the reason, never started", got, err)
	}
	if items, err := db.RecentQueueItems(ctx, store.RecentFilter{Limit: 10}); err != nil || len(items) != 0 {
		t.Fatalf("queued at its time: %+v, %v", items, err)
	}

	tg.say("/gateway use meta")
	tg.waitFor(t, "now go out via meta", logs)
	tg.say("/campaign resume " + strconv.FormatInt(c.ID, 10))
	tg.waitFor(t, "is running", logs)
	deadline := time.Now().Add(20 * time.Second)
	for {
		tries := graph.byPhone()
		if tries["919876543201"].accepted == 1 && tries["919876543202"].accepted == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("meta got %+v within 20s, want one send to each contact\nlogs:\n%s", tries, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	stop = nil
	items, err := db.RecentQueueItems(ctx, store.RecentFilter{Limit: 10})
	if err != nil || len(items) != 2 {
		t.Fatalf("items: %+v, %v", items, err)
	}
	for _, it := range items {
		if it.Status != store.StatusSent || it.Content.Kind != store.ContentTemplate {
			t.Fatalf("item %+v: want a template, sent", it)
		}
	}
}
