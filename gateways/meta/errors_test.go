package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
)

const graphErrorSchema = "#/components/schemas/GraphAPIError"

// graphErrorBody is a Graph error as Meta sends it (§1.4).
func graphErrorBody(code, subcode int, msg string, transient bool) string {
	e := map[string]any{"message": msg, "type": "OAuthException", "code": code, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": "details are not used"}}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if transient {
		e["is_transient"] = true
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// Every code of providers.md §1.5 is classified on its code, end to end:
// the fake answers the send with that Graph error and HTTP status, and the
// client returns the class, the code and (for rate limits) the wait.
func TestErrorCodesEndToEnd(t *testing.T) {
	t.Parallel()
	s := optionalSpec(t)
	P, R, RL, SB := queue.Permanent, queue.Retry, queue.RateLimited, queue.SenderBlocked
	cases := []struct {
		code, http, subcode int
		class               queue.Class
		wait                time.Duration
		scope               queue.Scope // rate limits only
	}{
		{code: 0, http: 401, class: SB},
		{code: 190, http: 401, subcode: 463, class: SB},
		{code: 3, http: 500, class: P}, // a permission error, even with a 5xx
		{code: 10, http: 403, class: P},
		{code: 200, http: 403, class: P},
		{code: 250, http: 403, class: P},
		{code: 299, http: 403, class: P},
		{code: 4, http: 429, class: RL, wait: meta.CallLimitWait},
		{code: 80007, http: 429, subcode: 2446079, class: RL, wait: meta.CallLimitWait},
		{code: 130429, http: 429, subcode: 2494055, class: RL}, // no hint: the gateway slows down, no pause
		{code: 131056, http: 429, class: RL, wait: meta.PairWait, scope: queue.ScopeRecipient},
		{code: 131048, http: 429, class: SB},
		{code: 368, http: 403, class: SB},
		{code: 131031, http: 403, class: SB},
		{code: 130497, http: 403, class: P},
		{code: 100, http: 400, class: P},
		{code: 131008, http: 400, class: P},
		{code: 131009, http: 400, class: P},
		{code: 131026, http: 400, class: P},
		{code: 131047, http: 400, class: P},
		{code: 131049, http: 400, class: R},
		{code: 132000, http: 400, class: P},
		{code: 132001, http: 404, class: P},
		{code: 132005, http: 400, class: P},
		{code: 132007, http: 400, class: P},
		{code: 132012, http: 400, class: P},
		{code: 132015, http: 400, class: P},
		{code: 132016, http: 400, class: P},
		{code: 131051, http: 400, class: P},
		{code: 131052, http: 400, class: P},
		{code: 131053, http: 400, class: P},
		{code: 1, http: 400, class: R},
		{code: 2, http: 503, class: R},
		{code: 131000, http: 500, class: R},
		{code: 131016, http: 503, class: R},
		{code: 133004, http: 503, class: R},
		{code: 131057, http: 500, class: R},
		{code: 131030, http: 400, class: P},
		// Codes the table does not list fall back on is_transient and HTTP.
		{code: 999001, http: 500, class: R},
		{code: 999002, http: 503, class: R},
		{code: 999003, http: 429, class: RL},
		{code: 999004, http: 400, class: P},
		{code: 999005, http: 401, class: SB},
	}
	f := newFakeGraph(t)
	c := newClient(f, nil, nil, nil)
	d := queue.Delivery{Phone: "+919876543210", Kind: queue.KindText, Text: "Hi"}
	for _, tc := range cases {
		body := graphErrorBody(tc.code, tc.subcode, fmt.Sprintf("(#%d) error title", tc.code), false)
		if s != nil { // without the spec, classification is still tested
			if err := s.validate(t, graphErrorSchema, []byte(body)); err != nil {
				t.Fatalf("the fake's error body does not match the spec: %v", err)
			}
		}
		f.setFail(func(*http.Request) (int, http.Header, string, bool) { return tc.http, nil, body, true })
		_, err := c.Send(context.Background(), d)
		class, se := queue.ClassOf(err)
		if err == nil || se == nil {
			t.Errorf("code %d: err = %v, want a SendError", tc.code, err)
			continue
		}
		if class != tc.class || se.Code != strconv.Itoa(tc.code) {
			t.Errorf("code %d (HTTP %d): class %s code %q, want %s %q", tc.code, tc.http, class, se.Code, tc.class, strconv.Itoa(tc.code))
		}
		if class == queue.RateLimited && (se.RetryAfter != tc.wait || se.Scope != tc.scope) {
			t.Errorf("code %d: retry after %v for the %s, want %v for the %s", tc.code, se.RetryAfter, se.Scope, tc.wait, tc.scope)
		}
		if _, gw := queue.GatewayRateLimit(err); gw != (class == queue.RateLimited && tc.scope == queue.ScopeGateway) {
			t.Errorf("code %d: GatewayRateLimit = %v", tc.code, gw)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(tc.code)) || !strings.Contains(err.Error(), "error title") {
			t.Errorf("code %d: error text %q lacks the code or message", tc.code, err)
		}
	}
}

// Transport faults, 5xx without a Graph body, is_transient and the
// providers' wait headers.
func TestErrorFallbacksAndHints(t *testing.T) {
	t.Parallel()
	f := newFakeGraph(t)
	c := newClient(f, nil, nil, nil)
	d := queue.Delivery{Phone: "+919876543210", Kind: queue.KindText, Text: "Hi"}
	send := func(status int, h http.Header, body string) (queue.Class, *queue.SendError, error) {
		f.setFail(func(*http.Request) (int, http.Header, string, bool) { return status, h, body, true })
		_, err := c.Send(context.Background(), d)
		class, se := queue.ClassOf(err)
		return class, se, err
	}
	if class, _, err := send(502, nil, "<html>Bad Gateway</html>"); class != queue.Retry || strings.Contains(err.Error(), "html") {
		t.Errorf("502 html: %s %v", class, err)
	}
	if class, se, _ := send(429, nil, "slow down"); class != queue.RateLimited || se.RetryAfter != 0 || se.Scope != queue.ScopeGateway {
		t.Errorf("429 without body: %s %+v", class, se)
	}
	if class, _, _ := send(400, nil, graphErrorBody(999100, 0, "odd", true)); class != queue.Retry {
		t.Errorf("unknown transient code: %s", class)
	}
	if _, se, _ := send(429, http.Header{"Retry-After": {"7"}}, graphErrorBody(130429, 0, "Rate limit hit", false)); se.RetryAfter != 7*time.Second || se.Scope != queue.ScopeGateway {
		t.Errorf("130429 with Retry-After 7: wait %v for the %s", se.RetryAfter, se.Scope)
	}
	// Some proxies send Meta's 400 for 130429; the code decides.
	if class, se, _ := send(400, nil, graphErrorBody(130429, 2494055, "Rate limit hit", false)); class != queue.RateLimited || se.RetryAfter != 0 || se.Scope != queue.ScopeGateway {
		t.Errorf("130429 with HTTP 400: %s %+v", class, se)
	}
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	if _, se, _ := send(429, http.Header{"Retry-After": {date}}, graphErrorBody(130429, 0, "Rate limit hit", false)); se.RetryAfter < 58*time.Minute || se.RetryAfter > time.Hour {
		t.Errorf("Retry-After as an HTTP date: wait %v", se.RetryAfter)
	}
	// The pair limit keeps its scope with a hint.
	if _, se, _ := send(429, http.Header{"Retry-After": {"9"}}, graphErrorBody(131056, 0, "pair rate limit", false)); se.RetryAfter != 9*time.Second || se.Scope != queue.ScopeRecipient {
		t.Errorf("131056 with Retry-After 9: wait %v for the %s", se.RetryAfter, se.Scope)
	}
	usage := http.Header{"X-Business-Use-Case-Usage": {`{"123":[{"type":"whatsapp","call_count":100,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":3}]}`}}
	if _, se, _ := send(429, usage, graphErrorBody(80007, 2446079, "WABA rate limit", true)); se.RetryAfter != 3*time.Minute {
		t.Errorf("usage header: wait %v", se.RetryAfter)
	}
	f.setFail(nil)

	// Network faults and timeouts are retried.
	slow := newFakeGraph(t)
	slow.setFail(func(r *http.Request) (int, http.Header, string, bool) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return 500, nil, "", true
	})
	hc := slow.srv.Client()
	hc.Timeout = 50 * time.Millisecond
	sc := meta.New(meta.Options{Credentials: func(context.Context) (meta.Credentials, error) { return slow.creds(), nil }, HTTPClient: hc})
	_, err := sc.Send(context.Background(), d)
	if class, _ := queue.ClassOf(err); class != queue.Retry || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("timeout: %v (%s)", err, class)
	}
	if strings.Contains(err.Error(), slow.srv.URL) {
		t.Errorf("timeout error names the URL: %v", err)
	}
	dead := newFakeGraph(t)
	dead.srv.Close()
	dc := newClient(dead, nil, nil, nil)
	if _, err := dc.Send(context.Background(), d); err == nil {
		t.Error("a closed server accepted a send")
	} else if class, _ := queue.ClassOf(err); class != queue.Retry {
		t.Errorf("connection refused: %v (%s)", err, class)
	}

	// A credentials store that fails is a passing fault.
	bc := meta.New(meta.Options{Credentials: func(context.Context) (meta.Credentials, error) {
		return meta.Credentials{}, errors.New("database is locked")
	}})
	if _, err := bc.Send(context.Background(), d); err == nil {
		t.Error("sent without credentials")
	} else if class, _ := queue.ClassOf(err); class != queue.Retry {
		t.Errorf("credentials error: %s", class)
	}
}

// A token planted in Meta's error (the message, a URL with access_token=…,
// the user message) shows neither in the returned error nor in any log
// line, and the raw response body is never echoed.
func TestErrorsAndLogsHideSecrets(t *testing.T) {
	t.Parallel()
	// Neither token looks like a Meta token, so only the client's own
	// knowledge of its credentials can hide them.
	const token = "sk_live_notAnEAAtoken_8f3a9c"
	const secret = "shh-app-secret-2c1d"
	f := newFakeGraph(t)
	f.token = token
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	creds := f.creds()
	creds.AccessToken, creds.AppSecret = token, secret
	c := newClient(f, newMemCache(), logger, func() meta.Credentials { return creds })
	planted := fmt.Sprintf(`{"error":{"message":"Invalid token %[1]s; retry at https://graph.facebook.com/v23.0/me?access_token=%[1]s&appsecret_proof=%[2]s",`+
		`"type":"OAuthException","code":190,"error_subcode":463,"error_user_title":"Bearer %[1]s",`+
		`"error_user_msg":"token %[1]s","error_data":{"details":"RAW-BODY-MARKER %[1]s"},"fbtrace_id":"TRACE-MARKER"}}`, token, secret)
	f.setFail(func(*http.Request) (int, http.Header, string, bool) { return 401, nil, planted, true })

	var errs []error
	for _, d := range []queue.Delivery{
		{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "Hi"},
		{ItemID: 2, Phone: "+919876543210", Kind: queue.KindImage, Media: testImage(5)}, // fails at upload
	} {
		_, err := c.Send(context.Background(), d)
		if err == nil {
			t.Fatal("send succeeded")
		}
		errs = append(errs, err)
	}
	for _, err := range errs {
		msg := err.Error()
		t.Logf("error text: %s", msg)
		for _, bad := range []string{token, secret, "RAW-BODY-MARKER", "TRACE-MARKER", "access_token=sk", "appsecret_proof=", "Authorization"} {
			if strings.Contains(msg, bad) {
				t.Errorf("error text contains %q: %s", bad, msg)
			}
		}
		if !strings.Contains(msg, "190") {
			t.Errorf("error text lost the code: %s", msg)
		}
		if len(msg) > queue.MaxErrorLen+64 {
			t.Errorf("error text is %d bytes", len(msg))
		}
		if class, _ := queue.ClassOf(err); class != queue.SenderBlocked {
			t.Errorf("class %s, want sender_blocked", class)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	for _, bad := range []string{token, secret, "RAW-BODY-MARKER", "TRACE-MARKER", "919876543210"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("logs contain %q:\n%s", bad, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "component=gateways.meta") {
		t.Errorf("logs lack the component: %s", logs.String())
	}
}
