// Package shiprocket triggers WhatsApp flows through Shiprocket.
//
// Shiprocket documents only its login, so the gateway does two things:
//
//  1. Login, as documented: POST {BaseURL}/auth/login with
//     {"email": Email, "password": Password} returns {"token": "<JWT>"}.
//     The JWT is cached for its 10-day (240 h) life, or until the "exp" claim
//     the token carries if that is sooner, and shared by concurrent sends; a
//     401 or 403 from the flow call logs in again once and repeats the call.
//     Email and Password belong to an API user (Shiprocket panel: Settings →
//     API → Add New API User), not the panel login. Accounts with two-factor
//     login are not supported.
//  2. The flow trigger, which Shiprocket does not document publicly, as a
//     configurable call: POST FlowURL with a JSON body built from FlowBody
//     (default DefaultFlowBody) and "Authorization: Bearer <JWT>" (or
//     Bearer APIKey when a static key is set, with no login). Any 2xx is
//     success unless SuccessWhen says otherwise.
//
// Settings (Credentials):
//
//	Email, Password  API user's login (Password is secret)
//	BaseURL          auth base, default https://apiv2.shiprocket.in/v1/external
//	FlowURL          the flow-trigger endpoint: a full URL, or a path under
//	                 BaseURL; may hold {{flow_id}}, {{phone}}, … (URL-escaped).
//	                 Required: no public default exists.
//	FlowBody         JSON body template, default DefaultFlowBody
//	APIKey           optional static key (secret): sent as Bearer, no login
//	SuccessWhen      optional predicate on the 2xx JSON answer: "field" (dot
//	                 path) must be true, a non-zero number or a non-empty
//	                 string other than "false"/"0"; "field=value" must equal
//	                 value. Empty: any 2xx is success.
//
// Placeholders, in FlowBody strings and in FlowURL:
//
//	{{phone}}           E.164 with "+", "+919876543210"
//	{{phone_digits}}    E.164 digits without "+", "919876543210"
//	{{phone_national}}  national number, "9876543210"
//	{{country_code}}    country calling code, "91"
//	{{flow_id}}         the item's flow id
//	{{item_id}}         the queue item id (a reference for idempotency)
//	{{var.NAME}}        one flow variable ("" when unset)
//	{{variables}}       all flow variables: a JSON object when it is a whole
//	                    string value ("{{variables}}"), else its JSON text
//
// A string that is exactly one placeholder is replaced by its value; other
// strings have placeholders replaced inside them. Values are inserted as
// JSON values, never spliced into the JSON text, so they cannot change the
// body's shape. The provider's message id is read from the answer's "id",
// "message_id", "request_id", "data.id" or "data.message_id"; without one a
// local id is made up.
//
// Errors: login refused (401/403 or any other 4xx, or two-factor login) and
// a flow call still refused with 401/403 after the re-login block the
// sender; 429 is rate limited (Retry-After when given, else 30 s); 5xx and
// network failures are retried; other 4xx and a failed SuccessWhen fail the
// item. Only flows are sent: other kinds fail at once.
package shiprocket

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/words"
)

// Name is the gateway's name in settings and on queue items.
const Name = "shiprocket"

// DefaultBaseURL is Shiprocket's documented API base; login is
// {BaseURL}/auth/login.
const DefaultBaseURL = "https://apiv2.shiprocket.in/v1/external"

// DefaultFlowBody is the flow-trigger body when FlowBody is empty.
const DefaultFlowBody = `{"phone":"{{phone}}","flow_id":"{{flow_id}}","variables":"{{variables}}"}`

// TokenTTL is the documented life of a login token.
const TokenTTL = 240 * time.Hour

// DefaultRateLimitWait is the wait after a 429 without Retry-After, for
// the whole gateway; Shiprocket publishes neither a limit nor a retry
// hint, and a quota refused once is likely refused for a while.
const DefaultRateLimitWait = 30 * time.Second

// tokenMargin renews a token this long before it runs out.
const tokenMargin = 5 * time.Minute

// loginFailHold is how long a refused login is remembered, so concurrent
// sends share one refusal instead of each trying the wrong password.
const loginFailHold = 30 * time.Second

// maxResponse bounds how much of a provider response is read.
const maxResponse = 1 << 20

var _ queue.Sender = (*Client)(nil)

// Credentials are the Shiprocket settings, read on every send so that an
// admin's change takes effect at once. See the package doc.
type Credentials struct {
	// Email is the API user's email.
	Email string
	// Password is the API user's password (secret).
	Password string
	// BaseURL is the auth base (default DefaultBaseURL).
	BaseURL string
	// FlowURL is the flow-trigger endpoint: a full URL or a path under
	// BaseURL, with optional placeholders. Required.
	FlowURL string
	// FlowBody is the JSON body template (default DefaultFlowBody).
	FlowBody string
	// APIKey, when set, is a static key sent as Bearer instead of a login
	// token (secret).
	APIKey string
	// SuccessWhen is an optional success predicate on the 2xx answer:
	// "field" or "field=value", field a dot path.
	SuccessWhen string
	// Secrets are the values of every other secret setting (CredentialsFrom
	// fills them in), redacted from provider text like the two above.
	Secrets []string
}

// Options configure the client.
type Options struct {
	// Credentials returns the current settings; required.
	Credentials func(ctx context.Context) (Credentials, error)
	// HTTPClient makes the calls (default: a client with a 30s timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock for token expiry (default time.Now).
	Now func() time.Time
}

// Client is the Shiprocket gateway. It is safe for concurrent use.
type Client struct {
	creds func(ctx context.Context) (Credentials, error)
	http  *http.Client
	log   *slog.Logger
	now   func() time.Time

	// login holds one token slot: a send that needs a login takes it, so
	// concurrent sends wait for that login and share its token.
	login chan struct{}
	tok   cachedToken  // guarded by login
	fail  loginFailure // guarded by login
}

type cachedToken struct {
	value   string
	key     [32]byte // fingerprint of the credentials it was issued for
	expires time.Time
}

type loginFailure struct {
	key   [32]byte
	until time.Time
	err   error
}

// New returns a Shiprocket client.
func New(o Options) *Client {
	c := &Client{creds: o.Credentials, http: o.HTTPClient, log: o.Logger, now: o.Now, login: make(chan struct{}, 1)}
	if c.creds == nil {
		c.creds = func(context.Context) (Credentials, error) {
			return Credentials{}, errors.New("no credentials configured")
		}
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "gateways.shiprocket")
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// ErrUnsupported is the cause of sends other than flows.
var ErrUnsupported = errors.New("shiprocket sends only flows (by saved flow id); text, media and templates need another gateway")

// Send implements queue.Sender: it triggers the item's flow for its phone.
func (c *Client) Send(ctx context.Context, d queue.Delivery) (string, error) {
	if d.Kind != queue.KindFlow {
		return "", queue.Classify(queue.Permanent, "", fmt.Errorf("%w (this item is a %s)", ErrUnsupported, d.Kind))
	}
	if strings.TrimSpace(d.Flow.ID) == "" {
		return "", queue.Classify(queue.Permanent, "", errors.New("shiprocket: flow item has no flow id"))
	}
	cr, err := c.credentials(ctx)
	if err != nil {
		return "", err
	}
	v, err := newValues(d)
	if err != nil {
		return "", queue.Classify(queue.Permanent, "", err)
	}
	target, err := flowURL(cr, v)
	if err != nil {
		return "", queue.Classify(queue.SenderBlocked, "", err)
	}
	body, err := flowBody(cr.FlowBody, v)
	if err != nil {
		return "", queue.Classify(queue.SenderBlocked, "", err)
	}

	tok, err := c.token(ctx, cr, "")
	if err != nil {
		return "", err
	}
	used := []string{tok}
	res, err := c.call(ctx, cr, target, body, tok, used...)
	if err != nil {
		return "", err
	}
	if (res.status == http.StatusUnauthorized || res.status == http.StatusForbidden) && cr.APIKey == "" {
		c.log.Info("flow call refused the login token; logging in again", "status", res.status)
		if tok, err = c.token(ctx, cr, tok); err != nil {
			return "", err
		}
		used = append(used, tok)
		if res, err = c.call(ctx, cr, target, body, tok, used...); err != nil {
			return "", err
		}
	}
	id, err := c.result(cr, d, res, used...)
	if err != nil {
		class, _ := queue.ClassOf(err)
		c.log.Debug("flow trigger failed", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "flow_id", d.Flow.ID, "class", class.String(), "err", err.Error())
		return "", err
	}
	c.log.Debug("flow triggered", "item", d.ItemID, "phone", gateways.MaskPhone(d.Phone), "flow_id", d.Flow.ID, "provider_id", id)
	return id, nil
}

// credentials reads and checks the settings. Missing or broken settings
// cannot work until an admin fixes them, so they block the sender.
func (c *Client) credentials(ctx context.Context) (Credentials, error) {
	cr, err := c.creds(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return Credentials{}, queue.Classify(queue.Retry, "", ctx.Err())
		}
		return Credentials{}, queue.Classify(queue.SenderBlocked, "", fmt.Errorf("shiprocket: read credentials: %s", queue.SanitizeError(err.Error())))
	}
	if cr.BaseURL == "" {
		cr.BaseURL = DefaultBaseURL
	}
	cr.BaseURL = strings.TrimRight(cr.BaseURL, "/")
	if strings.TrimSpace(cr.FlowBody) == "" {
		cr.FlowBody = DefaultFlowBody
	}
	if p := cr.notReady(); p != "" {
		return Credentials{}, gateways.NotReady(p)
	}
	return cr, nil
}

// fingerprint identifies the login a token belongs to without keeping the
// password in the cache.
func fingerprint(cr Credentials) [32]byte {
	return sha256.Sum256([]byte(cr.BaseURL + "\x00" + cr.Email + "\x00" + cr.Password))
}

// token returns a valid login token, logging in when there is none for
// these credentials, it has expired, or it is stale (the flow call just
// refused it). Concurrent callers share one login.
func (c *Client) token(ctx context.Context, cr Credentials, stale string) (string, error) {
	if cr.APIKey != "" {
		return cr.APIKey, nil
	}
	select {
	case c.login <- struct{}{}:
	case <-ctx.Done():
		return "", queue.Classify(queue.Retry, "", ctx.Err())
	}
	defer func() { <-c.login }()
	key, now := fingerprint(cr), c.now()
	if c.tok.value != "" && c.tok.key == key && c.tok.value != stale && now.Before(c.tok.expires) {
		return c.tok.value, nil
	}
	if c.fail.err != nil && c.fail.key == key && now.Before(c.fail.until) {
		return "", c.fail.err
	}
	tok, expires, err := c.doLogin(ctx, cr)
	if err != nil {
		c.tok = cachedToken{}
		if class, _ := queue.ClassOf(err); class == queue.SenderBlocked {
			c.fail = loginFailure{key: key, until: now.Add(loginFailHold), err: err}
		}
		c.log.Warn("login failed", "err", err.Error())
		return "", err
	}
	c.tok, c.fail = cachedToken{value: tok, key: key, expires: expires}, loginFailure{}
	c.log.Info("logged in", "expires_at", expires.UTC().Format(time.RFC3339))
	return tok, nil
}

type loginResponse struct {
	Token        string `json:"token"`
	IsMFAEnabled bool   `json:"is_mfa_enabled"`
}

func (c *Client) doLogin(ctx context.Context, cr Credentials) (string, time.Time, error) {
	body, err := json.Marshal(map[string]string{"email": cr.Email, "password": cr.Password})
	if err != nil {
		return "", time.Time{}, err
	}
	res, err := c.call(ctx, cr, cr.BaseURL+"/auth/login", body, "")
	if err != nil {
		return "", time.Time{}, err
	}
	switch s := res.status; {
	case s >= 200 && s < 300:
	case s == http.StatusTooManyRequests:
		return "", time.Time{}, c.rateLimited("shiprocket login", cr, res)
	case s >= 500, s == http.StatusRequestTimeout:
		return "", time.Time{}, queue.Classify(queue.Retry, strconv.Itoa(s), c.statusErr("shiprocket login", cr, res))
	case s >= 400:
		// 401/403 are bad credentials; any other refusal of a login will
		// not pass either until an admin changes the settings.
		return "", time.Time{}, queue.Classify(queue.SenderBlocked, strconv.Itoa(s),
			fmt.Errorf("%w; check the API user's email and password", c.statusErr("shiprocket login refused", cr, res)))
	default:
		return "", time.Time{}, queue.Classify(queue.Retry, strconv.Itoa(s), c.statusErr("shiprocket login", cr, res))
	}
	var lr loginResponse
	if err := json.Unmarshal(res.body, &lr); err != nil {
		return "", time.Time{}, queue.Classify(queue.Retry, "", fmt.Errorf("shiprocket login: HTTP %d with an answer that is not JSON", res.status))
	}
	if lr.Token == "" && lr.IsMFAEnabled {
		return "", time.Time{}, queue.Classify(queue.SenderBlocked, "",
			errors.New("shiprocket login: the API user has two-factor login enabled, which this gateway cannot complete; use an API user without it"))
	}
	if lr.Token == "" {
		return "", time.Time{}, queue.Classify(queue.Retry, "", fmt.Errorf("shiprocket login: HTTP %d without a token", res.status))
	}
	now := c.now()
	expires := now.Add(TokenTTL)
	if exp, ok := jwtExpiry(lr.Token); ok && exp.Before(expires) {
		expires = exp
	}
	expires = expires.Add(-tokenMargin)
	if expires.Before(now) {
		expires = now // usable for this call only
	}
	return lr.Token, expires, nil
}

// jwtExpiry reads a JWT's "exp" claim, unverified: it only tells when to
// log in again.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	sec, err := claims.Exp.Float64()
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), 0), true
}

// response is a read HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call POSTs JSON; auth, when set, goes as a Bearer token. Only transport
// failures are errors.
func (c *Client) call(ctx context.Context, cr Credentials, target string, body []byte, auth string, tokens ...string) (response, error) {
	tokens = append(tokens, auth)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return response{}, queue.Classify(queue.SenderBlocked, "", fmt.Errorf("shiprocket: bad URL: %s", scrub(err.Error(), cr, tokens...)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, queue.Classify(queue.Retry, "", ctx.Err())
		}
		return response{}, queue.Classify(queue.Retry, "", fmt.Errorf("shiprocket: %s", scrub(err.Error(), cr, tokens...)))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode < 300 {
		return response{}, queue.Classify(queue.Retry, "", fmt.Errorf("shiprocket: read answer: %s", scrub(err.Error(), cr, tokens...)))
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// result turns the flow call's answer into the provider id or a
// classified error.
func (c *Client) result(cr Credentials, d queue.Delivery, res response, tokens ...string) (string, error) {
	const what = "shiprocket flow trigger"
	code := strconv.Itoa(res.status)
	switch s := res.status; {
	case s >= 200 && s < 300:
	case s == http.StatusUnauthorized, s == http.StatusForbidden:
		hint := "after logging in again"
		if cr.APIKey != "" {
			hint = "with the static API key"
		}
		return "", queue.Classify(queue.SenderBlocked, code, fmt.Errorf("%w (refused %s)", c.statusErr(what, cr, res, tokens...), hint))
	case s == http.StatusTooManyRequests:
		return "", c.rateLimited(what, cr, res, tokens...)
	case s >= 500, s == http.StatusRequestTimeout:
		return "", queue.Classify(queue.Retry, code, c.statusErr(what, cr, res, tokens...))
	case s >= 400:
		return "", queue.Classify(queue.Permanent, code, c.statusErr(what, cr, res, tokens...))
	default:
		return "", queue.Classify(queue.Retry, code, c.statusErr(what, cr, res, tokens...))
	}
	var doc any
	parsed := false
	if len(bytes.TrimSpace(res.body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(res.body))
		dec.UseNumber()
		parsed = dec.Decode(&doc) == nil
	}
	if cr.SuccessWhen != "" {
		if !parsed {
			return "", queue.Classify(queue.Permanent, code, fmt.Errorf("%s: HTTP %d but the answer is not JSON, so %q cannot be checked", what, res.status, cr.SuccessWhen))
		}
		if ok, got := successful(doc, cr.SuccessWhen); !ok {
			err := fmt.Errorf("%s: HTTP %d but the answer fails %q (got %s)", what, res.status, cr.SuccessWhen, words.Cut(clean(got, cr, tokens...), 60))
			if m := message(res.body); m != "" {
				err = fmt.Errorf("%w: %s", err, words.Cut(clean(m, cr, tokens...), 200))
			}
			return "", queue.Classify(queue.Permanent, code, errors.New(scrub(err.Error(), cr, tokens...)))
		}
	}
	if parsed {
		for _, path := range []string{"id", "message_id", "request_id", "data.id", "data.message_id"} {
			if v, ok := lookup(doc, path); ok {
				if s := scalar(v); s != "" && len(s) <= 128 {
					return s, nil
				}
			}
		}
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("shiprocket.%d.%s", d.ItemID, hex.EncodeToString(b)), nil
}

func (c *Client) rateLimited(what string, cr Credentials, res response, tokens ...string) error {
	wait := gateways.RetryAfter(res.header.Get("Retry-After"), c.now())
	if wait <= 0 {
		wait = DefaultRateLimitWait
	}
	return queue.RateLimitedFor(wait, strconv.Itoa(res.status), c.statusErr(what, cr, res, tokens...))
}

// statusErr describes a failed answer: the status and Shiprocket's own
// message, scrubbed of credentials and bounded, never the raw body.
func (c *Client) statusErr(what string, cr Credentials, res response, tokens ...string) error {
	msg := fmt.Sprintf("%s: HTTP %d (%s)", what, res.status, strings.ToLower(http.StatusText(res.status)))
	if m := message(res.body); m != "" {
		msg += ": " + words.Cut(clean(m, cr, tokens...), 200)
	}
	return errors.New(scrub(msg, cr, tokens...))
}

// message is Shiprocket's error message: {"message": …} or {"error": …}.
func message(body []byte) string {
	var m struct {
		Message any `json:"message"`
		Error   any `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	for _, v := range []any{m.Message, m.Error} {
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// clean removes the known secrets (whole or in pieces) and the usual
// credential shapes from s without shortening it: bound only what clean
// returned.
func clean(s string, cr Credentials, extra ...string) string {
	secrets := append([]string{cr.Password, cr.APIKey}, cr.Secrets...)
	return queue.Redact(s, append(secrets, extra...)...)
}

// scrub is clean followed by the queue's length bound.
func scrub(s string, cr Credentials, extra ...string) string {
	return queue.SanitizeError(clean(s, cr, extra...))
}

var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[^{}\s]+)?)\s*\}\}`)
