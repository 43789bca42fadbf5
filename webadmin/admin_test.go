package webadmin_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
	"github.com/messagebridge/messagebridge/webadmin"
)

const (
	adminUser = "asha"
	adminPass = "correct horse battery"
)

// site is the admin page over a real operations layer on SQLite, with
// one admin account.
type site struct {
	h   http.Handler
	db  *store.DB
	ops *ops.Service
	srv *httptest.Server
}

func newSite(t *testing.T) *site {
	t.Helper()
	return newSiteWith(t, nil, nil)
}

// newSiteWith is newSite with the dependencies adjusted by with.
func newSiteWith(t *testing.T, withOps func(*ops.Config), with func(*webadmin.Deps)) *site {
	t.Helper()
	db := storetest.OpenSQLite(t, storetest.Options{})
	names := []string{"dryrun", meta.Name, whapi.Name}
	reg, err := settings.NewRegistry(ops.SettingDefs(names), queue.SettingDefs(), meta.SettingDefs(), whapi.SettingDefs(), library.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	caps := queue.Capabilities{Text: true, Media: true, Templates: true}
	cfg := ops.Config{Gateways: []ops.Gateway{{Name: "dryrun", Caps: caps}, {Name: meta.Name, Caps: caps}, {Name: whapi.Name, Caps: caps}}}
	if withOps != nil {
		withOps(&cfg)
	}
	svc := ops.New(db, r, cfg, nil)
	if _, err := svc.CreateAdmin(context.Background(), ops.Actor{Identity: "cli:test", Role: ops.RoleAdmin}, adminUser, adminPass); err != nil {
		t.Fatal(err)
	}
	s := &site{db: db, ops: svc}
	deps := webadmin.Deps{DB: db, Ops: svc}
	if with != nil {
		with(&deps)
	}
	s.h = webadmin.New(deps)
	s.srv = httptest.NewServer(s.h)
	t.Cleanup(s.srv.Close)
	return s
}

// client is a browser without redirects followed, so tests see them.
func (s *site) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// signedIn is a client with a session.
func (s *site) signedIn(t *testing.T) *http.Client {
	t.Helper()
	c := s.client(t)
	res := s.post(t, c, "/admin/login", url.Values{"username": {adminUser}, "password": {adminPass}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", res.StatusCode)
	}
	return c
}

func (s *site) post(t *testing.T, c *http.Client, path string, form url.Values) *http.Response {
	t.Helper()
	res, _ := s.postRead(t, c, path, form)
	return res
}

// postRead posts form as the page itself would and returns the answer with
// its body, unescaped.
func (s *site) postRead(t *testing.T, c *http.Client, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// What a browser sends for a form on the page itself.
	req.Header.Set("Origin", s.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, html.UnescapeString(string(b))
}

func (s *site) get(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	res, err := c.Get(s.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	// What a person reads: entities decoded.
	return res.StatusCode, html.UnescapeString(string(b))
}

// adminRoutes lists every route under /admin/ with its method, with URL
// parameters filled in.
func adminRoutes(t *testing.T, h http.Handler) [][2]string {
	t.Helper()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("the handler is a %T, not a chi router", h)
	}
	fill := strings.NewReplacer("{id}", "1", "{name}", "whapi", "{action}", "pause", "*", "x")
	var out [][2]string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/admin/") {
			out = append(out, [2]string{method, fill.Replace(route)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryAdminRouteNeedsSignIn(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	routes := adminRoutes(t, s.h)
	if len(routes) < 30 {
		t.Fatalf("only %d admin routes found: %v", len(routes), routes)
	}
	for _, rt := range routes {
		method, path := rt[0], rt[1]
		switch {
		case path == "/admin/login":
			continue
		case strings.HasPrefix(path, "/admin/static/"):
			// The stylesheet and script of the login page itself.
			continue
		}
		t.Run(method+" "+path, func(t *testing.T) {
			req := httptest.NewRequest(method, path, strings.NewReader("username=x&password=y&token=z"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			s.h.ServeHTTP(rec, req)
			loc := rec.Header().Get("Location")
			if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/login") {
				t.Fatalf("%s %s without a session: %d Location %q, want 303 to /admin/login", method, path, rec.Code, loc)
			}
		})
	}
	// A forged or expired cookie is no better than none.
	req := httptest.NewRequest(http.MethodGet, "/admin/settings", nil)
	req.AddCookie(&http.Cookie{Name: "mb_session", Value: "forged"})
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("forged cookie: %d", rec.Code)
	}
}

func TestSignInSignOut(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client(t)
	res := s.post(t, c, "/admin/login", url.Values{"username": {adminUser}, "password": {adminPass}, "next": {"/admin/operators"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/operators" {
		t.Fatalf("login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "mb_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", cookie)
	}
	if code, body := s.get(t, c, "/admin/"); code != http.StatusOK || !strings.Contains(body, "Dashboard") {
		t.Fatalf("dashboard: %d", code)
	}
	// An open redirect through next is not followed.
	res = s.post(t, s.client(t), "/admin/login", url.Values{"username": {adminUser}, "password": {adminPass}, "next": {"//evil.example/admin/"}})
	if loc := res.Header.Get("Location"); loc != "/admin/" {
		t.Fatalf("next=//evil.example: redirected to %q", loc)
	}
	s.post(t, c, "/admin/logout", nil)
	if code, _ := s.get(t, c, "/admin/"); code != http.StatusSeeOther {
		t.Fatalf("after logout the dashboard answers %d", code)
	}
	// The old token is dead on the server, not only in this browser.
	req := httptest.NewRequest(http.MethodGet, "/admin/", nil)
	req.AddCookie(&http.Cookie{Name: "mb_session", Value: cookie.Value})
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("old session after logout: %d", rec.Code)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.signedIn(t)
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/settings", strings.NewReader("s:queue.max_attempts=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-origin POST with %v: %d, want 403", h, res.StatusCode)
		}
	}
	if v, _ := s.ops.Setting(context.Background(), queue.SettingMaxAttempts); v.Value != "5" {
		t.Fatalf("a refused POST changed max attempts to %s", v.Value)
	}
	// The login form itself cannot be posted from elsewhere either.
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader("username=asha&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site login POST: %d", rec.Code)
	}
	// The same change from the page itself goes through.
	if res := s.post(t, c, "/admin/settings", url.Values{"s:queue.max_attempts": {"3"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin POST: %d", res.StatusCode)
	}
	if v, _ := s.ops.Setting(context.Background(), queue.SettingMaxAttempts); v.Value != "3" {
		t.Fatalf("max attempts = %s after the page set 3", v.Value)
	}
}

func login(h http.Handler, ip, user, pass string) int {
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"username": {user}, "password": {pass}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestSixthFailedLoginGets429(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for i := 1; i <= 5; i++ {
		if code := login(s.h, "203.0.113.7", adminUser, "wrong password"); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, code)
		}
	}
	if code := login(s.h, "203.0.113.7", adminUser, "wrong password"); code != http.StatusTooManyRequests {
		t.Fatalf("6th failure: %d, want 429", code)
	}
	// Throttled means throttled: the right password waits too.
	if code := login(s.h, "203.0.113.7", adminUser, adminPass); code != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d, want 429", code)
	}
	// Per user: the same account from another address.
	if code := login(s.h, "198.51.100.9", adminUser, adminPass); code != http.StatusTooManyRequests {
		t.Fatalf("throttled user from another address: %d, want 429", code)
	}
	// Per address: another account from the same address.
	if code := login(s.h, "203.0.113.7", "ravi", "whatever123"); code != http.StatusTooManyRequests {
		t.Fatalf("another user from a throttled address: %d, want 429", code)
	}
	// Others are not affected.
	if code := login(s.h, "198.51.100.10", "ravi", "whatever123"); code != http.StatusUnauthorized {
		t.Fatalf("unrelated failure: %d, want 401", code)
	}
}

func TestNoPageShowsASecret(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.signedIn(t)
	secrets := map[string]string{
		"whapi.token":          "whapi-Tok3n-Sekrit-0001",
		"whapi.webhook_secret": "hook-Sekrit-value-0002",
		"meta.access_token":    "EAAGm0PX4ZCpsBA-Sekrit-0003",
		"meta.app_secret":      "app-Sekrit-value-0004",
		"s3.secret_key":        "s3-Sekrit-value-0005",
	}
	for key, v := range secrets {
		gw, _, _ := strings.Cut(key, ".")
		path := "/admin/gateways/" + gw + "/credentials"
		if gw == "s3" {
			path = "/admin/settings"
		}
		if res := s.post(t, c, path, url.Values{"s:" + key: {v}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("save %s: %d", key, res.StatusCode)
		}
	}
	// Saved, sealed, and shown masked.
	code, body := s.get(t, c, "/admin/gateways")
	if code != http.StatusOK || !strings.Contains(body, "saved: ••••0001") {
		t.Fatalf("gateways page does not show the WHAPI token masked (%d):\n%s", code, body)
	}
	// A form posted without a secret keeps it: secrets are write-only.
	if res := s.post(t, c, "/admin/gateways/whapi/credentials", url.Values{"s:whapi.token": {""}, "s:whapi.base_url": {"https://gate.whapi.cloud"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save without token: %d", res.StatusCode)
	}
	if _, body := s.get(t, c, "/admin/gateways"); !strings.Contains(body, "saved: ••••0001") {
		t.Fatal("posting the form with an empty token field removed the token")
	}
	var pages []string
	for _, rt := range adminRoutes(t, s.h) {
		if rt[0] == http.MethodGet && !strings.Contains(rt[1], "static") && !strings.HasSuffix(rt[1], ".png") {
			pages = append(pages, rt[1])
		}
	}
	pages = append(pages, "/admin/audit?action=setting")
	for _, p := range pages {
		if p == "/admin/login" || p == "/admin/setup" || p == "/admin/messages/preview" {
			continue // a signed-in admin is sent on from these; the preview needs a message
		}
		code, body := s.get(t, c, p)
		if code != http.StatusOK {
			t.Errorf("%s: %d, want the page", p, code)
		}
		for key, v := range secrets {
			if strings.Contains(body, v) || strings.Contains(body, v[:len(v)-4]) {
				t.Errorf("%s shows the value of %s", p, key)
			}
		}
	}
	// Removing a secret needs the box ticked.
	if res := s.post(t, c, "/admin/gateways/whapi/credentials", url.Values{"clear:whapi.token": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear token: %d", res.StatusCode)
	}
	if _, body := s.get(t, c, "/admin/gateways"); strings.Contains(body, "saved: ••••0001") {
		t.Fatal("the token is still shown after it was removed")
	}
}

func TestSettingsFormRefusesBadValuesAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.signedIn(t)
	form := url.Values{"s:queue.max_attempts": {"0"}, "s:queue.retry_base": {"45s"}}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/settings", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad value: %d, want 422", res.StatusCode)
	}
	if !strings.Contains(string(body), "queue.max_attempts") || !strings.Contains(string(body), "Saved: queue.retry_base") {
		t.Fatalf("the page does not say what was refused and what was saved:\n%s", body)
	}
	ctx := context.Background()
	if v, _ := s.ops.Setting(ctx, queue.SettingMaxAttempts); v.Value != "5" {
		t.Fatalf("max attempts = %s", v.Value)
	}
	if v, _ := s.ops.Setting(ctx, queue.SettingRetryBase); v.Value != "45s" {
		t.Fatalf("retry base = %s", v.Value)
	}
	// The change is audited with the web admin's name.
	log, err := s.ops.AuditPage(ctx, ops.WebActor(adminUser), ops.AuditFilter{Actor: "web:" + adminUser, Action: "setting"})
	if err != nil || len(log) == 0 {
		t.Fatalf("audit of web setting changes: %v %v", log, err)
	}
}

func TestOperatorsPageAddsAndRemoves(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.signedIn(t)
	if res := s.post(t, c, "/admin/operators", url.Values{"identity": {"whatsapp:98765 43210"}, "role": {"operator"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", res.StatusCode)
	}
	op, err := s.ops.Operator(context.Background(), "whatsapp:+919876543210")
	if err != nil || op.Role != ops.RoleOperator {
		t.Fatalf("operator after adding: %+v %v", op, err)
	}
	if _, body := s.get(t, c, "/admin/operators"); !strings.Contains(body, "whatsapp:+919876543210") {
		t.Fatalf("the list does not show the new operator:\n%s", body)
	}
	if res := s.post(t, c, "/admin/operators", url.Values{"identity": {"telegram:abc"}, "role": {"staff"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("bad identity: %d", res.StatusCode)
	}
	if _, body := s.get(t, c, "/admin/operators"); !strings.Contains(body, "numeric user id") {
		t.Fatal("a bad identity does not get a clear message")
	}
	if res := s.post(t, c, "/admin/operators/remove", url.Values{"identity": {"whatsapp:+919876543210"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	if _, err := s.ops.Operator(context.Background(), "whatsapp:+919876543210"); err == nil {
		t.Fatal("the operator is still there")
	}
}

func TestCatalogPageSavesNamedTemplates(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.signedIn(t)
	form := url.Values{"kind": {"template"}, "name": {"Order Ready"}, "external_id": {"order_ready_v2"}, "language": {"en_US"}, "params": {"2"}}
	if res := s.post(t, c, "/admin/catalog", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", res.StatusCode)
	}
	e, err := s.ops.CatalogEntry(context.Background(), ops.CatalogTemplate, "order ready")
	if err != nil || e.ExternalID != "order_ready_v2" || e.Params != 2 {
		t.Fatalf("entry: %+v %v", e, err)
	}
	if _, body := s.get(t, c, "/admin/catalog"); !strings.Contains(body, "order_ready_v2") {
		t.Fatal("the list does not show the template")
	}
}

func TestChangingOwnPasswordKeepsYouSignedIn(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.signedIn(t)
	other := s.signedIn(t)
	const next = "a new, longer passphrase"
	if res := s.post(t, c, "/admin/accounts/password", url.Values{"username": {adminUser}, "password": {next}, "confirm": {next}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change password: %d", res.StatusCode)
	}
	if code, _ := s.get(t, c, "/admin/accounts"); code != http.StatusOK {
		t.Fatalf("the admin who changed the password was signed out: %d", code)
	}
	if code, _ := s.get(t, other, "/admin/accounts"); code != http.StatusSeeOther {
		t.Fatalf("another session of the account survived the password change: %d", code)
	}
	if code := login(s.h, "192.0.2.1", adminUser, adminPass); code != http.StatusUnauthorized {
		t.Fatalf("the old password still works: %d", code)
	}
}

// Guesses sent all at once are counted before the password is checked:
// no more than the limit get an answer other than 429.
func TestParallelGuessesAreThrottledToo(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	codes := make(chan int, 40)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- login(s.h, "203.0.113.50", adminUser, "guess number "+strconv.Itoa(i))
		}()
	}
	wg.Wait()
	close(codes)
	tried := 0
	for c := range codes {
		if c != http.StatusTooManyRequests {
			tried++
		}
	}
	if tried > 5 {
		t.Fatalf("%d of 40 parallel guesses were checked, want at most 5", tried)
	}
}

// Behind a trusted proxy the client's address comes from X-Forwarded-For:
// one client's failures do not throttle another behind the same proxy.
func TestTrustedProxyCountsClientsApart(t *testing.T) {
	t.Parallel()
	s := newSiteWith(t, nil, func(d *webadmin.Deps) { d.TrustProxy = true })
	viaProxy := func(client, user, pass string) int {
		req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(url.Values{"username": {user}, "password": {pass}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "10.9.9.9, "+client)
		req.RemoteAddr = "127.0.0.1:50000"
		rec := httptest.NewRecorder()
		s.h.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := 0; i < 5; i++ {
		viaProxy("198.51.100.1", "mallory", "wrong password")
	}
	if code := viaProxy("198.51.100.1", "mallory", "wrong password"); code != http.StatusTooManyRequests {
		t.Fatalf("6th failure from one client behind the proxy: %d", code)
	}
	if code := viaProxy("198.51.100.2", adminUser, adminPass); code != http.StatusSeeOther {
		t.Fatalf("another client behind the same proxy: %d, want to sign in", code)
	}
}

func TestStaticFilesAreNotListed(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for _, p := range []string{"/admin/static/", "/admin/static/../templates/login.html"} {
		if code, _ := s.get(t, s.client(t), p); code == http.StatusOK {
			t.Errorf("%s: 200", p)
		}
	}
	if code, body := s.get(t, s.client(t), "/admin/static/style.css"); code != http.StatusOK || !strings.Contains(body, "font") {
		t.Errorf("style.css: %d", code)
	}
}
