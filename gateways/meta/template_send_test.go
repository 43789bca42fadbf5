package meta_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
)

// A template send with an image header, named body parameters and a URL
// button fills every component: the header image by its uploaded id (one
// upload for two sends), each body value with its parameter name, the
// button's suffix at its index as a string. Field by field, and against
// the spec (components and parameters by their discriminators).
func TestTemplateSendWholeComponents(t *testing.T) {
	t.Parallel()
	s := optionalSpec(t)
	f := newFakeGraph(t)
	c := newClient(f, newMemCache(), nil, nil)
	d := queue.Delivery{ItemID: 7, Phone: "+91 98765 43210", Kind: queue.KindTemplate, Template: queue.Template{
		Name: "diwali_offer", Language: "en",
		Header:     &queue.TemplateHeader{Format: "image", Media: testImage(5)},
		Params:     []string{"Asha", "#42"},
		ParamNames: []string{"first_name", "order_id"},
		Buttons:    []queue.TemplateButton{{Index: 1, Text: "d25?ref=wa"}},
	}}
	for i := range 2 {
		if _, err := c.Send(context.Background(), d); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := len(f.uploaded()); n != 1 {
		t.Fatalf("%d uploads of the header image for two sends, want 1", n)
	}
	bodies := f.sent()
	var m struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Template         struct {
			Name     string `json:"name"`
			Language struct {
				Policy string `json:"policy"`
				Code   string `json:"code"`
			} `json:"language"`
			Components []struct {
				Type       string           `json:"type"`
				SubType    string           `json:"sub_type"`
				Index      any              `json:"index"`
				Parameters []map[string]any `json:"parameters"`
			} `json:"components"`
		} `json:"template"`
	}
	if err := json.Unmarshal(bodies[1], &m); err != nil {
		t.Fatal(err)
	}
	tm := m.Template
	if m.MessagingProduct != "whatsapp" || m.To != "919876543210" || m.Type != "template" || tm.Name != "diwali_offer" ||
		tm.Language.Code != "en" || tm.Language.Policy != "deterministic" {
		t.Fatalf("envelope: %s", bodies[1])
	}
	if len(tm.Components) != 3 {
		t.Fatalf("%d components, want header, body, button: %s", len(tm.Components), bodies[1])
	}
	header, body, button := tm.Components[0], tm.Components[1], tm.Components[2]
	wantHeader := []map[string]any{{"type": "image", "image": map[string]any{"id": "4490709327384001"}}}
	if header.Type != "header" || !reflect.DeepEqual(header.Parameters, wantHeader) {
		t.Errorf("header = %+v", header)
	}
	wantBody := []map[string]any{
		{"type": "text", "parameter_name": "first_name", "text": "Asha"},
		{"type": "text", "parameter_name": "order_id", "text": "#42"},
	}
	if body.Type != "body" || !reflect.DeepEqual(body.Parameters, wantBody) {
		t.Errorf("body = %+v", body)
	}
	wantButton := []map[string]any{{"type": "text", "text": "d25?ref=wa"}}
	if button.Type != "button" || button.SubType != "url" || button.Index != "1" || !reflect.DeepEqual(button.Parameters, wantButton) {
		t.Errorf("button = %+v", button)
	}
	if s != nil {
		for _, b := range bodies {
			if err := s.validateTemplateMessage(t, b); err != nil {
				t.Errorf("body does not match the spec: %v\n%s", err, b)
			}
		}
	}
}

// The other header kinds: a video by link (meta.media_by_link with a
// public URL), a document by uploaded id with its file name, a named
// text header, a positional text header; positional body values carry
// no names. Each body matches the spec.
func TestTemplateSendHeaders(t *testing.T) {
	t.Parallel()
	s := optionalSpec(t)
	doc := &queue.Media{ID: 11, MIME: "application/pdf", Name: "invoice-42.pdf", PublicURL: "https://cdn.example.com/invoice-42.pdf",
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("%PDF-1.4")), nil }}
	video := &queue.Media{ID: 12, MIME: "video/mp4", Name: "clip.mp4", PublicURL: "https://cdn.example.com/clip.mp4",
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("mp4")), nil }}
	for _, tc := range []struct {
		name   string
		byLink bool
		t      queue.Template
		want   string
	}{
		{"video by link", true, queue.Template{Name: "launch", Language: "en", Header: &queue.TemplateHeader{Format: "video", Media: video}, Params: []string{"Asha"}},
			`[{"type":"header","parameters":[{"type":"video","video":{"link":"https://cdn.example.com/clip.mp4"}}]},{"type":"body","parameters":[{"type":"text","text":"Asha"}]}]`},
		{"document by id", false, queue.Template{Name: "invoice", Language: "en", Header: &queue.TemplateHeader{Format: "document", Media: doc}},
			`[{"type":"header","parameters":[{"type":"document","document":{"id":"4490709327384001","filename":"invoice-42.pdf"}}]}]`},
		{"named text header", false, queue.Template{Name: "welcome_named", Language: "en_US",
			Header: &queue.TemplateHeader{Format: "text", Text: "Asha", Name: "first_name"}, Params: []string{"Asha"}, ParamNames: []string{"first_name"},
			Buttons: []queue.TemplateButton{{Index: 0, Text: "42"}}},
			`[{"type":"header","parameters":[{"type":"text","parameter_name":"first_name","text":"Asha"}]},` +
				`{"type":"body","parameters":[{"type":"text","parameter_name":"first_name","text":"Asha"}]},` +
				`{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"42"}]}]`},
		{"positional text header", false, queue.Template{Name: "sale", Language: "en", Header: &queue.TemplateHeader{Format: "text", Text: "Diwali"}},
			`[{"type":"header","parameters":[{"type":"text","text":"Diwali"}]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGraph(t)
			creds := f.creds()
			creds.MediaByLink = tc.byLink
			c := newClient(f, newMemCache(), nil, func() meta.Credentials { return creds })
			if _, err := c.Send(context.Background(), queue.Delivery{Phone: "+919876543210", Kind: queue.KindTemplate, Template: tc.t}); err != nil {
				t.Fatal(err)
			}
			b := f.sent()[0]
			var m struct {
				Template struct {
					Components json.RawMessage `json:"components"`
				} `json:"template"`
			}
			_ = json.Unmarshal(b, &m)
			if got, want := decode(t, m.Template.Components), decode(t, []byte(tc.want)); !reflect.DeepEqual(got, want) {
				t.Errorf("components\n got %s\nwant %s", m.Template.Components, tc.want)
			}
			if tc.byLink && len(f.uploaded()) != 0 {
				t.Errorf("uploaded although the header goes by link")
			}
			if s != nil {
				if err := s.validateTemplateMessage(t, b); err != nil {
					t.Errorf("body does not match the spec: %v\n%s", err, b)
				}
			}
		})
	}
}

// A template send that cannot be right fails permanently before Meta is
// asked.
func TestTemplateSendRefusesIncompleteValues(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	c := newClient(f, newMemCache(), nil, nil)
	for name, tpl := range map[string]queue.Template{
		"image header without media": {Header: &queue.TemplateHeader{Format: "image"}},
		"empty text header":          {Header: &queue.TemplateHeader{Format: "text", Text: " "}},
		"location header":            {Header: &queue.TemplateHeader{Format: "location"}},
		"names without values":       {Params: []string{"Asha"}, ParamNames: []string{"first_name", "city"}},
		"empty name":                 {Params: []string{"Asha"}, ParamNames: []string{""}},
		"button index 10":            {Buttons: []queue.TemplateButton{{Index: 10, Text: "x"}}},
		"button twice":               {Buttons: []queue.TemplateButton{{Index: 1, Text: "x"}, {Index: 1, Text: "y"}}},
		"empty button value":         {Buttons: []queue.TemplateButton{{Index: 0, Text: ""}}},
	} {
		tpl.Name, tpl.Language = "diwali_offer", "en"
		_, err := c.Send(context.Background(), queue.Delivery{Phone: "+919876543210", Kind: queue.KindTemplate, Template: tpl})
		if class, _ := queue.ClassOf(err); err == nil || class != queue.Permanent || !strings.Contains(err.Error(), "diwali_offer") {
			t.Errorf("%s: %v (%s)", name, err, class)
		}
	}
	if n := len(f.sent()) + len(f.uploaded()); n != 0 {
		t.Fatalf("%d requests reached the fake", n)
	}
}

// The closer template check is not a rubber stamp: it finds a header
// parameter without its media, a media object with both id and link, a
// text parameter without text and a button without an index, and the
// index fix is still needed (the spec's pattern refuses "0").
func TestSpecTemplateCheck(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	if s.indexFixes != 2 {
		t.Fatalf("fixed %d button index patterns, want 2 (TemplateComponent, ButtonComponent): the spec changed, revisit fixIndexPattern", s.indexFixes)
	}
	good := `{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"template","template":{"name":"x",` +
		`"language":{"policy":"deterministic","code":"en"},"components":[%s]}}`
	for name, comp := range map[string]string{
		"image parameter without image": `{"type":"header","parameters":[{"type":"image"}]}`,
		"image with id and link":        `{"type":"header","parameters":[{"type":"image","image":{"id":"1","link":"https://x/a.jpg"}}]}`,
		"named text without text":       `{"type":"body","parameters":[{"type":"text","parameter_name":"first_name"}]}`,
		"button without index":          `{"type":"button","sub_type":"url","parameters":[{"type":"text","text":"x"}]}`,
		"button index 10":               `{"type":"button","sub_type":"url","index":"10","parameters":[{"type":"text","text":"x"}]}`,
		"unknown parameter type":        `{"type":"body","parameters":[{"type":"sticker"}]}`,
	} {
		if err := s.validateTemplateMessage(t, []byte(strings.Replace(good, "%s", comp, 1))); err == nil {
			t.Errorf("%s passed", name)
		}
	}
	ok := `{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"x"}]}`
	if err := s.validateTemplateMessage(t, []byte(strings.Replace(good, "%s", ok, 1))); err != nil {
		t.Errorf("a URL button at index 0: %v", err)
	}
}

// 131047 in the send answer is a permanent error with its code that
// errors.Is queue.ErrWindowClosed; another permanent code is not.
func TestWindowClosedInTheSendAnswer(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	code := 131047
	f.setFail(func(*http.Request) (int, http.Header, string, bool) {
		return http.StatusBadRequest, nil, graphErrorBody(code, 2494010,
			"(#131047) Re-engagement message: More than 24 hours have passed since the recipient last replied to the sender number.", false), true
	})
	c := newClient(f, nil, nil, nil)
	d := queue.Delivery{Phone: "+919876543210", Kind: queue.KindText, Text: "Your order is ready"}
	_, err := c.Send(context.Background(), d)
	var se *queue.SendError
	if !errors.Is(err, queue.ErrWindowClosed) || !errors.As(err, &se) || se.Class != queue.Permanent || se.Code != "131047" {
		t.Fatalf("131047: %v", err)
	}
	if !strings.Contains(err.Error(), "Re-engagement") {
		t.Errorf("the error lost Meta's words: %v", err)
	}
	code = 131026
	if _, err := c.Send(context.Background(), d); err == nil || errors.Is(err, queue.ErrWindowClosed) {
		t.Fatalf("131026 counted as a closed window: %v", err)
	}
}
