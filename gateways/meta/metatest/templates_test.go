package metatest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/meta/metatest"
)

// retail adds the templates the refusal tests use, in Meta's
// message_templates shape.
func retail(s *metatest.Server) {
	s.AddTemplate(metatest.Template{Name: "diwali_offer", Language: "en", Category: "MARKETING",
		Components: []metatest.Component{
			{Type: "HEADER", Format: "IMAGE"},
			{Type: "BODY", Text: "Hi {{1}}, {{2}}% off this Diwali!"},
			{Type: "FOOTER", Text: "Reply STOP to opt out"},
			{Type: "BUTTONS", Buttons: []metatest.Button{
				{Type: "URL", Text: "Track", URL: "https://x/track/{{1}}"},
				{Type: "QUICK_REPLY", Text: "Stop promotions"},
			}},
		}})
	s.AddTemplate(metatest.Template{Name: "order_named", Language: "en_US", Category: "UTILITY", ParameterFormat: "NAMED",
		Components: []metatest.Component{
			{Type: "HEADER", Format: "TEXT", Text: "Order {{order_id}}"},
			{Type: "BODY", Text: "Hi {{first_name}}, your order ships on {{date}}."},
		}})
	s.AddTemplate(metatest.Template{Name: "hello_world", Language: "en_US",
		Components: []metatest.Component{{Type: "HEADER", Format: "TEXT", Text: "Hello World"}, {Type: "BODY", Text: "Welcome!"}}})
	for _, st := range []string{"PAUSED", "PENDING", "REJECTED", "DISABLED"} {
		s.AddTemplate(metatest.Template{Name: strings.ToLower(st) + "_one", Language: "en", Status: st,
			Components: []metatest.Component{{Type: "BODY", Text: "Hi"}}})
	}
}

func TestTemplateSends(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	retail(s)
	_, up := upload(t, s, map[string]string{"messaging_product": "whatsapp", "type": "image/jpeg"}, []byte("jpeg"))
	mediaID := up["id"].(string)

	img := pimage("https://cdn.example.com/diwali.jpg")
	body2 := comp("body", ptext("Asha"), ptext("20"))
	track := urlButton("0", ptext("ORD123"))
	namedHeader := comp("header", pnamed("order_id", "A-17"))
	namedBody := comp("body", pnamed("first_name", "Asha"), pnamed("date", "5 Dec"))

	cases := []struct {
		name   string
		msg    map[string]any
		code   int
		status int
	}{
		{"diwali complete", tmpl("diwali_offer", "en", comp("header", img), body2, track), 0, 200},
		{"diwali image by uploaded id, numeric index", tmpl("diwali_offer", "en",
			comp("header", map[string]any{"type": "image", "image": map[string]any{"id": mediaID}}), body2, urlButton(0, ptext("X"))), 0, 200},
		{"diwali with a quick reply payload", tmpl("diwali_offer", "en", comp("header", img), body2, track,
			map[string]any{"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": []any{map[string]any{"type": "payload", "payload": "STOP"}}}), 0, 200},
		{"named complete, any order", tmpl("order_named", "en_US", namedHeader,
			comp("body", pnamed("date", "5 Dec"), pnamed("first_name", "Asha"))), 0, 200},
		{"no parameters at all", tmpl("hello_world", "en_US"), 0, 200},

		{"unknown name", tmpl("diwali_offer_v2", "en", comp("header", img), body2, track), 132001, 404},
		{"unknown language", tmpl("diwali_offer", "hi", comp("header", img), body2, track), 132001, 404},
		{"pending", tmpl("pending_one", "en"), 132001, 404},
		{"rejected", tmpl("rejected_one", "en"), 132001, 404},
		{"paused", tmpl("paused_one", "en"), 132015, 400},
		{"disabled", tmpl("disabled_one", "en"), 132016, 400},

		{"body: one value for two", tmpl("diwali_offer", "en", comp("header", img), comp("body", ptext("Asha")), track), 132000, 400},
		{"body: three values for two", tmpl("diwali_offer", "en", comp("header", img), comp("body", ptext("a"), ptext("b"), ptext("c")), track), 132000, 400},
		{"body left out", tmpl("diwali_offer", "en", comp("header", img), track), 132000, 400},
		{"header: two images", tmpl("diwali_offer", "en", comp("header", img, img), body2, track), 132000, 400},
		{"header on a template without parameters", tmpl("hello_world", "en_US", comp("header", ptext("x"))), 132000, 400},
		{"body on a template without parameters", tmpl("hello_world", "en_US", comp("body", ptext("x"))), 132000, 400},
		{"URL button left out", tmpl("diwali_offer", "en", comp("header", img), body2), 132000, 400},
		{"URL button: two values", tmpl("diwali_offer", "en", comp("header", img), body2, urlButton("0", ptext("a"), ptext("b"))), 132000, 400},
		{"named: one value for two", tmpl("order_named", "en_US", namedHeader, comp("body", pnamed("first_name", "Asha"))), 132000, 400},
		{"named header left out", tmpl("order_named", "en_US", namedBody), 132000, 400},

		{"image header left out", tmpl("diwali_offer", "en", body2, track), 132012, 400},
		{"image header given text", tmpl("diwali_offer", "en", comp("header", ptext("Diwali")), body2, track), 132012, 400},
		{"image header given a video", tmpl("diwali_offer", "en",
			comp("header", map[string]any{"type": "video", "video": map[string]any{"link": "https://cdn.example.com/v.mp4"}}), body2, track), 132012, 400},
		{"named given positional", tmpl("order_named", "en_US", namedHeader, comp("body", ptext("Asha"), ptext("5 Dec"))), 132012, 400},
		{"named: wrong parameter_name", tmpl("order_named", "en_US", namedHeader,
			comp("body", pnamed("name", "Asha"), pnamed("date", "5 Dec"))), 132012, 400},
		{"named: a name twice", tmpl("order_named", "en_US", namedHeader,
			comp("body", pnamed("date", "Asha"), pnamed("date", "5 Dec"))), 132012, 400},
		{"positional given names", tmpl("diwali_offer", "en", comp("header", img),
			comp("body", pnamed("name", "Asha"), pnamed("pct", "20")), track), 132012, 400},
		{"url sub_type on the quick reply", tmpl("diwali_offer", "en", comp("header", img), body2, track, urlButton("1", ptext("x"))), 132012, 400},
		{"button index past the buttons", tmpl("diwali_offer", "en", comp("header", img), body2, urlButton("5", ptext("x"))), 132012, 400},
		{"body value of kind image", tmpl("diwali_offer", "en", comp("header", img), comp("body", ptext("Asha"), img), track), 132012, 400},

		{"empty body value", tmpl("diwali_offer", "en", comp("header", img), comp("body", ptext("Asha"), ptext(" ")), track), 131008, 400},
		{"header image by an id never uploaded", tmpl("diwali_offer", "en",
			comp("header", map[string]any{"type": "image", "image": map[string]any{"id": "999"}}), body2, track), 100, 400},
		{"body value with a new line", tmpl("diwali_offer", "en", comp("header", img), comp("body", ptext("Asha\nRao"), ptext("20")), track), 100, 400},
		{"body value with 5 spaces", tmpl("diwali_offer", "en", comp("header", img), comp("body", ptext("Asha     Rao"), ptext("20")), track), 100, 400},
		{"footer component", tmpl("hello_world", "en_US", comp("footer", ptext("x"))), 100, 400},
		{"body twice", tmpl("diwali_offer", "en", comp("header", img), body2, body2, track), 100, 400},
		{"no language", map[string]any{"type": "template", "template": map[string]any{"name": "hello_world"}}, 100, 400},
	}
	for _, c := range cases {
		status, ans := send(t, s, c.msg)
		if code := errCode(t, ans); status != c.status || code != c.code {
			t.Errorf("%s: HTTP %d code %d (%v), want HTTP %d code %d", c.name, status, code, ans, c.status, c.code)
		}
	}

	var refused int
	for _, r := range s.Refusals() {
		if r.Type != "template" || r.WaID != "919876543210" {
			t.Errorf("refusal %+v", r)
		}
		refused++
	}
	msgs := s.Messages()
	if len(msgs)+refused != len(cases) {
		t.Errorf("%d accepted + %d refused, want %d sends", len(msgs), refused, len(cases))
	}
	// What a test asserts on: the decoded template.
	m := msgs[0]
	if m.Type != "template" || m.Template.Name != "diwali_offer" || m.Template.Language != "en" || m.Text != "Hi Asha, 20% off this Diwali!" {
		t.Errorf("first message: %+v", m)
	}
	if h := m.Template.Component("header", 0); h == nil || h.Parameters[0].Type != "image" || h.Parameters[0].Link != "https://cdn.example.com/diwali.jpg" {
		t.Errorf("header: %+v", h)
	}
	if b := m.Template.Component("button", 0); b == nil || b.SubType != "url" || b.Parameters[0].Text != "ORD123" {
		t.Errorf("button: %+v", b)
	}
	if h := msgs[1].Template.Component("header", 0); h.Parameters[0].ID != mediaID {
		t.Errorf("header by id: %+v", h)
	}
	if named := msgs[3]; named.Text != "Hi Asha, your order ships on 5 Dec." || named.Template.Component("body", 0).Parameters[0].Name != "date" {
		t.Errorf("named message: %+v", named)
	}
}

// A template whose variables do not fit its format fails the test that
// adds it, like Meta refuses to create it.
func TestAddTemplateChecksVariables(t *testing.T) {
	t.Parallel()
	for name, tpl := range map[string]metatest.Template{
		"positional gap":   {Name: "a", Language: "en", Components: []metatest.Component{{Type: "BODY", Text: "{{1}} {{3}}"}}},
		"named positional": {Name: "a", Language: "en", ParameterFormat: "NAMED", Components: []metatest.Component{{Type: "BODY", Text: "{{1}}"}}},
		"positional named": {Name: "a", Language: "en", Components: []metatest.Component{{Type: "BODY", Text: "{{name}}"}}},
		"image header var": {Name: "a", Language: "en", Components: []metatest.Component{{Type: "HEADER", Format: "IMAGE", Text: "{{1}}"}}},
		"url var mid-url":  {Name: "a", Language: "en", Components: []metatest.Component{{Type: "BUTTONS", Buttons: []metatest.Button{{Type: "URL", URL: "https://x/{{1}}/y"}}}}},
		"no language":      {Name: "a"},
	} {
		rec := &recorder{TB: t}
		metatest.New(rec).AddTemplate(tpl)
		if !rec.failed {
			t.Errorf("%s: AddTemplate accepted %+v", name, tpl)
		}
	}
}

// recorder catches Errorf instead of failing the test.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestTemplateStatusChange(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	retail(s)
	s.SetTemplateStatus("hello_world", "en_US", "PAUSED")
	if _, ans := send(t, s, tmpl("hello_world", "en_US")); errCode(t, ans) != 132015 {
		t.Errorf("paused later: %v", ans)
	}
	got := s.AddTemplate(metatest.Template{Name: "hello_world", Language: "en_US", Status: "APPROVED",
		Components: []metatest.Component{{Type: "BODY", Text: "Welcome {{1}}"}}})
	if _, ans := send(t, s, tmpl("hello_world", "en_US", comp("body", ptext("Asha")))); errCode(t, ans) != 0 {
		t.Errorf("replaced template: %v", ans)
	}
	_, list := call(t, s, http.MethodGet, "/v23.0/"+s.WABAID()+"/message_templates?limit=100", nil)
	n := 0
	for _, d := range list["data"].([]any) {
		if d.(map[string]any)["name"] == "hello_world" {
			n++
			if d.(map[string]any)["id"] != got.ID {
				t.Errorf("replaced template has a new id")
			}
		}
	}
	if n != 1 {
		t.Errorf("hello_world listed %d times", n)
	}
}

func TestTemplateListPaging(t *testing.T) {
	t.Parallel()
	s := metatest.New(t, metatest.WithPageSize(4))
	retail(s) // 7 templates
	path := "/" + s.Version() + "/" + s.WABAID() + "/message_templates?fields=name,language,status,category,parameter_format,components&limit=50"
	var names []string
	pages := 0
	next := path
	for next != "" {
		status, ans := call(t, s, http.MethodGet, next, nil)
		if status != 200 {
			t.Fatalf("GET %s: %d %v", next, status, ans)
		}
		pages++
		data := ans["data"].([]any)
		for _, d := range data {
			item := d.(map[string]any)
			for _, f := range []string{"id", "name", "language", "status", "category", "parameter_format", "components"} {
				if _, ok := item[f]; !ok {
					t.Errorf("item %v has no %s", item["name"], f)
				}
			}
			names = append(names, item["name"].(string))
		}
		paging := ans["paging"].(map[string]any)
		cur := paging["cursors"].(map[string]any)
		if cur["before"] == "" || cur["after"] == "" {
			t.Errorf("cursors: %v", cur)
		}
		next, _ = paging["next"].(string)
		if next != "" {
			u, err := url.Parse(next)
			if err != nil || !strings.HasPrefix(next, s.URL()+"/") || u.Query().Get("after") != cur["after"] || u.Query().Get("fields") == "" {
				t.Errorf("next %q is not a full URL on the server with after=%v and the fields", next, cur["after"])
			}
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 2 || len(names) != 7 || names[0] != "diwali_offer" || names[6] != "disabled_one" {
		t.Errorf("%d pages, names %v", pages, names)
	}

	// The named template lists as Meta lists it.
	_, ans := call(t, s, http.MethodGet, "/v23.0/"+s.WABAID()+"/message_templates?limit=2", nil)
	data := ans["data"].([]any)
	if len(data) != 2 {
		t.Fatalf("limit=2 gave %d", len(data))
	}
	named := data[1].(map[string]any)
	comps := named["components"].([]any)
	if named["parameter_format"] != "NAMED" || named["status"] != "APPROVED" || named["category"] != "UTILITY" ||
		comps[1].(map[string]any)["text"] != "Hi {{first_name}}, your order ships on {{date}}." {
		t.Errorf("named template: %v", named)
	}
	diwali := data[0].(map[string]any)["components"].([]any)
	btn := diwali[3].(map[string]any)["buttons"].([]any)[0].(map[string]any)
	if diwali[0].(map[string]any)["format"] != "IMAGE" || btn["type"] != "URL" || btn["url"] != "https://x/track/{{1}}" {
		t.Errorf("diwali components: %v", diwali)
	}

	_, few := call(t, s, http.MethodGet, "/v23.0/"+s.WABAID()+"/message_templates?fields=name", nil)
	first := few["data"].([]any)[0].(map[string]any)
	if len(first) != 2 || first["id"] == nil || first["name"] == nil {
		t.Errorf("fields=name gave %v (Graph adds id)", first)
	}
	for _, q := range []string{"fields=name,colour", "limit=x", "after=bogus"} {
		if status, ans := call(t, s, http.MethodGet, "/v23.0/"+s.WABAID()+"/message_templates?"+q, nil); status != 400 || errCode(t, ans) != 100 {
			t.Errorf("%s: %d %v", q, status, ans)
		}
	}
	if status, ans := call(t, s, http.MethodGet, "/v23.0/123/message_templates", nil); status != 400 || errCode(t, ans) != 100 {
		t.Errorf("another WABA: %d %v", status, ans)
	}
}
