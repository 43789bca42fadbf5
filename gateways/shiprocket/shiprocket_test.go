package shiprocket_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/shiprocket"
	"github.com/messagebridge/messagebridge/queue"
)

const (
	testEmail    = "api-user@shop.example"
	testPassword = "S3cr3t-Pa55-w0rd!"
	flowPath     = "engage/flows/{{flow_id}}/trigger" // under BaseURL
)

// clock is the test's settable time, shared by the client and the fake.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// flowCall is one flow-trigger request the fake received.
type flowCall struct {
	Path  string
	Auth  string
	Body  map[string]any
	Raw   []byte
	Token string
	Query url.Values
}

// fakeShiprocket speaks Shiprocket's documented login (POST
// /v1/external/auth/login → {"token": JWT}, 240 h tokens, 401 for bad
// credentials) and the flow-trigger call as this project configures it.
type fakeShiprocket struct {
	t     *testing.T
	srv   *httptest.Server
	clock *clock

	mu        sync.Mutex
	password  string
	tokenTTL  time.Duration
	issued    map[string]time.Time // token → expiry
	logins    int
	calls     []flowCall
	loginHook func(w http.ResponseWriter) bool // answers instead when it returns true
	flowHook  func(w http.ResponseWriter, c flowCall) bool
	seq       int
}

func newFake(t *testing.T, clk *clock) *fakeShiprocket {
	t.Helper()
	f := &fakeShiprocket{t: t, clock: clk, password: testPassword, tokenTTL: shiprocket.TokenTTL, issued: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/external/auth/login", f.login)
	mux.HandleFunc("POST /v1/external/engage/flows/{flow}/trigger", f.flow)
	mux.HandleFunc("POST /elsewhere/flows/{flow}/trigger", f.flow) // an absolute FlowURL
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeShiprocket) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ Email, Password string }
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
		writeJSON(w, http.StatusBadRequest, `{"message":"bad request"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	if f.loginHook != nil && f.loginHook(w) {
		return
	}
	if body.Email != testEmail || body.Password != f.password {
		writeJSON(w, http.StatusUnauthorized, `{"message":"Invalid email and password combination"}`)
		return
	}
	f.seq++
	exp := f.clock.Now().Add(f.tokenTTL)
	tok := jwt(map[string]any{"sub": 4242, "iat": f.clock.Now().Unix(), "exp": exp.Unix(), "n": f.seq})
	f.issued[tok] = exp
	writeJSON(w, http.StatusOK, fmt.Sprintf(`{"company_id":77,"email":%q,"id":4242,"first_name":"API","last_name":"User","token":%q}`, testEmail, tok))
}

func (f *fakeShiprocket) flow(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	c := flowCall{Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"), Raw: raw, Query: r.URL.Query()}
	c.Token, _ = strings.CutPrefix(c.Auth, "Bearer ")
	_ = json.Unmarshal(raw, &c.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	if r.Header.Get("Content-Type") != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, `{"message":"json only"}`)
		return
	}
	if f.flowHook != nil && f.flowHook(w, c) {
		return
	}
	exp, ok := f.issued[c.Token]
	if !ok || !f.clock.Now().Before(exp) {
		writeJSON(w, http.StatusUnauthorized, `{"message":"Token has expired","status_code":401}`)
		return
	}
	writeJSON(w, http.StatusOK, fmt.Sprintf(`{"success":true,"data":{"id":"trg_%d"}}`, len(f.calls)))
}

func (f *fakeShiprocket) revokeAll() {
	f.mu.Lock()
	clear(f.issued)
	f.mu.Unlock()
}

func (f *fakeShiprocket) counts() (logins, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins, len(f.calls)
}

func (f *fakeShiprocket) flowCalls() []flowCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]flowCall(nil), f.calls...)
}

func (f *fakeShiprocket) set(fn func(f *fakeShiprocket)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// jwt makes an unsigned-looking but well-formed JWT.
func jwt(claims map[string]any) string {
	enc := base64.RawURLEncoding
	c, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString([]byte("signature-bytes-0123456789"))
}

type bundle struct {
	fake   *fakeShiprocket
	clock  *clock
	client *shiprocket.Client
	logs   *syncBuffer

	mu sync.Mutex
	cr shiprocket.Credentials
}

func setup(t *testing.T, mod func(cr *shiprocket.Credentials)) *bundle {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	b := &bundle{fake: newFake(t, clk), clock: clk, logs: &syncBuffer{}}
	b.cr = shiprocket.Credentials{Email: testEmail, Password: testPassword, BaseURL: b.fake.srv.URL + "/v1/external", FlowURL: flowPath}
	if mod != nil {
		mod(&b.cr)
	}
	b.client = shiprocket.New(shiprocket.Options{
		Credentials: func(context.Context) (shiprocket.Credentials, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.cr, nil
		},
		HTTPClient: b.fake.srv.Client(),
		Logger:     slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        clk.Now,
	})
	return b
}

func (b *bundle) setCreds(fn func(cr *shiprocket.Credentials)) {
	b.mu.Lock()
	fn(&b.cr)
	b.mu.Unlock()
}

func flow(id int64) queue.Delivery {
	return queue.Delivery{ItemID: id, Phone: "+919876543210", Kind: queue.KindFlow,
		Flow: queue.Flow{ID: "cod_confirm_v2", Variables: map[string]string{"name": "Asha", "order": "#1042"}}}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func wantClass(t *testing.T, err error, want queue.Class) *queue.SendError {
	t.Helper()
	class, se := queue.ClassOf(err)
	if err == nil || se == nil || class != want {
		t.Fatalf("err = %v (class %s), want a %s SendError", err, class, want)
	}
	return se
}

// TestLoginOnceManySends: one login serves concurrent and later sends, and
// every flow call carries that JWT and the default body.
func TestLoginOnceManySends(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.client.Send(context.Background(), flow(int64(i+1))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range 10 {
		b.clock.Advance(time.Hour)
		id, err := b.client.Send(context.Background(), flow(int64(100+i)))
		if err != nil || !strings.HasPrefix(id, "trg_") {
			t.Fatalf("Send = %q, %v", id, err)
		}
	}
	logins, calls := b.fake.counts()
	if logins != 1 || calls != 30 {
		t.Fatalf("logins = %d, flow calls = %d; want 1 and 30", logins, calls)
	}
	first := b.fake.flowCalls()[0]
	for _, c := range b.fake.flowCalls() {
		if c.Token != first.Token || !strings.HasPrefix(c.Token, "eyJ") {
			t.Fatalf("flow call used %q, want the one JWT %q", c.Token, first.Token)
		}
		if c.Path != "/v1/external/engage/flows/cod_confirm_v2/trigger" {
			t.Fatalf("path = %s", c.Path)
		}
	}
	want := `{"flow_id":"cod_confirm_v2","phone":"+919876543210","variables":{"name":"Asha","order":"#1042"}}`
	if string(first.Raw) != want {
		t.Fatalf("default body = %s\nwant %s", first.Raw, want)
	}
}

// TestTokenExpiry: the JWT is reused for its 240 h life and a new login
// follows once it has run out by the injected clock.
func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.client.Send(ctx, flow(1)); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(239 * time.Hour)
	if _, err := b.client.Send(ctx, flow(2)); err != nil {
		t.Fatal(err)
	}
	if logins, _ := b.fake.counts(); logins != 1 {
		t.Fatalf("logins after 239 h = %d, want 1", logins)
	}
	b.clock.Advance(2 * time.Hour)
	if _, err := b.client.Send(ctx, flow(3)); err != nil {
		t.Fatal(err)
	}
	logins, calls := b.fake.counts()
	if logins != 2 || calls != 3 {
		t.Fatalf("after 241 h: logins = %d, calls = %d; want 2 and 3 (no 401 round trip)", logins, calls)
	}
	fc := b.fake.flowCalls()
	if fc[2].Token == fc[0].Token {
		t.Fatal("the expired token was sent again")
	}
}

// TestShortJWTExpiry: a token whose exp claim is sooner than 240 h is
// renewed by that claim.
func TestShortJWTExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	b.fake.set(func(f *fakeShiprocket) { f.tokenTTL = time.Hour })
	ctx := context.Background()
	if _, err := b.client.Send(ctx, flow(1)); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(2 * time.Hour)
	if _, err := b.client.Send(ctx, flow(2)); err != nil {
		t.Fatal(err)
	}
	if logins, calls := b.fake.counts(); logins != 2 || calls != 2 {
		t.Fatalf("logins = %d, calls = %d; want 2 and 2", logins, calls)
	}
}

// TestReloginOn401: a 401 on the flow call triggers exactly one re-login
// and one retry; a second refusal blocks the sender without looping.
func TestReloginOn401(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.client.Send(ctx, flow(1)); err != nil {
		t.Fatal(err)
	}
	b.fake.revokeAll() // the server forgets the token before its 240 h
	id, err := b.client.Send(ctx, flow(2))
	if err != nil || !strings.HasPrefix(id, "trg_") {
		t.Fatalf("Send after revocation = %q, %v", id, err)
	}
	logins, calls := b.fake.counts()
	if logins != 2 || calls != 3 {
		t.Fatalf("logins = %d, calls = %d; want 2 and 3 (one 401, one retry)", logins, calls)
	}
	fc := b.fake.flowCalls()
	if fc[1].Token != fc[0].Token || fc[2].Token == fc[1].Token {
		t.Fatal("the retry did not use the new token")
	}

	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		b.fake.set(func(f *fakeShiprocket) {
			f.logins, f.calls = 0, nil
			f.flowHook = func(w http.ResponseWriter, _ flowCall) bool {
				writeJSON(w, status, `{"message":"Unauthorized"}`)
				return true
			}
		})
		_, err = b.client.Send(ctx, flow(3))
		se := wantClass(t, err, queue.SenderBlocked)
		if se.Code != fmt.Sprint(status) {
			t.Fatalf("code = %q", se.Code)
		}
		if logins, calls := b.fake.counts(); logins != 1 || calls != 2 {
			t.Fatalf("%d: logins = %d, calls = %d; want exactly one re-login and one retry", status, logins, calls)
		}
	}
}

// TestWrongPassword: a refused login blocks the sender, makes no flow
// call, is not retried by concurrent sends, and clears when the password
// is fixed.
func TestWrongPassword(t *testing.T) {
	t.Parallel()
	b := setup(t, func(cr *shiprocket.Credentials) { cr.Password = "not-the-password" })
	ctx := context.Background()
	se := wantClass(t, sendErr(b.client.Send(ctx, flow(1))), queue.SenderBlocked)
	if se.Code != "401" || !strings.Contains(se.Error(), "Invalid email and password combination") {
		t.Fatalf("err = %v", se)
	}
	wantClass(t, sendErr(b.client.Send(ctx, flow(2))), queue.SenderBlocked)
	if logins, calls := b.fake.counts(); logins != 1 || calls != 0 {
		t.Fatalf("logins = %d, calls = %d; want 1 and 0", logins, calls)
	}
	b.setCreds(func(cr *shiprocket.Credentials) { cr.Password = testPassword })
	if _, err := b.client.Send(ctx, flow(3)); err != nil {
		t.Fatalf("after fixing the password: %v", err)
	}
}

func sendErr(_ string, err error) error { return err }

// TestStatusClasses: flow-call and login statuses map to their classes.
func TestStatusClasses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		login      bool // answer on the login instead of the flow call
		status     int
		retryAfter string
		class      queue.Class
		wait       time.Duration
	}{
		{"flow 429 with hint", false, 429, "12", queue.RateLimited, 12 * time.Second},
		{"flow 429 without hint", false, 429, "", queue.RateLimited, shiprocket.DefaultRateLimitWait},
		{"flow 500", false, 500, "", queue.Retry, 0},
		{"flow 502", false, 502, "", queue.Retry, 0},
		{"flow 503", false, 503, "", queue.Retry, 0},
		{"flow 400", false, 400, "", queue.Permanent, 0},
		{"flow 404", false, 404, "", queue.Permanent, 0},
		{"flow 422", false, 422, "", queue.Permanent, 0},
		{"login 429", true, 429, "", queue.RateLimited, shiprocket.DefaultRateLimitWait},
		{"login 500", true, 500, "", queue.Retry, 0},
		{"login 403", true, 403, "", queue.SenderBlocked, 0},
		{"login 422", true, 422, "", queue.SenderBlocked, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			answer := func(w http.ResponseWriter) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				writeJSON(w, tc.status, `{"message":"You have exceeded the API call rate limit"}`)
			}
			b.fake.set(func(f *fakeShiprocket) {
				if tc.login {
					f.loginHook = func(w http.ResponseWriter) bool { answer(w); return true }
				} else {
					f.flowHook = func(w http.ResponseWriter, _ flowCall) bool { answer(w); return true }
				}
			})
			se := wantClass(t, sendErr(b.client.Send(context.Background(), flow(1))), tc.class)
			if se.Code != fmt.Sprint(tc.status) || se.RetryAfter != tc.wait {
				t.Fatalf("code %q wait %v; want %d and %v", se.Code, se.RetryAfter, tc.status, tc.wait)
			}
			// Shiprocket's limit is the API user's: a 429 slows the gateway.
			if pause, gw := queue.GatewayRateLimit(se); gw != (tc.class == queue.RateLimited) || pause != tc.wait {
				t.Fatalf("GatewayRateLimit = %v, %v", pause, gw)
			}
			if logins, calls := b.fake.counts(); logins != 1 || (tc.login && calls != 0) || (!tc.login && calls != 1) {
				t.Fatalf("logins = %d, calls = %d", logins, calls)
			}
		})
	}
}

// TestSecretsNeverLeak plants the password and the JWT in the fake's
// answers and checks neither appears in a returned error or a log line.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := context.Background()
	if _, err := b.client.Send(ctx, flow(1)); err != nil {
		t.Fatal(err)
	}
	jwtTok := b.fake.flowCalls()[0].Token
	secrets := []string{testPassword, jwtTok}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("%s: error carries a secret: %s", what, err)
			}
		}
	}
	for _, status := range []int{400, 401, 404, 429, 500} {
		b.fake.set(func(f *fakeShiprocket) {
			f.flowHook = func(w http.ResponseWriter, c flowCall) bool {
				writeJSON(w, status, fmt.Sprintf(`{"message":"token %s for %s / password %s rejected"}`, c.Token, testEmail, testPassword))
				return true
			}
		})
		_, err := b.client.Send(ctx, flow(2))
		check(fmt.Sprintf("flow %d", status), err)
	}
	b.fake.set(func(f *fakeShiprocket) {
		f.flowHook = func(w http.ResponseWriter, c flowCall) bool {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>RAWBODY "+c.Token+" "+testPassword+"</html>")
			return true
		}
	})
	_, err := b.client.Send(ctx, flow(3))
	check("flow 502 html", err)
	if strings.Contains(err.Error(), "RAWBODY") {
		t.Fatalf("raw body echoed: %s", err)
	}
	// The login echoing the password back.
	b.fake.revokeAll()
	b.fake.set(func(f *fakeShiprocket) {
		f.flowHook = nil
		f.loginHook = func(w http.ResponseWriter) bool {
			writeJSON(w, http.StatusUnauthorized, `{"message":"password `+testPassword+` is wrong","token_was":"`+jwtTok+`"}`)
			return true
		}
	})
	_, err = b.client.Send(ctx, flow(4))
	check("login 401", err)
	wantClass(t, err, queue.SenderBlocked)

	logs := b.logs.String()
	if !strings.Contains(logs, "logged in") || !strings.Contains(logs, "login failed") {
		t.Fatalf("expected login logs; the check proves nothing:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Fatalf("logs carry a secret:\n%s", logs)
		}
	}
}

// TestOnlyFlows: other kinds fail at once, without a call.
func TestOnlyFlows(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	for _, d := range []queue.Delivery{
		{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "hi"},
		{ItemID: 2, Phone: "+919876543210", Kind: queue.KindImage, Media: &queue.Media{ID: 1}},
		{ItemID: 3, Phone: "+919876543210", Kind: queue.KindTemplate, Template: queue.Template{Name: "x", Language: "en"}},
		{ItemID: 4, Phone: "+919876543210", Kind: queue.KindFlow}, // no flow id
		{ItemID: 5, Phone: "12", Kind: queue.KindFlow, Flow: queue.Flow{ID: "f"}},
	} {
		wantClass(t, sendErr(b.client.Send(context.Background(), d)), queue.Permanent)
	}
	if logins, calls := b.fake.counts(); logins != 0 || calls != 0 {
		t.Fatalf("logins = %d, calls = %d", logins, calls)
	}
}

// TestFlowBodyTemplate: every placeholder, JSON-safe values, custom URL.
func TestFlowBodyTemplate(t *testing.T) {
	t.Parallel()
	b := setup(t, func(cr *shiprocket.Credentials) {
		cr.FlowURL = b0URL(cr.BaseURL) + "/elsewhere/flows/{{flow_id}}/trigger?to={{phone}}&ref={{item_id}}"
		cr.FlowBody = `{"mobile":"{{phone_national}}","cc":"{{country_code}}","wa":"{{phone_digits}}@c.us",
			"flow":{"id":"{{flow_id}}","vars":"{{variables}}"},"name":"{{var.name}}","missing":"{{var.nope}}",
			"note":"order {{var.order}} for {{var.name}}","all":"v={{variables}}","n":3,"tags":["{{item_id}}",true]}`
	})
	d := flow(42)
	d.Flow.Variables["name"] = `Asha", "admin": true, "x":"`
	if _, err := b.client.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	c := b.fake.flowCalls()[0]
	var got map[string]any
	dec := json.NewDecoder(bytes.NewReader(c.Raw))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"mobile": "9876543210", "cc": "91", "wa": "919876543210@c.us",
		"flow":    map[string]any{"id": "cod_confirm_v2", "vars": map[string]any{"name": `Asha", "admin": true, "x":"`, "order": "#1042"}},
		"name":    `Asha", "admin": true, "x":"`,
		"missing": "",
		"note":    `order #1042 for Asha", "admin": true, "x":"`,
		"all":     `v={"name":"Asha\", \"admin\": true, \"x\":\"","order":"#1042"}`,
		"n":       json.Number("3"), "tags": []any{"42", true},
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("body\n got %s\nwant %s", gj, wj)
	}
	if c.Path != "/elsewhere/flows/cod_confirm_v2/trigger" {
		t.Fatalf("path = %s", c.Path)
	}

	for name, mod := range map[string]func(cr *shiprocket.Credentials){
		"unknown placeholder": func(cr *shiprocket.Credentials) { cr.FlowBody = `{"x":"{{phon}}"}` },
		"invalid JSON":        func(cr *shiprocket.Credentials) { cr.FlowBody = `{"phone":{{phone}}}` },
		"no flow URL":         func(cr *shiprocket.Credentials) { cr.FlowURL = "" },
		"variables in URL":    func(cr *shiprocket.Credentials) { cr.FlowURL = "/x/{{variables}}" },
		"no password":         func(cr *shiprocket.Credentials) { cr.Password = "" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, mod)
			wantClass(t, sendErr(b.client.Send(context.Background(), flow(1))), queue.SenderBlocked)
			if _, calls := b.fake.counts(); calls != 0 {
				t.Fatal("a misconfigured gateway made a flow call")
			}
		})
	}
}

func b0URL(base string) string { return strings.TrimSuffix(base, "/v1/external") }

// TestQueryPlaceholders: values in a query string are escaped so "+"
// survives.
func TestQueryPlaceholders(t *testing.T) {
	t.Parallel()
	b := setup(t, func(cr *shiprocket.Credentials) {
		cr.FlowURL = "engage/flows/{{flow_id}}/trigger?to={{phone}}&ref={{item_id}}&n={{var.name}}"
	})
	d := flow(42)
	d.Flow.Variables["name"] = "A&B =C/D"
	if _, err := b.client.Send(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	q := b.fake.flowCalls()[0].Query
	if got := q.Get("to") + "|" + q.Get("ref") + "|" + q.Get("n"); got != "+919876543210|42|A&B =C/D" {
		t.Fatalf("query = %q", got)
	}
}

// TestAnswers: provider ids, the success predicate, static keys, MFA.
func TestAnswers(t *testing.T) {
	t.Parallel()
	answer := func(b *bundle, body string) {
		b.fake.set(func(f *fakeShiprocket) {
			f.flowHook = func(w http.ResponseWriter, _ flowCall) bool { writeJSON(w, http.StatusOK, body); return true }
		})
	}
	t.Run("id fields", func(t *testing.T) {
		t.Parallel()
		for body, want := range map[string]string{
			`{"id":"abc"}`: "abc", `{"message_id":12345}`: "12345", `{"data":{"id":"d1"}}`: "d1", `{"request_id":"r-9"}`: "r-9",
		} {
			b := setup(t, nil)
			answer(b, body)
			if id, err := b.client.Send(context.Background(), flow(1)); err != nil || id != want {
				t.Fatalf("%s → %q, %v; want %q", body, id, err, want)
			}
		}
		b := setup(t, nil)
		answer(b, ``)
		if id, err := b.client.Send(context.Background(), flow(77)); err != nil || !strings.HasPrefix(id, "shiprocket.77.") {
			t.Fatalf("empty answer → %q, %v", id, err)
		}
	})
	t.Run("success predicate", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			when, body string
			ok         bool
		}{
			{"success", `{"success":true}`, true},
			{"success", `{"success":false,"message":"flow is paused"}`, false},
			{"success", `{"ok":true}`, false},
			{"status=queued", `{"status":"queued"}`, true},
			{"status=queued", `{"status":"rejected"}`, false},
			{"data.accepted", `{"data":{"accepted":1}}`, true},
			{"data.accepted", `{"data":{"accepted":0}}`, false},
			{"success", `not json`, false},
		} {
			b := setup(t, func(cr *shiprocket.Credentials) { cr.SuccessWhen = tc.when })
			answer(b, tc.body)
			_, err := b.client.Send(context.Background(), flow(1))
			if tc.ok && err != nil {
				t.Fatalf("%s on %s: %v", tc.when, tc.body, err)
			}
			if !tc.ok {
				wantClass(t, err, queue.Permanent)
			}
		}
	})
	t.Run("static key", func(t *testing.T) {
		t.Parallel()
		b := setup(t, func(cr *shiprocket.Credentials) { cr.APIKey = "static-key-123456"; cr.Email, cr.Password = "", "" })
		answer(b, `{"id":"k1"}`)
		if id, err := b.client.Send(context.Background(), flow(1)); err != nil || id != "k1" {
			t.Fatalf("Send = %q, %v", id, err)
		}
		if c := b.fake.flowCalls()[0]; c.Auth != "Bearer static-key-123456" {
			t.Fatalf("auth = %q", c.Auth)
		}
		b.fake.set(func(f *fakeShiprocket) {
			f.flowHook = func(w http.ResponseWriter, c flowCall) bool {
				writeJSON(w, 401, `{"message":"bad key static-key-123456"}`)
				return true
			}
		})
		_, err := b.client.Send(context.Background(), flow(2))
		wantClass(t, err, queue.SenderBlocked)
		if strings.Contains(err.Error(), "static-key-123456") {
			t.Fatalf("error carries the key: %v", err)
		}
		if logins, calls := b.fake.counts(); logins != 0 || calls != 2 {
			t.Fatalf("logins = %d, calls = %d", logins, calls)
		}
	})
	t.Run("two-factor login", func(t *testing.T) {
		t.Parallel()
		b := setup(t, nil)
		b.fake.set(func(f *fakeShiprocket) {
			f.loginHook = func(w http.ResponseWriter) bool {
				writeJSON(w, 200, `{"is_mfa_enabled":true,"user_id":123,"is_subuser":false,"data":"OTP has been generated"}`)
				return true
			}
		})
		wantClass(t, sendErr(b.client.Send(context.Background(), flow(1))), queue.SenderBlocked)
	})
}
