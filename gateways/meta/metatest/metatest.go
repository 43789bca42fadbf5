// Package metatest is a fake WhatsApp Cloud API (Graph API v23.0) for tests.
// It speaks Meta's wire protocol over httptest and enforces Meta's rules:
// the bearer token, the 24-hour customer-service window (131047), approved
// template shapes (132000, 132001, 132012, 132015, 132016), uploaded media
// ids, and the paged message_templates list. It also plays the customer and
// Meta's webhook sender: inbound messages and status notifications signed
// with X-Hub-Signature-256.
//
// Typical use:
//
//	g := metatest.New(t)                 // closed by t.Cleanup
//	g.SetNow(now)                        // the window is measured on this clock
//	g.AddTemplate(metatest.Template{Name: "diwali_offer", Language: "en", Components: ...})
//	g.SetWebhook(app.URL + "/webhooks/meta") // app verifies with g.AppSecret()
//	// point the gateway at g.URL(), g.Token(), g.PhoneNumberID(), g.WABAID()
//	g.CustomerWrites("+919876543210", "hi") // opens the window, posts the signed webhook
//	... g.Messages(), g.Refusals()
//
// Only the Authorization header carries the token (Graph also takes an
// access_token query parameter; the fake refuses it so no token travels
// in a URL). Media ids in sends must come from this server's /media.
//
// See shared/docs/providers.md §1 and Meta's OpenAPI spec v23.0.
package metatest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Defaults of a new Server; every one can be changed with an Option.
const (
	Version              = "v23.0"
	DefaultToken         = "EAAmetatestAccessToken0123456789abcdef"
	DefaultPhoneNumberID = "106540352242922"
	DefaultDisplayPhone  = "15550783881"
	DefaultWABAID        = "419561257915477"
	DefaultAppSecret     = "metatest-app-secret"
)

// Window is the customer-service window: free-form messages are allowed
// until 24 h after the customer's last message (at exactly 24 h it is
// closed).
const Window = 24 * time.Hour

// defaultLimit is Graph's page size when the request sets no limit.
const defaultLimit = 25

// Option configures a Server.
type Option func(*Server)

// WithToken sets the access token the server accepts.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithPhoneNumberID sets the business phone number id of the paths.
func WithPhoneNumberID(id string) Option { return func(s *Server) { s.pnid = id } }

// WithWABAID sets the WhatsApp Business Account id of
// /{v}/{waba-id}/message_templates and of webhook entries.
func WithWABAID(id string) Option { return func(s *Server) { s.waba = id } }

// WithAppSecret sets the app secret that signs webhooks.
func WithAppSecret(secret string) Option { return func(s *Server) { s.secret = secret } }

// WithClock sets the server's clock (default time.Now); the window is
// measured on it and webhook timestamps come from it.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithPageSize caps the message_templates page size below the request's
// limit, so a test can force several pages.
func WithPageSize(n int) Option { return func(s *Server) { s.pageSize = n } }

// WithAsyncWindow reports 131047 the other way Meta does: the send is
// answered 200 with a wamid, then a signed `failed` status webhook carrying
// the 131047 error is posted to the webhook URL right after the answer.
func WithAsyncWindow() Option { return func(s *Server) { s.asyncWindow = true } }

// WithHeldStatuses keeps the status webhooks the server would post on its
// own (the async 131047) until FlushStatuses, so a test decides when they
// arrive.
func WithHeldStatuses() Option { return func(s *Server) { s.holdStatuses = true } }

// WithWebhookClient sets the client that posts webhooks (default: one
// with a 10 s timeout); use an httptest TLS server's client for https.
func WithWebhookClient(c *http.Client) Option { return func(s *Server) { s.client = c } }

// Server is the fake Graph API. It is safe for concurrent use.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	// Fixed at New.
	token, pnid, waba, secret string
	pageSize                  int
	asyncWindow, holdStatuses bool
	client                    *http.Client

	bg sync.WaitGroup // background webhook posts

	mu        sync.Mutex
	now       func() time.Time
	webhook   string
	templates []*Template
	nextID    int
	media     map[string]bool
	uploads   []Upload
	lastIn    map[string]time.Time // wa_id → last inbound message
	profiles  map[string]string    // wa_id → profile name
	inbound   map[string][]byte    // inbound wamid → webhook body
	messages  []Message
	refusals  []Refusal
	held      [][]byte
	posts     []WebhookPost
	sentTo    map[string]string // wamid → wa_id, accepted or async-refused
}

// New starts a fake Graph API closed at the end of the test.
func New(t testing.TB, opts ...Option) *Server {
	s := &Server{
		t: t, token: DefaultToken, pnid: DefaultPhoneNumberID, waba: DefaultWABAID, secret: DefaultAppSecret,
		now: time.Now, media: map[string]bool{}, lastIn: map[string]time.Time{}, profiles: map[string]string{},
		inbound: map[string][]byte{}, sentTo: map[string]string{}, nextID: 1,
	}
	for _, o := range opts {
		o(s)
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{version}/{node}/{edge}", s.route)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		graphError(w, errUnknownPath(r))
	})
	s.srv = httptest.NewServer(mux)
	// Cleanups run last-in first-out: background posts finish before the
	// server closes.
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.bg.Wait)
	return s
}

// URL is the base URL without the version, like https://graph.facebook.com
// (the gateway's BaseURL setting).
func (s *Server) URL() string { return s.srv.URL }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Token is the access token the server accepts.
func (s *Server) Token() string { return s.token }

// PhoneNumberID is the business phone number id.
func (s *Server) PhoneNumberID() string { return s.pnid }

// WABAID is the WhatsApp Business Account id.
func (s *Server) WABAID() string { return s.waba }

// AppSecret is the secret that signs webhooks.
func (s *Server) AppSecret() string { return s.secret }

// Version is the Graph API version of the paths ("v23.0").
func (s *Server) Version() string { return Version }

// SetWebhook sets the callback URL that inbound messages and statuses are
// posted to ("" posts nothing).
func (s *Server) SetWebhook(url string) {
	s.mu.Lock()
	s.webhook = url
	s.mu.Unlock()
}

// SetNow stops the server's clock at now.
func (s *Server) SetNow(now time.Time) {
	s.mu.Lock()
	s.now = func() time.Time { return now }
	s.mu.Unlock()
}

// Advance moves the server's clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	prev := s.now
	s.now = func() time.Time { return prev().Add(d) }
	s.mu.Unlock()
}

// Now is the server's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// WindowOpen reports whether phone's customer-service window is open now.
func (s *Server) WindowOpen(phone string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.windowOpenLocked(waID(phone))
}

// CloseWindow forgets phone's last message, as when Meta's view of the
// window differs from the product's: the next free-form send is refused
// with 131047.
func (s *Server) CloseWindow(phone string) {
	s.mu.Lock()
	delete(s.lastIn, waID(phone))
	s.mu.Unlock()
}

func (s *Server) windowOpenLocked(wa string) bool {
	last, ok := s.lastIn[wa]
	return ok && s.now().Before(last.Add(Window))
}

// Message is one message the server accepted.
type Message struct {
	ID   string // wamid
	To   string // as sent
	WaID string // digits
	Type string // text, image, video, document, audio, interactive, template, ...
	// Text is text.body, a media caption, an interactive body, or a
	// template's body with its parameters filled in.
	Text      string
	MediaID   string // image/video/document/audio id
	MediaLink string // image/video/document/audio link
	Template  *SentTemplate
	At        time.Time
	Raw       json.RawMessage // the request body
}

// SentTemplate is the template part of a sent message.
type SentTemplate struct {
	Name       string
	Language   string
	Components []SentComponent
}

// SentComponent is one component of a template send.
type SentComponent struct {
	Type       string // header, body, button
	SubType    string // button: url, quick_reply, flow, ...
	Index      int    // button index
	Parameters []Parameter
}

// Parameter is one parameter of a template component.
type Parameter struct {
	Type string // text, image, video, document, currency, date_time, payload, action, ...
	Name string // parameter_name of a named template
	Text string // text parameter
	ID   string // media parameter by uploaded id
	Link string // media parameter by link
}

// Component returns the sent component of type typ ("header", "body",
// "button"; for buttons the one at index), or nil.
func (t *SentTemplate) Component(typ string, index int) *SentComponent {
	for i, c := range t.Components {
		if c.Type == typ && (typ != "button" || c.Index == index) {
			return &t.Components[i]
		}
	}
	return nil
}

// Refusal is one send the server refused, synchronously or (Async) by a
// failed status after answering 200 with ID.
type Refusal struct {
	To         string
	WaID       string
	Type       string
	Template   string // template name, for template sends
	Code       int
	HTTPStatus int // 200 for an async refusal
	Details    string
	Async      bool
	ID         string // wamid of an async refusal
	At         time.Time
}

// Upload is one media upload.
type Upload struct {
	ID       string
	Type     string // the form's type field ("" when absent)
	FileType string // the file part's Content-Type
	FileName string
	Data     []byte
}

// WebhookPost is one webhook the server posted.
type WebhookPost struct {
	Body   []byte
	Status int   // the callback's HTTP status; 0 when the post failed
	Err    error // transport error
}

// Messages returns every accepted message, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Refusals returns every refused send, oldest first.
func (s *Server) Refusals() []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Refusal(nil), s.refusals...)
}

// Uploads returns every media upload, oldest first.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// WebhookPosts returns every webhook post, oldest first.
func (s *Server) WebhookPosts() []WebhookPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookPost(nil), s.posts...)
}

// route serves /{version}/{node}/{edge}.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("facebook-api-version", Version)
	h.Set("x-fb-trace-id", traceID())
	h.Set("x-fb-request-id", traceID())
	if !s.authorized(r) {
		graphError(w, &graphErr{status: http.StatusUnauthorized, code: 190,
			message: "Invalid OAuth access token - Cannot parse access token"})
		return
	}
	if r.PathValue("version") != Version {
		graphError(w, errUnknownPath(r))
		return
	}
	node, edge := r.PathValue("node"), r.PathValue("edge")
	switch {
	case node == s.pnid && edge == "messages" && r.Method == http.MethodPost:
		s.serveMessages(w, r)
	case node == s.pnid && edge == "media" && r.Method == http.MethodPost:
		s.serveMedia(w, r)
	case node == s.waba && edge == "message_templates" && r.Method == http.MethodGet:
		s.serveTemplates(w, r)
	default:
		graphError(w, errUnknownPath(r))
	}
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && hmac.Equal([]byte(strings.TrimSpace(tok)), []byte(s.token))
}

// serveMedia takes POST /{v}/{pnid}/media (multipart: file,
// messaging_product=whatsapp, optional type).
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		graphError(w, invalidParam("the body must be multipart/form-data with a file part"))
		return
	}
	if r.FormValue("messaging_product") != "whatsapp" {
		graphError(w, invalidParam("The parameter messaging_product is required."))
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		graphError(w, invalidParam("The parameter file is required."))
		return
	}
	data, err := io.ReadAll(f)
	_ = f.Close()
	if err != nil || len(data) == 0 {
		graphError(w, invalidParam("The parameter file is empty."))
		return
	}
	s.mu.Lock()
	id := fmt.Sprintf("%d", 4490709327384000+len(s.uploads)+1)
	s.media[id] = true
	s.uploads = append(s.uploads, Upload{ID: id, Type: r.FormValue("type"), FileType: fh.Header.Get("Content-Type"),
		FileName: fh.Filename, Data: data})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// graphErr is a Graph API error answer (§1.4).
type graphErr struct {
	status  int
	code    int
	message string
	details string
}

func graphError(w http.ResponseWriter, e *graphErr) {
	body := map[string]any{"message": e.message, "type": "OAuthException", "code": e.code, "fbtrace_id": traceID()}
	if e.details != "" {
		body["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": e.details}
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

func invalidParam(details string) *graphErr {
	return &graphErr{status: http.StatusBadRequest, code: 100, message: "(#100) Invalid parameter", details: details}
}

func errUnknownPath(r *http.Request) *graphErr {
	method := strings.ToLower(r.Method)
	return &graphErr{status: http.StatusBadRequest, code: 100, message: fmt.Sprintf(
		"Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
		method, r.PathValue("node"))}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the server's own values are marshalled
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func traceID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newWAMID returns a unique message id shaped like Meta's.
func newWAMID(wa string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "wamid.HBgL" + base64.StdEncoding.EncodeToString(append([]byte(wa+"\x15\x02\x00\x11\x18\x12"), []byte(strings.ToUpper(hex.EncodeToString(b)))...))
}

// waID is phone's digits (Meta's wa_id).
func waID(phone string) string {
	var b strings.Builder
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Sign returns the X-Hub-Signature-256 value of body under the server's
// app secret: "sha256=" + hex(HMAC-SHA256(secret, body)).
func (s *Server) Sign(body []byte) string { return sign(s.secret, body) }

// Post posts body to the webhook URL with signature as X-Hub-Signature-256
// (no header when ""), for tests of unsigned, mis-signed or hand-made
// webhooks, and returns the callback's HTTP status. It opens no window. A
// failed post fails the test.
func (s *Server) Post(body []byte, signature string) int {
	s.t.Helper()
	status, err := s.postSigned(body, signature)
	if err != nil {
		s.t.Errorf("metatest: webhook: %v", err)
	}
	return status
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a signed webhook body to the callback URL and records it;
// it returns 0 when no callback is set or the post failed.
func (s *Server) post(body []byte) (int, error) {
	return s.postSigned(body, sign(s.secret, body))
}

func (s *Server) postSigned(body []byte, signature string) (int, error) {
	s.mu.Lock()
	url := s.webhook
	s.mu.Unlock()
	if url == "" {
		return 0, nil
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("metatest: webhook URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	status := 0
	resp, err := s.client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		status = resp.StatusCode
	}
	s.mu.Lock()
	s.posts = append(s.posts, WebhookPost{Body: body, Status: status, Err: err})
	s.mu.Unlock()
	return status, err
}
