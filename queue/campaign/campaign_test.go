package campaign_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue/campaign"
	"github.com/messagebridge/messagebridge/store"
)

var (
	allStates  = []string{store.CampaignDraft, store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused, store.CampaignCompleted, store.CampaignCancelled}
	allActions = []campaign.Action{campaign.Start, campaign.Schedule, campaign.Pause, campaign.Resume, campaign.Cancel, campaign.Delete}
)

// TestCheck: every action against every state, and nothing on a deleted
// campaign.
func TestCheck(t *testing.T) {
	t.Parallel()
	allowed := map[campaign.Action][]string{
		campaign.Start:    {store.CampaignDraft, store.CampaignScheduled},
		campaign.Schedule: {store.CampaignDraft, store.CampaignScheduled},
		campaign.Pause:    {store.CampaignRunning},
		campaign.Resume:   {store.CampaignPaused},
		campaign.Cancel:   {store.CampaignDraft, store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused},
		campaign.Delete:   {store.CampaignDraft, store.CampaignScheduled, store.CampaignPaused, store.CampaignCompleted, store.CampaignCancelled},
	}
	for _, a := range allActions {
		for _, s := range allStates {
			for _, deleted := range []bool{false, true} {
				c := store.Campaign{ID: 7, Status: s, StartedAt: time.Now()}
				if deleted {
					c.DeletedAt = time.Now()
				}
				err := campaign.Check(c, a)
				want := !deleted && slices.Contains(allowed[a], s)
				if (err == nil) != want {
					t.Errorf("Check(%s, deleted=%v, %s) = %v, want allowed=%v", s, deleted, a, err, want)
					continue
				}
				if err == nil {
					continue
				}
				var se *campaign.StateError
				if !errors.As(err, &se) || se.ID != 7 || se.Status != s || se.Action != a || se.Deleted != deleted {
					t.Errorf("Check(%s, deleted=%v, %s) = %#v, want a StateError about it", s, deleted, a, err)
				}
				if deleted && !strings.Contains(err.Error(), "deleted") {
					t.Errorf("Check on a deleted campaign: %q does not say deleted", err)
				}
			}
		}
	}
	if err := campaign.Check(store.Campaign{Status: store.CampaignDraft}, "explode"); err == nil {
		t.Error("an unknown action was allowed")
	}
	// A campaign paused before it ever started (its scheduled start found
	// it not ready) may be started or scheduled again, as well as resumed.
	never := store.Campaign{ID: 8, Status: store.CampaignPaused}
	for _, a := range []campaign.Action{campaign.Start, campaign.Schedule, campaign.Resume, campaign.Cancel, campaign.Delete} {
		if err := campaign.Check(never, a); err != nil {
			t.Errorf("Check(paused, never started, %s) = %v, want allowed", a, err)
		}
	}
	if err := campaign.Check(never, campaign.Pause); err == nil {
		t.Error("a paused campaign that never started was paused again")
	}
}

// TestStateErrorMessages: each refusal says what is wrong and what to do.
func TestStateErrorMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status string
		action campaign.Action
		want   []string
		not    []string
	}{
		{store.CampaignPaused, campaign.Pause, []string{"already paused"}, nil},
		{store.CampaignRunning, campaign.Resume, []string{"already running"}, nil},
		{store.CampaignRunning, campaign.Start, []string{"already running"}, nil},
		{store.CampaignCancelled, campaign.Cancel, []string{"already cancelled"}, nil},
		{store.CampaignDraft, campaign.Resume, []string{"has not started yet", "/campaign start"}, nil},
		{store.CampaignScheduled, campaign.Pause, []string{"has not started yet"}, nil},
		{store.CampaignRunning, campaign.Delete, []string{"pause or cancel"}, nil},
		{store.CampaignPaused, campaign.Start, []string{"/campaign resume"}, nil},
		{store.CampaignCompleted, campaign.Start, []string{"completed", "new campaign", "/campaign copy 7"}, []string{"pause", "resume"}},
		{store.CampaignCompleted, campaign.Resume, []string{"new campaign"}, []string{"pause"}},
		{store.CampaignCompleted, campaign.Cancel, []string{"nothing left to cancel"}, nil},
		{store.CampaignPaused, campaign.Schedule, []string{"/campaign resume 7"}, []string{"cannot schedule"}},
		{store.CampaignCancelled, campaign.Pause, []string{"cancelled", "nothing to pause"}, []string{"again"}},
		{store.CampaignCancelled, campaign.Resume, []string{"cancelled", "new campaign"}, nil},
		{store.CampaignCompleted, campaign.Pause, []string{"new campaign"}, nil},
	} {
		msg := (&campaign.StateError{ID: 7, Status: tc.status, Action: tc.action}).Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s on %s: %q does not say %q", tc.action, tc.status, msg, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(strings.ToLower(msg), n) {
				t.Errorf("%s on %s: %q should not say %q", tc.action, tc.status, msg, n)
			}
		}
		if !strings.HasPrefix(msg, "Campaign #7") {
			t.Errorf("%q does not name the campaign", msg)
		}
	}
	// Every refusal is worded for the operator: no "is paused, so it
	// cannot pause", no "cannot cancel again", always a full stop.
	for _, a := range allActions {
		for _, st := range allStates {
			if campaign.Check(store.Campaign{ID: 7, Status: st}, a) == nil {
				continue
			}
			msg := (&campaign.StateError{ID: 7, Status: st, Action: a}).Error()
			if strings.Contains(msg, "does not apply") || strings.Contains(msg, "so it cannot") || strings.Contains(msg, "cannot "+string(a)+" again") ||
				strings.Contains(msg, "cannot "+string(a)+".") || !strings.HasSuffix(msg, ".") {
				t.Errorf("%s on %s: %q is not worded for the operator", a, st, msg)
			}
		}
	}
	msg := (&campaign.StateError{ID: 7, Status: store.CampaignCompleted, Action: campaign.Start, Deleted: true}).Error()
	if !strings.Contains(msg, "deleted") || !strings.Contains(msg, "results") {
		t.Errorf("deleted: %q", msg)
	}
}

// TestEditErrorMessages: a running campaign is told to pause, one that is
// over to start a new one.
func TestEditErrorMessages(t *testing.T) {
	t.Parallel()
	running := (&campaign.EditError{ID: 3, Status: store.CampaignRunning}).Error()
	if !strings.Contains(running, "pause") {
		t.Errorf("running: %q", running)
	}
	for _, s := range []string{store.CampaignCompleted, store.CampaignCancelled} {
		msg := (&campaign.EditError{ID: 3, Status: s}).Error()
		if strings.Contains(msg, "pause") || !strings.Contains(msg, "new campaign") || !strings.Contains(msg, s) {
			t.Errorf("%s: %q", s, msg)
		}
	}
	if msg := (&campaign.EditError{ID: 3, Status: store.CampaignPaused, Deleted: true}).Error(); !strings.Contains(msg, "deleted") {
		t.Errorf("deleted: %q", msg)
	}
	if !errors.Is(&campaign.EditError{ID: 3}, campaign.ErrNotEditable) {
		t.Error("EditError is not ErrNotEditable")
	}
	for _, s := range allStates {
		want := s == store.CampaignDraft || s == store.CampaignScheduled || s == store.CampaignPaused
		if got := campaign.Editable(store.Campaign{Status: s}); got != want {
			t.Errorf("Editable(%s) = %v", s, got)
		}
		if campaign.Editable(store.Campaign{Status: s, DeletedAt: time.Now()}) {
			t.Errorf("Editable(deleted %s)", s)
		}
		want = s != store.CampaignCompleted && s != store.CampaignCancelled
		if got := campaign.AcceptsContacts(store.Campaign{Status: s}); got != want {
			t.Errorf("AcceptsContacts(%s) = %v", s, got)
		}
		if campaign.AcceptsContacts(store.Campaign{Status: s, DeletedAt: time.Now()}) {
			t.Errorf("AcceptsContacts(deleted %s)", s)
		}
	}
}

// TestReady: the reason names exactly what is missing.
func TestReady(t *testing.T) {
	t.Parallel()
	content := store.QueueContent{Kind: store.ContentFlow, FlowID: "f"}
	for _, tc := range []struct {
		name     string
		c        store.Campaign
		contacts int
		want     []string
		not      []string
	}{
		{"ready", store.Campaign{ID: 4, Content: content}, 3, nil, nil},
		{"no content", store.Campaign{ID: 4}, 3, []string{"nothing to send", "/campaign set 4"}, []string{"no contacts"}},
		{"no contacts", store.Campaign{ID: 4, Content: content}, 0, []string{"no contacts", "/import 4"}, []string{"nothing to send"}},
		{"neither", store.Campaign{ID: 4}, 0, []string{"nothing to send", "no contacts"}, nil},
	} {
		err := campaign.Ready(tc.c, tc.contacts)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var nr *campaign.NotReadyError
		if !errors.As(err, &nr) || nr.ID != 4 {
			t.Errorf("%s: %#v, want a NotReadyError", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(err.Error(), n) {
				t.Errorf("%s: %q should not say %q", tc.name, err, n)
			}
		}
	}
}

// TestFillParams: "{name}" is the contact's name, "{Column}" its column
// (any case), a missing column is empty, anything else goes as written.
func TestFillParams(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"City": "Pune", "order id": "A-17"}
	for _, tc := range []struct {
		params []string
		want   []string
	}{
		{nil, []string{}},
		{[]string{"{name}", "{NAME}", "{Name}"}, []string{"Asha", "Asha", "Asha"}},
		{[]string{"{City}", "{city}", "{CITY}"}, []string{"Pune", "Pune", "Pune"}},
		{[]string{"{Order ID}"}, []string{"A-17"}},
		{[]string{"{Missing}"}, []string{""}},
		{[]string{"literal", "{}", "{City", "City}", "x{City}"}, []string{"literal", "{}", "{City", "City}", "x{City}"}},
	} {
		got := campaign.FillParams(tc.params, "Asha", vars)
		if !slices.Equal(got, tc.want) {
			t.Errorf("FillParams(%q) = %q, want %q", tc.params, got, tc.want)
		}
	}
	params := []string{"{City}"}
	campaign.FillParams(params, "Asha", vars)
	if params[0] != "{City}" {
		t.Error("FillParams changed its input")
	}
	if got := campaign.FillParams([]string{"{City}", "{name}"}, "", nil); !slices.Equal(got, []string{"", ""}) {
		t.Errorf("no vars: %q", got)
	}
}

// TestPlaceholder: only "{x}" with something inside is a placeholder.
func TestPlaceholder(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]string{"{City}": "City", "{a b}": "a b", "{}": "", "City": "", "{City": "", "City}": ""} {
		got, ok := campaign.Placeholder(p)
		if ok != (want != "") || ok && got != want {
			t.Errorf("Placeholder(%q) = %q, %v", p, got, ok)
		}
	}
}

// TestMissingColumns: a "{Column}" every contact has fits (any case);
// one no contact has names the columns there are; one some lack says how
// many; "{name}" and literals always fit; no contacts, nothing to check.
func TestMissingColumns(t *testing.T) {
	t.Parallel()
	cols := map[string]int{"City": 3, "Store": 2}
	for _, tc := range []struct {
		name    string
		params  []string
		columns map[string]int
		total   int
		want    []string // one phrase per expected sentence
	}{
		{"all have it", []string{"{City}"}, cols, 3, nil},
		{"any case", []string{"{city}", "{CITY}"}, cols, 3, nil},
		{"name and literals", []string{"{name}", "{Name}", "hello", "{}"}, nil, 3, nil},
		{"no such column", []string{"{Zone}"}, cols, 3, []string{`no column "Zone" (their columns: City, Store)`}},
		{"no columns at all", []string{"{Zone}"}, nil, 3, []string{"their columns: none"}},
		{"some lack it", []string{"{Store}"}, cols, 3, []string{`1 of 3 contacts have no "Store"`}},
		{"two problems", []string{"{Zone}", "{name}", "{store}"}, cols, 3, []string{`"Zone"`, `1 of 3 contacts have no "store"`}},
		{"no contacts", []string{"{Zone}"}, nil, 0, nil},
		{"spellings of one column add up", []string{"{City}"}, map[string]int{"City": 2, "CITY": 1}, 3, nil},
	} {
		got := campaign.MissingColumns(tc.params, tc.columns, tc.total)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %q, want %d sentences", tc.name, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: %q does not say %q", tc.name, got[i], w)
			}
		}
	}
}

// TestSlots: the next slot is never more than one interval back, the count
// is the slots before now+horizon, and a campaign without interval queues
// at most 500 a pass.
func TestSlots(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		interval time.Duration
		next     time.Time
		horizon  time.Duration
		wantNext time.Time
		wantN    int
	}{
		{"never dispatched", 10 * time.Second, time.Time{}, time.Second, now, 1},
		{"horizon of several slots", 10 * time.Second, now, 35 * time.Second, now, 4},
		{"horizon ends on a slot", 10 * time.Second, now, 30 * time.Second, now, 4},
		{"a little behind", 10 * time.Second, now.Add(-5 * time.Second), time.Second, now.Add(-5 * time.Second), 1},
		{"exactly one interval behind", 10 * time.Second, now.Add(-10 * time.Second), time.Second, now.Add(-10 * time.Second), 2},
		{"far behind: no burst", 10 * time.Second, now.Add(-time.Hour), time.Second, now, 1},
		{"far behind, long horizon", 10 * time.Second, now.Add(-time.Hour), 25 * time.Second, now, 3},
		{"next slot within the horizon", 10 * time.Second, now.Add(500 * time.Millisecond), time.Second, now.Add(500 * time.Millisecond), 1},
		{"next slot after the horizon", 10 * time.Second, now.Add(5 * time.Second), time.Second, now.Add(5 * time.Second), 0},
		{"next slot far ahead", 10 * time.Second, now.Add(time.Hour), time.Second, now.Add(time.Hour), 0},
		{"no interval", 0, time.Time{}, time.Second, now, 500},
		{"no interval, behind", 0, now.Add(-time.Hour), time.Second, now, 500},
		{"tiny interval is capped", time.Millisecond, now, time.Hour, now, 500},
	} {
		c := store.Campaign{Interval: tc.interval, NextSendAt: tc.next}
		next, n := campaign.Slots(c, now, tc.horizon)
		if !next.Equal(tc.wantNext) || n != tc.wantN {
			t.Errorf("%s: Slots = %s, %d; want %s, %d", tc.name, next.Format(time.TimeOnly), n, tc.wantNext.Format(time.TimeOnly), tc.wantN)
		}
		if next.Before(now.Add(-tc.interval)) {
			t.Errorf("%s: next slot %s is more than one interval back", tc.name, next)
		}
		if last := next.Add(time.Duration(max(n-1, 0)) * tc.interval); n > 0 && tc.interval > 0 && last.After(now.Add(tc.horizon)) {
			t.Errorf("%s: the last of %d slots, %s, is after now+horizon", tc.name, n, last)
		}
	}
}

// TestItems: one item per contact, one interval apart, with template
// parameters and flow variables filled per contact, tagged with the
// campaign; a contact that opted out takes no slot and comes back apart.
func TestItems(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	contacts := []store.Contact{
		{ID: 11, Phone: "+919876543201", Name: "Asha", Vars: map[string]string{"City": "Pune"}},
		{ID: 13, Phone: "+919876543203", Name: "Opted", OptedOut: true},
		{ID: 12, Phone: "+919876543202", Name: "Ravi", Vars: map[string]string{"city": "Delhi"}},
	}
	sent := []store.Contact{contacts[0], contacts[2]}
	c := store.Campaign{ID: 5, Interval: 30 * time.Second, Gateway: "meta",
		Content: store.QueueContent{Kind: store.ContentTemplate, TemplateName: "t", TemplateLanguage: "en", TemplateParams: []string{"{name}", "{City}"}}}
	items, optedOut, next := campaign.Items(c, contacts, start, 4)
	if len(items) != 2 || !next.Equal(start.Add(time.Minute)) {
		t.Fatalf("%d items, next %s", len(items), next)
	}
	if len(optedOut) != 1 || optedOut[0].ContactID != 13 || optedOut[0].Phone != "+919876543203" || optedOut[0].CampaignID != 5 {
		t.Errorf("opted out: %+v", optedOut)
	}
	for i, it := range items {
		if !it.NotBefore.Equal(start.Add(time.Duration(i) * 30 * time.Second)) {
			t.Errorf("item %d not before %s", i, it.NotBefore)
		}
		if it.CampaignID != 5 || it.ContactID != sent[i].ID || it.Phone != sent[i].Phone || it.Gateway != "meta" ||
			it.MaxAttempts != 4 || it.Priority != store.PriorityCampaign || it.CreatedBy != "campaign:5" {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	if !slices.Equal(items[0].Content.TemplateParams, []string{"Asha", "Pune"}) || !slices.Equal(items[1].Content.TemplateParams, []string{"Ravi", "Delhi"}) {
		t.Errorf("params %q %q", items[0].Content.TemplateParams, items[1].Content.TemplateParams)
	}
	if !slices.Equal(c.Content.TemplateParams, []string{"{name}", "{City}"}) {
		t.Error("Items changed the campaign's parameters")
	}

	c.Content = store.QueueContent{Kind: store.ContentFlow, FlowID: "f1"}
	items, _, _ = campaign.Items(c, contacts, start, 4)
	if items[1].Content.FlowID != "f1" || items[1].Content.FlowVariables["city"] != "Delhi" {
		t.Errorf("flow item: %+v", items[1].Content)
	}
}

// FillContent fills {{Column}} (and the older {Column}) in body values, a
// text header and URL buttons per contact; fixed text and a media header
// stay, and the campaign's own content is not changed.
func TestFillContent(t *testing.T) {
	t.Parallel()
	c := store.QueueContent{Kind: store.ContentTemplate, TemplateName: "diwali_offer",
		TemplateParams: []string{"{{name}}", "{City}", "Diwali", "{{ order }}"}, TemplateParamNames: nil,
		TemplateHeader:  &store.TemplateHeader{Format: store.HeaderText, Text: "{{City}}"},
		TemplateButtons: []store.TemplateButton{{Index: 1, Text: "{{Order}}"}, {Index: 2, Text: "fixed/{{x}}"}}}
	got := campaign.FillContent(c, "Asha", map[string]string{"CITY": "Mumbai", "Order": "17"})
	if want := []string{"Asha", "Mumbai", "Diwali", "17"}; !slices.Equal(got.TemplateParams, want) {
		t.Errorf("body %q, want %q", got.TemplateParams, want)
	}
	if got.TemplateHeader.Text != "Mumbai" || got.TemplateButtons[0].Text != "17" || got.TemplateButtons[1].Text != "fixed/{{x}}" {
		t.Errorf("header %+v, buttons %+v", got.TemplateHeader, got.TemplateButtons)
	}
	if c.TemplateHeader.Text != "{{City}}" || c.TemplateButtons[0].Text != "{{Order}}" || c.TemplateParams[0] != "{{name}}" {
		t.Errorf("the campaign's content changed: %+v", c)
	}
	media := store.QueueContent{Kind: store.ContentTemplate, TemplateHeader: &store.TemplateHeader{Format: store.HeaderImage, SavedMessageID: 3}}
	if got := campaign.FillContent(media, "Asha", nil); *got.TemplateHeader != *media.TemplateHeader {
		t.Errorf("media header %+v", got.TemplateHeader)
	}
}
