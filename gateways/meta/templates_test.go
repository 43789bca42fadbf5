package meta_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// templatesOp points at the 200 answer of GET
// /{Version}/{WABA-ID}/message_templates.
const templatesOp = "#/paths/~1{Version}~1{WABA-ID}~1message_templates/get/responses/200/content/application~1json/schema"

// Templates as the list returns them: a text header with no variable, an
// image header with positional body variables and a URL button after a
// quick reply, a paused one, and one with named parameters (a named text
// header, a name used twice, a static URL button and one with a suffix).
var accountTemplates = []string{
	`{"name":"hello_world","language":"en_US","status":"APPROVED","category":"UTILITY","parameter_format":"POSITIONAL","id":"1192339204654487",` +
		`"components":[{"type":"HEADER","format":"TEXT","text":"Hello World"},{"type":"BODY","text":"Welcome and congratulations!!"},` +
		`{"type":"FOOTER","text":"WhatsApp Business API Team"}]}`,
	`{"name":"diwali_offer","language":"en","status":"APPROVED","category":"MARKETING","parameter_format":"POSITIONAL","id":"920070352646140",` +
		`"components":[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW1hZ2UvanBlZw==:ARb"]}},` +
		`{"type":"BODY","text":"Hi {{1}}, our Diwali sale is on! Use {{2}} for {{ 1 }}% off.","example":{"body_text":[["Asha","DIWALI25"]]}},` +
		`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop promotions"},` +
		`{"type":"URL","text":"Shop now","url":"https://shop.example.com/offer/{{1}}","example":["https://shop.example.com/offer/d25"]}]}]}`,
	`{"name":"order_update","language":"hi","status":"PAUSED","category":"UTILITY","parameter_format":"POSITIONAL","id":"920070352646141",` +
		`"components":[{"type":"BODY","text":"आपका ऑर्डर {{1}} रास्ते में है","example":{"body_text":[["#42"]]}}]}`,
	`{"name":"welcome_named","language":"en_US","status":"APPROVED","category":"MARKETING","parameter_format":"NAMED","id":"920070352646142",` +
		`"components":[{"type":"HEADER","format":"TEXT","text":"Hi {{first_name}}","example":{"header_text_named_params":[{"param_name":"first_name","example":"Asha"}]}},` +
		`{"type":"BODY","text":"Dear {{first_name}}, order {{order_id}} ships from {{city}}. Thanks, {{first_name}}!",` +
		`"example":{"body_text_named_params":[{"param_name":"first_name","example":"Asha"},{"param_name":"order_id","example":"42"},{"param_name":"city","example":"Pune"}]}},` +
		`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Help","url":"https://shop.example.com/help"},` +
		`{"type":"PHONE_NUMBER","text":"Call","phone_number":"+15550783881"},` +
		`{"type":"URL","text":"Track","url":"https://shop.example.com/t/{{1}}","example":["https://shop.example.com/t/42"]}]}]}`,
}

// The list is read page by page (two pages of the fake's page size of
// 3), with the fields asked for and the cursor of the page before, and
// every template comes back with its shape, status and category: the
// paused one too (the operations layer refuses it), the named one with
// its names in order of first appearance.
func TestTemplatesReadsEveryPage(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	f.templates, f.templatePage = accountTemplates, 3
	c := newClient(f, nil, nil, nil)
	got, err := c.Templates(context.Background())
	if err != nil {
		t.Fatalf("Templates: %v", err)
	}
	want := []store.CatalogEntry{
		{Kind: store.CatalogTemplate, ExternalID: "hello_world", Language: "en_US", Status: store.TemplateApproved, Category: "UTILITY",
			Shape: store.TemplateShape{Header: store.HeaderText}},
		{Kind: store.CatalogTemplate, ExternalID: "diwali_offer", Language: "en", Status: store.TemplateApproved, Category: "MARKETING",
			ParamCount: 2, Shape: store.TemplateShape{Header: store.HeaderImage, BodyParams: 2, URLButtons: []int{1}}},
		{Kind: store.CatalogTemplate, ExternalID: "order_update", Language: "hi", Status: store.TemplatePaused, Category: "UTILITY",
			ParamCount: 1, Shape: store.TemplateShape{BodyParams: 1}},
		{Kind: store.CatalogTemplate, ExternalID: "welcome_named", Language: "en_US", Status: store.TemplateApproved, Category: "MARKETING",
			ParamCount: 3, Shape: store.TemplateShape{Header: store.HeaderText, HeaderParams: 1, HeaderName: "first_name",
				BodyParams: 3, BodyNames: []string{"first_name", "order_id", "city"}, URLButtons: []int{2}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("templates\n got %+v\nwant %+v", got, want)
	}
	f.mu.Lock()
	queries := f.templateQueries
	f.mu.Unlock()
	if len(queries) != 2 {
		t.Fatalf("%d list requests, want 2", len(queries))
	}
	if q := queries[0]; q.Get("limit") != "100" || q.Get("fields") != "name,language,status,category,parameter_format,components" || q.Has("after") {
		t.Errorf("first page query = %v", q)
	}
	if q := queries[1]; q.Get("after") == "" || q.Get("limit") != "100" {
		t.Errorf("second page query = %v", q)
	}

	// The fake's pages are shaped like the spec's answer.
	if s := optionalSpec(t); s != nil {
		for _, b := range []string{"{\"data\":[" + strings.Join(accountTemplates, ",") + "]}"} {
			if err := s.validate(t, templatesOp, []byte(b)); err != nil {
				t.Errorf("template fixtures do not match the spec: %v", err)
			}
		}
	}
}

// One page when the list fits; an empty account lists nothing.
func TestTemplatesOnePageAndEmpty(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	f.templates, f.templatePage = accountTemplates[:2], 100
	c := newClient(f, nil, nil, nil)
	got, err := c.Templates(context.Background())
	if err != nil || len(got) != 2 || got[1].ExternalID != "diwali_offer" {
		t.Fatalf("one page: %+v, %v", got, err)
	}
	empty := newFakeGraph(t)
	got, err = newClient(empty, nil, nil, nil).Templates(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("empty account: %+v, %v", got, err)
	}
}

// Without meta.waba_id (or with a WABA id that is not a number) nothing
// is asked and the error names the setting; a Graph error is classified
// like a send's and carries no token.
func TestTemplatesErrors(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	f.templates = accountTemplates
	for name, waba := range map[string]string{"unset": "", "not digits": "1022/../me"} {
		creds := f.creds()
		creds.WABAID = waba
		_, err := newClient(f, nil, nil, func() meta.Credentials { return creds }).Templates(context.Background())
		if class, _ := queue.ClassOf(err); err == nil || !strings.Contains(err.Error(), "meta.waba_id") || class != queue.SenderBlocked {
			t.Errorf("%s WABA id: %v (%s)", name, err, class)
		}
	}
	f.mu.Lock()
	n := len(f.templateQueries)
	f.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d list requests without a usable WABA id", n)
	}

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.setFail(func(*http.Request) (int, http.Header, string, bool) {
		return http.StatusUnauthorized, nil, graphErrorBody(190, 463, "Error validating access token "+testToken, false), true
	})
	_, err := newClient(f, nil, logger, nil).Templates(context.Background())
	var se *queue.SendError
	if !errors.As(err, &se) || se.Class != queue.SenderBlocked || se.Code != "190" {
		t.Fatalf("expired token: %v", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(logs.String(), testToken) {
		t.Fatalf("the token leaked: %v\n%s", err, logs.String())
	}
	f.setFail(func(*http.Request) (int, http.Header, string, bool) {
		return http.StatusBadRequest, nil, graphErrorBody(100, 33, "Unsupported get request. Object with ID '102290129340398' does not exist", false), true
	})
	if _, err := newClient(f, nil, nil, nil).Templates(context.Background()); !strings.Contains(err.Error(), "code 100") {
		t.Fatalf("unknown WABA: %v", err)
	}
}

// pagedServer answers every list request with page(n) for the n-th
// request (from 1) and counts the requests.
func pagedServer(t *testing.T, page func(n int, srv *httptest.Server) string) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(hits.Add(1))
		if r.URL.Query().Has("access_token") {
			t.Errorf("the access token travelled in the URL: %s", r.URL.RawQuery)
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("request %d without the bearer token", n)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, page(n, srv))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func pagedClient(srv *httptest.Server) *meta.Client {
	return meta.New(meta.Options{HTTPClient: srv.Client(), Credentials: func(context.Context) (meta.Credentials, error) {
		return meta.Credentials{AccessToken: testToken, PhoneNumberID: testPNID, WABAID: testWABA, BaseURL: srv.URL}, nil
	}})
}

const oneTemplate = `{"name":"t%d","language":"en","status":"APPROVED","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}`

// A next page without cursors is fetched from next itself, minus its
// access token; a next page on another host is refused before it is
// asked; a list whose next page repeats stops; an endless list stops at
// its page bound; a page over the size bound is refused.
func TestTemplatesPagingBounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	srv, hits := pagedServer(t, func(n int, srv *httptest.Server) string {
		if n == 1 {
			return fmt.Sprintf(`{"data":[`+oneTemplate+`],"paging":{"next":"%s/v23.0/%s/message_templates?access_token=%s&limit=100&page=2"}}`, n, srv.URL, testWABA, testToken)
		}
		return fmt.Sprintf(`{"data":[`+oneTemplate+`],"paging":{}}`, n)
	})
	got, err := pagedClient(srv).Templates(ctx)
	if err != nil || len(got) != 2 || got[1].ExternalID != "t2" || hits.Load() != 2 {
		t.Fatalf("next without cursors: %+v, %v, %d requests", got, err, hits.Load())
	}

	elsewhere, elsewhereHits := pagedServer(t, func(int, *httptest.Server) string { return `{"data":[]}` })
	srv, _ = pagedServer(t, func(n int, _ *httptest.Server) string {
		return fmt.Sprintf(`{"data":[`+oneTemplate+`],"paging":{"cursors":{"after":"QVFIU"},"next":"%s/v23.0/%s/message_templates?after=QVFIU"}}`, n, elsewhere.URL, testWABA)
	})
	if _, err := pagedClient(srv).Templates(ctx); err == nil || !strings.Contains(err.Error(), "host") || elsewhereHits.Load() != 0 {
		t.Fatalf("next on another host: %v, %d requests there", err, elsewhereHits.Load())
	}

	srv, hits = pagedServer(t, func(n int, srv *httptest.Server) string {
		return fmt.Sprintf(`{"data":[`+oneTemplate+`],"paging":{"cursors":{"after":"SAME"},"next":"%s/v23.0/%s/message_templates?after=SAME"}}`, n, srv.URL, testWABA)
	})
	if _, err := pagedClient(srv).Templates(ctx); err == nil || hits.Load() != 2 {
		t.Fatalf("repeating next page: %v after %d requests", err, hits.Load())
	}

	srv, hits = pagedServer(t, func(n int, srv *httptest.Server) string {
		return fmt.Sprintf(`{"data":[`+oneTemplate+`],"paging":{"cursors":{"after":"C%d"},"next":"%s/v23.0/%s/message_templates?after=C%d"}}`, n, n, srv.URL, testWABA, n)
	})
	if _, err := pagedClient(srv).Templates(ctx); err == nil || !strings.Contains(err.Error(), "pages") || hits.Load() != 100 {
		t.Fatalf("endless list: %v after %d requests", err, hits.Load())
	}

	huge := `{"data":[{"name":"big","language":"en","components":[{"type":"BODY","text":"` + strings.Repeat("a", 4<<20) + `"}]}]}`
	srv, _ = pagedServer(t, func(int, *httptest.Server) string { return huge })
	if _, err := pagedClient(srv).Templates(ctx); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("huge page: %v", err)
	}
}
