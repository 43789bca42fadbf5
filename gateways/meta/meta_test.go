package meta_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
)

const (
	testToken   = "EAAtestAccessToken0123456789abcdef"
	testPNID    = "106540352242922"
	testWABA    = "102290129340398"
	testVersion = "v23.0"
)

// fakeGraph speaks the Graph API wire format of providers.md §1.2–1.4: it
// checks method, path, bearer token and body, answers like Meta, and
// records what it received.
type fakeGraph struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	messages [][]byte
	uploads  []upload
	// fail, when set, answers a request instead of the happy path.
	fail func(r *http.Request) (status int, header http.Header, body string, ok bool)
	// token is the bearer token the fake accepts.
	token string
	// templates are the account's message templates (JSON objects as
	// GET message_templates lists them), served templatePage at a time
	// (default 2); templateQueries records each list request's query.
	templates       []string
	templatePage    int
	templateQueries []url.Values
}

type upload struct {
	Fields   map[string]string
	File     []byte
	FileType string
	FileName string
}

func newFakeGraph(t *testing.T) *fakeGraph {
	f := &fakeGraph{t: t, token: testToken}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fail, token := f.fail, f.token
	f.mu.Unlock()
	if r.Method == http.MethodGet && r.URL.Path == "/"+testVersion+"/"+testWABA+"/message_templates" {
		f.serveTemplates(w, r, token, fail)
		return
	}
	base := "/" + testVersion + "/" + testPNID
	if r.Method != http.MethodPost || (r.URL.Path != base+"/messages" && r.URL.Path != base+"/media") {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		graphErr(w, http.StatusNotFound, 100, "Unsupported post request")
		return
	}
	if r.URL.RawQuery != "" {
		f.t.Errorf("request has a query string: %q", r.URL.RawQuery)
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		graphErr(w, http.StatusUnauthorized, 190, "Invalid OAuth access token")
		return
	}
	if fail != nil {
		if status, h, body, ok := fail(r); ok {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	if strings.HasSuffix(r.URL.Path, "/media") {
		f.serveMedia(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("messages Content-Type = %q", ct)
	}
	body, _ := io.ReadAll(r.Body)
	var m struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.MessagingProduct != "whatsapp" || m.To == "" || m.Type == "" {
		graphErr(w, http.StatusBadRequest, 100, "Invalid parameter")
		return
	}
	f.mu.Lock()
	f.messages = append(f.messages, body)
	n := len(f.messages)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.TEST%d","message_status":"accepted"}]}`,
		m.To, m.To, n)
}

func (f *fakeGraph) serveMedia(w http.ResponseWriter, r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		graphErr(w, http.StatusBadRequest, 100, "Invalid parameter")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	up := upload{Fields: map[string]string{}}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			graphErr(w, http.StatusBadRequest, 100, "Invalid parameter")
			return
		}
		b, _ := io.ReadAll(p)
		if p.FormName() == "file" {
			up.File, up.FileType, up.FileName = b, p.Header.Get("Content-Type"), p.FileName()
		} else {
			up.Fields[p.FormName()] = string(b)
		}
	}
	if up.Fields["messaging_product"] != "whatsapp" || up.File == nil {
		graphErr(w, http.StatusBadRequest, 100, "Invalid parameter")
		return
	}
	f.mu.Lock()
	f.uploads = append(f.uploads, up)
	n := len(f.uploads)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"44907093273840%02d"}`, n)
}

// serveTemplates answers GET /{version}/{waba-id}/message_templates like
// the Graph API: the bearer token, the fields asked for, a limit, pages
// chained by an opaque after cursor, and a next URL that (as Graph's do)
// carries the access token in its query.
func (f *fakeGraph) serveTemplates(w http.ResponseWriter, r *http.Request, token string,
	fail func(r *http.Request) (int, http.Header, string, bool)) {
	q := r.URL.Query()
	f.mu.Lock()
	f.templateQueries = append(f.templateQueries, q)
	all, size := append([]string(nil), f.templates...), f.templatePage
	f.mu.Unlock()
	if q.Has("access_token") {
		f.t.Errorf("the access token travelled in the list's URL")
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		graphErr(w, http.StatusUnauthorized, 190, "Invalid OAuth access token")
		return
	}
	if fail != nil {
		if status, h, body, ok := fail(r); ok {
			for k, v := range h {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return
		}
	}
	fields := strings.Split(q.Get("fields"), ",")
	for _, want := range []string{"name", "language", "status", "category", "parameter_format", "components"} {
		if !slices.Contains(fields, want) {
			graphErr(w, http.StatusBadRequest, 100, "(#100) the list was not asked for "+want)
			return
		}
	}
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 {
		graphErr(w, http.StatusBadRequest, 100, "(#100) Invalid parameter limit")
		return
	}
	if size == 0 {
		size = 2
	}
	size = min(size, limit)
	start := 0
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 || n > len(all) {
			graphErr(w, http.StatusBadRequest, 100, "(#100) Invalid after cursor")
			return
		}
		start = n
	}
	end := min(start+size, len(all))
	cursor := func(n int) string { return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(n))) }
	page := `{"data":[` + strings.Join(all[start:end], ",") + `],"paging":{"cursors":{"before":"` + cursor(start) + `","after":"` + cursor(end) + `"}`
	if end < len(all) {
		next := url.Values{"access_token": {token}, "fields": {q.Get("fields")}, "limit": {strconv.Itoa(limit)}, "after": {cursor(end)}}
		page += `,"next":"` + f.srv.URL + r.URL.Path + "?" + next.Encode() + `"`
	}
	page += `}}`
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, page)
}

func graphErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`, msg, code)
}

func (f *fakeGraph) sent() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.messages...)
}

func (f *fakeGraph) uploaded() []upload {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upload(nil), f.uploads...)
}

func (f *fakeGraph) setFail(fn func(r *http.Request) (int, http.Header, string, bool)) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

func (f *fakeGraph) creds() meta.Credentials {
	return meta.Credentials{AccessToken: testToken, PhoneNumberID: testPNID, WABAID: testWABA, BaseURL: f.srv.URL,
		AppSecret: "app-secret-for-tests", VerifyToken: "verify-token-for-tests"}
}

// memCache is an in-memory MediaCache.
type memCache struct {
	mu      sync.Mutex
	ids     map[string]string
	expires map[string]time.Time
}

func newMemCache() *memCache {
	return &memCache{ids: map[string]string{}, expires: map[string]time.Time{}}
}

func cacheKey(mediaID int64, gateway, account string) string {
	return fmt.Sprintf("%d/%s/%s", mediaID, gateway, account)
}

func (c *memCache) GatewayMediaID(_ context.Context, mediaID int64, gateway, account string) (string, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[cacheKey(mediaID, gateway, account)]
	return id, ok, nil
}

func (c *memCache) PutGatewayMediaID(_ context.Context, mediaID int64, gateway, account, providerID string, expiresAt time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(mediaID, gateway, account)
	c.ids[k], c.expires[k] = providerID, expiresAt
	return nil
}

var testNow = time.Date(2025, 6, 18, 10, 0, 0, 0, time.UTC)

// newClient returns a client talking to f with credentials from creds
// (f.creds() when nil).
func newClient(f *fakeGraph, cache meta.MediaCache, logger *slog.Logger, creds func() meta.Credentials) *meta.Client {
	if creds == nil {
		creds = f.creds
	}
	return meta.New(meta.Options{
		Credentials: func(context.Context) (meta.Credentials, error) { return creds(), nil },
		Media:       cache,
		HTTPClient:  f.srv.Client(),
		Logger:      logger,
		Now:         func() time.Time { return testNow },
	})
}

func testImage(id int64) *queue.Media {
	data := []byte("\xff\xd8\xff\xe0 fake jpeg bytes")
	return &queue.Media{ID: id, SHA256: "abc", MIME: "image/jpeg", Name: "offer.jpg", Size: int64(len(data)),
		PublicURL: "https://cdn.example.com/offer.jpg",
		Open:      func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// decode turns a JSON body into a generic value for comparison.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, b)
	}
	return v
}

// Every body the client sends has exactly the §1.2 shape and validates
// against the official spec's request schema for
// POST /{Version}/{Phone-Number-ID}/messages; a body missing a required
// field does not.
func TestSendContract(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	video := &queue.Media{ID: 9, MIME: "video/mp4", Name: "clip.mp4",
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("mp4")), nil }}
	cases := []struct {
		name   string
		byLink bool
		d      queue.Delivery
		want   string
	}{
		{"text", false, queue.Delivery{Phone: "+919876543210", Kind: queue.KindText, Text: "Hello"},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"text","text":{"preview_url":false,"body":"Hello"}}`},
		{"image by id", false, queue.Delivery{Phone: "+919876543210", Kind: queue.KindImage, Text: "Hi", Media: testImage(7)},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"image","image":{"id":"4490709327384001","caption":"Hi"}}`},
		{"image by link", true, queue.Delivery{Phone: "+919876543210", Kind: queue.KindImage, Text: "Hi", Media: testImage(7)},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"image","image":{"link":"https://cdn.example.com/offer.jpg","caption":"Hi"}}`},
		{"image without caption", false, queue.Delivery{Phone: "+919876543210", Kind: queue.KindImage, Media: testImage(8)},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"image","image":{"id":"4490709327384001"}}`},
		{"video", true, queue.Delivery{Phone: "+919876543210", Kind: queue.KindVideo, Text: "Watch", Media: video},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"video","video":{"id":"4490709327384001","caption":"Watch"}}`},
		{"template with params", false, queue.Delivery{Phone: "+919876543210", Kind: queue.KindTemplate,
			Template: queue.Template{Name: "order_update", Language: "en_US", Params: []string{"Asha", "#42"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"template","template":{"name":"order_update","language":{"policy":"deterministic","code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"Asha"},{"type":"text","text":"#42"}]}]}}`},
		{"template without params", false, queue.Delivery{Phone: "+919876543210", Kind: queue.KindTemplate,
			Template: queue.Template{Name: "hello_world", Language: "en_US"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"template","template":{"name":"hello_world","language":{"policy":"deterministic","code":"en_US"}}}`},
		{"flow with screen and data", false, queue.Delivery{Phone: "+919876543210", Kind: queue.KindFlow, Text: "Book your slot",
			Flow: queue.Flow{ID: "1234567890", Variables: map[string]string{"cta": "Book now", "token": "tok-1", "screen": "WELCOME", "order": "42"}}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"919876543210","type":"interactive","interactive":{"type":"flow","body":{"text":"Book your slot"},"action":{"name":"flow","parameters":{"flow_message_version":"3","flow_id":"1234567890","flow_token":"tok-1","flow_cta":"Book now","flow_action":"navigate","flow_action_payload":{"screen":"WELCOME","data":{"order":"42"}}}}}}`},
		{"flow with defaults", false, queue.Delivery{Phone: "+919876543210", Kind: queue.KindFlow,
			Flow: queue.Flow{ID: "1234567890", Variables: map[string]string{"body": "Tell us more", "header": "Survey", "footer": "Thanks"}}},
			``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeGraph(t)
			creds := f.creds()
			creds.MediaByLink = tc.byLink
			c := newClient(f, newMemCache(), nil, func() meta.Credentials { return creds })
			id, err := c.Send(context.Background(), tc.d)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != "wamid.TEST1" {
				t.Fatalf("provider id = %q", id)
			}
			bodies := f.sent()
			if len(bodies) != 1 {
				t.Fatalf("%d message requests", len(bodies))
			}
			body := bodies[0]
			if tc.want != "" {
				if got, want := decode(t, body), decode(t, []byte(tc.want)); !reflect.DeepEqual(got, want) {
					t.Errorf("body\n got %s\nwant %s", body, tc.want)
				}
			}
			if err := s.validate(t, messagesOp, body); err != nil {
				t.Errorf("body does not match the spec: %v\n%s", err, body)
			}
			if tc.d.Kind == queue.KindFlow && tc.want == "" {
				var m struct {
					Interactive struct {
						Header struct{ Type, Text string }
						Footer struct{ Text string }
						Body   struct{ Text string }
						Action struct {
							Parameters struct {
								FlowCTA   string `json:"flow_cta"`
								FlowToken string `json:"flow_token"`
								Payload   any    `json:"flow_action_payload"`
							}
						}
					}
				}
				_ = json.Unmarshal(body, &m)
				p := m.Interactive.Action.Parameters
				if p.FlowCTA != "Open" || !strings.HasPrefix(p.FlowToken, "mb.") || p.Payload != nil ||
					m.Interactive.Body.Text != "Tell us more" || m.Interactive.Header.Text != "Survey" || m.Interactive.Footer.Text != "Thanks" {
					t.Errorf("flow defaults not applied: %s", body)
				}
			}
		})
	}

	// The validator catches a dropped required field or a wrong shape.
	valid := []byte(cases[0].want)
	for name, mutate := range map[string]func(m map[string]any){
		"missing messaging_product": func(m map[string]any) { delete(m, "messaging_product") },
		"missing to":                func(m map[string]any) { delete(m, "to") },
		"missing text":              func(m map[string]any) { delete(m, "text") },
		"unknown field":             func(m map[string]any) { m["surprise"] = true },
		"media without id or link": func(m map[string]any) {
			delete(m, "text")
			m["type"], m["image"] = "image", map[string]any{"caption": "Hi"}
		},
	} {
		t.Run("negative/"+name, func(t *testing.T) {
			t.Parallel()
			m := decode(t, valid).(map[string]any)
			mutate(m)
			if err := s.validate(t, messagesOp, mustJSON(t, m)); err == nil {
				t.Fatalf("a body with %s passed validation", name)
			}
		})
	}
}

// Sending the same image twice uploads it once per phone number; the
// cached id expires after 30 days; a fresh cache uploads again.
func TestSameImageUploadsOnce(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	cache := newMemCache()
	c := newClient(f, cache, nil, nil)
	ctx := context.Background()
	d := queue.Delivery{Phone: "+919876543210", Kind: queue.KindImage, Text: "Offer", Media: testImage(7)}
	for i := range 2 {
		if _, err := c.Send(ctx, d); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	ups := f.uploaded()
	if len(ups) != 1 {
		t.Fatalf("%d uploads for two sends of one image, want 1", len(ups))
	}
	up := ups[0]
	if up.Fields["messaging_product"] != "whatsapp" || up.Fields["type"] != "image/jpeg" ||
		up.FileType != "image/jpeg" || up.FileName != "offer.jpg" || !bytes.HasPrefix(up.File, []byte("\xff\xd8")) {
		t.Fatalf("upload = %+v", up)
	}
	for i, b := range f.sent() {
		if !strings.Contains(string(b), `"id":"4490709327384001"`) {
			t.Fatalf("send %d did not use the uploaded id: %s", i, b)
		}
	}
	k := cacheKey(7, meta.Name, testPNID)
	if cache.ids[k] != "4490709327384001" || !cache.expires[k].Equal(testNow.Add(30*24*time.Hour)) {
		t.Fatalf("cache = %v, expires %v", cache.ids, cache.expires)
	}

	// A fresh cache (or another process without one) uploads again.
	c2 := newClient(f, newMemCache(), nil, nil)
	if _, err := c2.Send(ctx, d); err != nil {
		t.Fatal(err)
	}
	if n := len(f.uploaded()); n != 2 {
		t.Fatalf("%d uploads after a fresh cache, want 2", n)
	}

}

// Concurrent sends of one image upload it once.
func TestConcurrentSendsUploadOnce(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	c := newClient(f, newMemCache(), nil, nil)
	d := queue.Delivery{Phone: "+919876543210", Kind: queue.KindImage, Media: testImage(3)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, err := c.Send(context.Background(), d); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(f.uploaded()); n != 1 {
		t.Fatalf("%d uploads, want 1", n)
	}
	if n := len(f.sent()); n != 8 {
		t.Fatalf("%d sends, want 8", n)
	}
}

// Credentials are read on every send: a token changed by an admin is used
// at once.
func TestCredentialsReadOnEverySend(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	var mu sync.Mutex
	creds := f.creds()
	c := newClient(f, nil, nil, func() meta.Credentials { mu.Lock(); defer mu.Unlock(); return creds })
	d := queue.Delivery{Phone: "+919876543210", Kind: queue.KindText, Text: "Hi"}
	if _, err := c.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.token = "EAAnewTokenAfterRotation0123456789"
	f.mu.Unlock()
	_, err := c.Send(context.Background(), d)
	if class, _ := queue.ClassOf(err); class != queue.SenderBlocked {
		t.Fatalf("old token after rotation: %v (%s), want sender_blocked", err, class)
	}
	mu.Lock()
	creds.AccessToken = "EAAnewTokenAfterRotation0123456789"
	mu.Unlock()
	if _, err := c.Send(context.Background(), d); err != nil {
		t.Fatalf("new token: %v", err)
	}
}

// Bad settings block the sender; bad deliveries fail permanently; neither
// reaches Meta.
func TestSendRejectsBeforeCallingMeta(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	ok := f.creds()
	for _, tc := range []struct {
		name  string
		creds func(c meta.Credentials) meta.Credentials
		d     queue.Delivery
		want  queue.Class
	}{
		{"no token", func(c meta.Credentials) meta.Credentials { c.AccessToken = ""; return c }, queue.Delivery{}, queue.SenderBlocked},
		{"no phone number id", func(c meta.Credentials) meta.Credentials { c.PhoneNumberID = ""; return c }, queue.Delivery{}, queue.SenderBlocked},
		{"path in phone number id", func(c meta.Credentials) meta.Credentials { c.PhoneNumberID = "1/../2"; return c }, queue.Delivery{}, queue.SenderBlocked},
		{"bad version", func(c meta.Credentials) meta.Credentials { c.GraphVersion = "latest"; return c }, queue.Delivery{}, queue.SenderBlocked},
		{"no digits", nil, queue.Delivery{Phone: "+", Kind: queue.KindText, Text: "x"}, queue.Permanent},
		{"empty text", nil, queue.Delivery{Phone: "+919876543210", Kind: queue.KindText}, queue.Permanent},
		{"image without media", nil, queue.Delivery{Phone: "+919876543210", Kind: queue.KindImage}, queue.Permanent},
		{"template without language", nil, queue.Delivery{Phone: "+919876543210", Kind: queue.KindTemplate, Template: queue.Template{Name: "x"}}, queue.Permanent},
		{"flow without id", nil, queue.Delivery{Phone: "+919876543210", Kind: queue.KindFlow}, queue.Permanent},
		{"unknown kind", nil, queue.Delivery{Phone: "+919876543210", Kind: "sticker"}, queue.Permanent},
	} {
		creds := ok
		if tc.creds != nil {
			creds = tc.creds(ok)
		}
		d := tc.d
		if d.Kind == "" {
			d = queue.Delivery{Phone: "+919876543210", Kind: queue.KindText, Text: "x"}
		}
		c := newClient(f, nil, nil, func() meta.Credentials { return creds })
		_, err := c.Send(context.Background(), d)
		if class, _ := queue.ClassOf(err); err == nil || class != tc.want {
			t.Errorf("%s: err %v (%s), want %s", tc.name, err, class, tc.want)
		}
	}
	if n := len(f.sent()) + len(f.uploaded()); n != 0 {
		t.Fatalf("%d requests reached the fake", n)
	}
	var nilCreds *meta.Client = meta.New(meta.Options{})
	if _, err := nilCreds.Send(context.Background(), queue.Delivery{Phone: "+1", Kind: queue.KindText, Text: "x"}); err == nil {
		t.Fatal("a client without credentials sent")
	}
}
