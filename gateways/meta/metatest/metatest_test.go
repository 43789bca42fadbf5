package metatest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/meta/metatest"
)

const customer = "+919876543210"

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

// call sends a request with the server's token and decodes the JSON answer.
func call(t *testing.T, s *metatest.Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return callWith(t, s, "Bearer "+s.Token(), method, path, body)
}

func callWith(t *testing.T, s *metatest.Server, auth, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = s.URL() + path
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func messagesPath(s *metatest.Server) string {
	return "/" + s.Version() + "/" + s.PhoneNumberID() + "/messages"
}

func send(t *testing.T, s *metatest.Server, msg map[string]any) (int, map[string]any) {
	t.Helper()
	m := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "919876543210"}
	for k, v := range msg {
		m[k] = v
	}
	return call(t, s, http.MethodPost, messagesPath(s), m)
}

func text(body string) map[string]any {
	return map[string]any{"type": "text", "text": map[string]any{"preview_url": false, "body": body}}
}

func tmpl(name, lang string, components ...any) map[string]any {
	t := map[string]any{"name": name, "language": map[string]any{"policy": "deterministic", "code": lang}}
	if components != nil {
		t["components"] = components
	}
	return map[string]any{"type": "template", "template": t}
}

func comp(typ string, params ...any) map[string]any {
	return map[string]any{"type": typ, "parameters": params}
}

func urlButton(index any, params ...any) map[string]any {
	return map[string]any{"type": "button", "sub_type": "url", "index": index, "parameters": params}
}

func ptext(s string) map[string]any { return map[string]any{"type": "text", "text": s} }

func pnamed(name, s string) map[string]any {
	return map[string]any{"type": "text", "parameter_name": name, "text": s}
}

func pimage(link string) map[string]any {
	return map[string]any{"type": "image", "image": map[string]any{"link": link}}
}

// errCode returns the Graph error code of an answer, 0 if it is no error;
// it checks the error's shape (§1.4).
func errCode(t *testing.T, answer map[string]any) int {
	t.Helper()
	e, ok := answer["error"].(map[string]any)
	if !ok {
		return 0
	}
	if e["type"] != "OAuthException" || e["message"] == "" || e["fbtrace_id"] == "" {
		t.Errorf("error shape: %v", e)
	}
	code := int(e["code"].(float64))
	if code != 190 && code != 100 {
		d, _ := e["error_data"].(map[string]any)
		if d["messaging_product"] != "whatsapp" || d["details"] == "" {
			t.Errorf("error_data: %v", e)
		}
	}
	return code
}

func wamid(t *testing.T, answer map[string]any) string {
	t.Helper()
	msgs, _ := answer["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("answer has no message id: %v", answer)
	}
	id, _ := msgs[0].(map[string]any)["id"].(string)
	if !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("message id %q is not a wamid", id)
	}
	return id
}

func TestTokenIsChecked(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	s.CustomerWrites(customer, "hi")
	tplPath := "/" + s.Version() + "/" + s.WABAID() + "/message_templates"
	for _, auth := range []string{"", "Bearer wrong", s.Token()} {
		for _, c := range []struct {
			method, path string
			body         any
		}{{http.MethodPost, messagesPath(s), text("x")}, {http.MethodGet, tplPath, nil}} {
			status, ans := callWith(t, s, auth, c.method, c.path, c.body)
			if status != http.StatusUnauthorized || errCode(t, ans) != 190 {
				t.Errorf("%s %s with %q: %d %v, want 401 and code 190", c.method, c.path, auth, status, ans)
			}
		}
	}
	if status, ans := send(t, s, text("x")); status != http.StatusOK {
		t.Errorf("with the token: %d %v", status, ans)
	}
	if n := len(s.Refusals()); n != 0 {
		t.Errorf("token refusals are not sends, yet %d refusals were recorded", n)
	}
}

func TestUnknownNodeOrVersion(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	for _, p := range []string{"/v23.0/999/messages", "/v19.0/" + s.PhoneNumberID() + "/messages", "/v23.0/" + s.PhoneNumberID() + "/nothing"} {
		if status, ans := call(t, s, http.MethodPost, p, text("x")); status != http.StatusBadRequest || errCode(t, ans) != 100 {
			t.Errorf("%s: %d %v", p, status, ans)
		}
	}
}

// The window is open from the customer's message until exactly 24 h later,
// on the server's clock; templates go regardless.
func TestWindow(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	s.SetNow(t0)
	s.AddTemplate(metatest.Template{Name: "hello_world", Language: "en_US",
		Components: []metatest.Component{{Type: "BODY", Text: "Hello"}}})

	refused := func(what string, msg map[string]any) {
		t.Helper()
		status, ans := send(t, s, msg)
		if status != http.StatusBadRequest || errCode(t, ans) != 131047 {
			t.Errorf("%s: %d %v, want 400 and 131047", what, status, ans)
		}
	}
	accepted := func(what string, msg map[string]any) {
		t.Helper()
		status, ans := send(t, s, msg)
		if status != http.StatusOK || errCode(t, ans) != 0 {
			t.Errorf("%s: %d %v, want 200", what, status, ans)
		}
	}
	refused("text, never written", text("Hi"))
	refused("image, never written", map[string]any{"type": "image", "image": map[string]any{"link": "https://cdn.example.com/a.jpg"}})
	refused("flow, never written", map[string]any{"type": "interactive", "interactive": map[string]any{"type": "flow",
		"body": map[string]any{"text": "Fill in"}, "action": map[string]any{"name": "flow", "parameters": map[string]any{"flow_id": "1"}}}})
	accepted("template, never written", tmpl("hello_world", "en_US"))
	if s.WindowOpen(customer) {
		t.Error("window open before the customer wrote")
	}

	s.CustomerWrites(customer, "Is the offer on?")
	accepted("text right after the customer wrote", text("Yes"))
	s.SetNow(t0.Add(metatest.Window - time.Second))
	accepted("text 1 s before 24 h", text("Still yes"))
	if !s.WindowOpen("919876543210") {
		t.Error("window closed before 24 h")
	}
	s.SetNow(t0.Add(metatest.Window))
	refused("text at exactly 24 h", text("Late"))
	accepted("template at 24 h", tmpl("hello_world", "en_US"))
	s.Advance(time.Hour)
	s.CustomerWrites(customer, "Hello again")
	accepted("text after a new message", text("Welcome back"))
	s.CloseWindow(customer)
	refused("text after CloseWindow", text("Closed by Meta"))
	s.CustomerWrites(customer, "Hello once more")
	s.Advance(metatest.Window)
	refused("text 24 h after the new message", text("Late again"))

	refs := s.Refusals()
	if len(refs) != 6 {
		t.Fatalf("refusals = %+v, want 6", refs)
	}
	for _, r := range refs {
		if r.Code != 131047 || r.WaID != "919876543210" || r.HTTPStatus != 400 || r.Async {
			t.Errorf("refusal %+v", r)
		}
	}
	if got := refs[3]; got.Type != "text" || !got.At.Equal(t0.Add(metatest.Window)) {
		t.Errorf("refusal at 24 h = %+v", got)
	}
	if n := len(s.Messages()); n != 5 {
		t.Errorf("accepted %d messages, want 5", n)
	}
}

// hook is a webhook callback that records what it received.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	status int
	got    chan struct{}
}

func newHook(t *testing.T) *hook {
	h := &hook{status: http.StatusOK, got: make(chan struct{}, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.sigs = append(h.sigs, r.Header.Get("X-Hub-Signature-256"))
		status := h.status
		h.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		w.WriteHeader(status)
		h.got <- struct{}{}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) received() ([][]byte, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...), append([]string(nil), h.sigs...)
}

// validSig checks a signature the way Meta documents it, independently of
// the server's code.
func validSig(secret string, body []byte, header string) bool {
	want := hmac.New(sha256.New, []byte(secret))
	want.Write(body)
	got, err := hex.DecodeString(strings.TrimPrefix(header, "sha256="))
	return err == nil && strings.HasPrefix(header, "sha256=") && hmac.Equal(got, want.Sum(nil))
}

// value returns entry[0].changes[0].value of a webhook body after checking
// the envelope.
func value(t *testing.T, s *metatest.Server, body []byte) map[string]any {
	t.Helper()
	var p struct {
		Object string
		Entry  []struct {
			ID      string
			Changes []struct {
				Field string
				Value map[string]any
			}
		}
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Object != "whatsapp_business_account" || len(p.Entry) != 1 || p.Entry[0].ID != s.WABAID() ||
		len(p.Entry[0].Changes) != 1 || p.Entry[0].Changes[0].Field != "messages" {
		t.Fatalf("webhook envelope: %s", body)
	}
	v := p.Entry[0].Changes[0].Value
	md, _ := v["metadata"].(map[string]any)
	if v["messaging_product"] != "whatsapp" || md["phone_number_id"] != s.PhoneNumberID() || md["display_phone_number"] == "" {
		t.Errorf("webhook value: %v", v)
	}
	return v
}

func TestInboundWebhooksAreSigned(t *testing.T) {
	t.Parallel()
	s := metatest.New(t, metatest.WithAppSecret("s3cret"))
	s.SetNow(t0)
	h := newHook(t)
	s.SetWebhook(h.srv.URL)
	s.SetProfileName(customer, "Asha")

	id, status := s.CustomerWrites(customer, "STOP")
	if status != http.StatusOK || !strings.HasPrefix(id, "wamid.") {
		t.Fatalf("CustomerWrites = %q, %d", id, status)
	}
	h.mu.Lock()
	h.status = http.StatusForbidden
	h.mu.Unlock()
	if got := s.Redeliver(id); got != http.StatusForbidden {
		t.Errorf("Redeliver answered %d, want the callback's 403", got)
	}
	imgID, _ := s.CustomerSendsImage(customer, "this one")
	if imgID == id {
		t.Error("two inbound messages share an id")
	}

	bodies, sigs := h.received()
	if len(bodies) != 3 {
		t.Fatalf("callback got %d posts, want 3", len(bodies))
	}
	for i, b := range bodies {
		if !validSig("s3cret", b, sigs[i]) {
			t.Errorf("post %d: signature %q does not verify", i, sigs[i])
		}
		if validSig("other", b, sigs[i]) {
			t.Errorf("post %d verifies with another secret", i)
		}
	}
	if !bytes.Equal(bodies[0], bodies[1]) || sigs[0] != sigs[1] {
		t.Error("a redelivery is not the same body")
	}
	v := value(t, s, bodies[0])
	c := v["contacts"].([]any)[0].(map[string]any)
	m := v["messages"].([]any)[0].(map[string]any)
	if c["wa_id"] != "919876543210" || c["profile"].(map[string]any)["name"] != "Asha" {
		t.Errorf("contacts: %v", c)
	}
	if m["from"] != "919876543210" || m["id"] != id || m["type"] != "text" ||
		m["text"].(map[string]any)["body"] != "STOP" || m["timestamp"] != fmt.Sprint(t0.Unix()) {
		t.Errorf("message: %v", m)
	}
	img := value(t, s, bodies[2])["messages"].([]any)[0].(map[string]any)
	if img["type"] != "image" || img["image"].(map[string]any)["caption"] != "this one" || img["image"].(map[string]any)["id"] == "" {
		t.Errorf("image message: %v", img)
	}
	posts := s.WebhookPosts()
	if len(posts) != 3 || posts[1].Status != http.StatusForbidden {
		t.Errorf("WebhookPosts = %+v", posts)
	}

	// Hand-made posts: unsigned, mis-signed, and signed by Sign.
	s.Post(bodies[0], "")
	s.Post(bodies[0], "sha256=00")
	s.Post([]byte(`{"object":"whatsapp_business_account","entry":[]}`), s.Sign([]byte(`{"object":"whatsapp_business_account","entry":[]}`)))
	bodies, sigs = h.received()
	if len(sigs) != 6 || sigs[3] != "" || validSig("s3cret", bodies[4], sigs[4]) || !validSig("s3cret", bodies[5], sigs[5]) {
		t.Errorf("hand-made posts: signatures %q", sigs[3:])
	}
}

func TestDeliverStatus(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	s.SetNow(t0)
	h := newHook(t)
	s.CustomerWrites(customer, "hi") // no webhook URL yet: nothing posted, window open
	s.SetWebhook(h.srv.URL)
	_, ans := send(t, s, text("Hello"))
	id := wamid(t, ans)
	if got := s.Deliver(id, "read"); got != http.StatusOK {
		t.Errorf("Deliver answered %d", got)
	}
	s.Deliver(id, "failed", metatest.StatusError{Code: 131026, Title: "Message undeliverable", Details: "Message Undeliverable."})
	bodies, sigs := h.received()
	if len(bodies) != 2 {
		t.Fatalf("got %d posts, want 2", len(bodies))
	}
	read := value(t, s, bodies[0])["statuses"].([]any)[0].(map[string]any)
	if read["id"] != id || read["status"] != "read" || read["recipient_id"] != "919876543210" ||
		read["timestamp"] != fmt.Sprint(t0.Unix()) || read["errors"] != nil || !validSig(s.AppSecret(), bodies[0], sigs[0]) {
		t.Errorf("read status: %v", read)
	}
	failed := value(t, s, bodies[1])["statuses"].([]any)[0].(map[string]any)
	e := failed["errors"].([]any)[0].(map[string]any)
	if failed["status"] != "failed" || e["code"] != 131026.0 || e["title"] != "Message undeliverable" ||
		e["error_data"].(map[string]any)["details"] != "Message Undeliverable." {
		t.Errorf("failed status: %v", failed)
	}
}

// With WithAsyncWindow a closed window answers 200 and a wamid, then a
// signed failed status with 131047 follows.
func TestAsyncWindow(t *testing.T) {
	t.Parallel()
	s := metatest.New(t, metatest.WithAsyncWindow(), metatest.WithHeldStatuses())
	h := newHook(t)
	s.SetWebhook(h.srv.URL)
	status, ans := send(t, s, text("Hi"))
	if status != http.StatusOK || errCode(t, ans) != 0 {
		t.Fatalf("send: %d %v", status, ans)
	}
	id := wamid(t, ans)
	refs := s.Refusals()
	if len(refs) != 1 || refs[0].Code != 131047 || !refs[0].Async || refs[0].ID != id || refs[0].HTTPStatus != http.StatusOK {
		t.Fatalf("refusals = %+v", refs)
	}
	if len(s.Messages()) != 0 {
		t.Error("an async-refused message counts as accepted")
	}
	if b, _ := h.received(); len(b) != 0 {
		t.Fatal("a held status was posted before FlushStatuses")
	}
	if got := s.FlushStatuses(); len(got) != 1 || got[0] != http.StatusOK {
		t.Fatalf("FlushStatuses = %v", got)
	}
	bodies, sigs := h.received()
	st := value(t, s, bodies[0])["statuses"].([]any)[0].(map[string]any)
	e := st["errors"].([]any)[0].(map[string]any)
	if st["id"] != id || st["status"] != "failed" || e["code"] != 131047.0 || e["title"] != "Re-engagement message" ||
		!validSig(s.AppSecret(), bodies[0], sigs[0]) {
		t.Errorf("status: %v (sig %v)", st, sigs[0])
	}
}

func TestAsyncWindowPostsByItself(t *testing.T) {
	t.Parallel()
	s := metatest.New(t, metatest.WithAsyncWindow())
	h := newHook(t)
	s.SetWebhook(h.srv.URL)
	_, ans := send(t, s, text("Hi"))
	id := wamid(t, ans)
	<-h.got // the post follows the answer; no timing assumed
	bodies, _ := h.received()
	st := value(t, s, bodies[0])["statuses"].([]any)[0].(map[string]any)
	if st["id"] != id || st["status"] != "failed" {
		t.Errorf("status: %v", st)
	}
}

// upload posts a multipart media upload.
func upload(t *testing.T, s *metatest.Server, fields map[string]string, file []byte) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "offer.jpg")
		_, _ = fw.Write(file)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/"+s.Version()+"/"+s.PhoneNumberID()+"/media", &buf)
	req.Header.Set("Authorization", "Bearer "+s.Token())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestMediaUploadAndSendByID(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	s.CustomerWrites(customer, "hi")
	_, a := upload(t, s, map[string]string{"messaging_product": "whatsapp", "type": "image/jpeg"}, []byte("jpeg"))
	_, b := upload(t, s, map[string]string{"messaging_product": "whatsapp"}, []byte("jpeg2"))
	idA, _ := a["id"].(string)
	idB, _ := b["id"].(string)
	if idA == "" || idB == "" || idA == idB {
		t.Fatalf("upload ids %v %v", a, b)
	}
	if status, ans := upload(t, s, map[string]string{"messaging_product": "whatsapp"}, nil); status != 400 || errCode(t, ans) != 100 {
		t.Errorf("upload without a file: %d %v", status, ans)
	}
	if ups := s.Uploads(); len(ups) != 2 || ups[0].Type != "image/jpeg" || ups[1].Type != "" || string(ups[1].Data) != "jpeg2" {
		t.Errorf("uploads = %+v", ups)
	}
	for _, typ := range []string{"image", "video"} {
		if status, ans := send(t, s, map[string]any{"type": typ, typ: map[string]any{"id": idA, "caption": "Offer"}}); status != 200 {
			t.Errorf("%s by uploaded id: %d %v", typ, status, ans)
		}
	}
	if status, ans := send(t, s, map[string]any{"type": "image", "image": map[string]any{"id": "123"}}); status != 400 || errCode(t, ans) != 100 {
		t.Errorf("image by unknown id: %d %v", status, ans)
	}
	if status, ans := send(t, s, map[string]any{"type": "image", "image": map[string]any{"caption": "x"}}); status != 400 || errCode(t, ans) != 131008 {
		t.Errorf("image without id or link: %d %v", status, ans)
	}
	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].Type != "image" || msgs[0].MediaID != idA || msgs[0].Text != "Offer" || msgs[1].Type != "video" {
		t.Errorf("messages = %+v", msgs)
	}
}

func TestSendShapeAndRecords(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	s.CustomerWrites("16505551234", "hi")
	status, ans := call(t, s, http.MethodPost, messagesPath(s), map[string]any{"messaging_product": "whatsapp",
		"to": "+16505551234", "type": "text", "text": map[string]any{"body": "Hello"}})
	if status != 200 {
		t.Fatalf("send: %d %v", status, ans)
	}
	c := ans["contacts"].([]any)[0].(map[string]any)
	if c["input"] != "+16505551234" || c["wa_id"] != "16505551234" || ans["messaging_product"] != "whatsapp" {
		t.Errorf("answer: %v", ans)
	}
	id := wamid(t, ans)
	_, again := send(t, s, text("x")) // to a closed window: refused, no id
	if errCode(t, again) != 131047 {
		t.Errorf("second send: %v", again)
	}
	for name, body := range map[string]map[string]any{
		"no messaging_product": {"to": "16505551234", "type": "text", "text": map[string]any{"body": "x"}},
		"no to":                {"messaging_product": "whatsapp", "type": "text", "text": map[string]any{"body": "x"}},
		"no type":              {"messaging_product": "whatsapp", "to": "16505551234", "text": map[string]any{"body": "x"}},
		"empty body":           {"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": map[string]any{"body": ""}},
		"long body":            {"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": map[string]any{"body": strings.Repeat("a", 4097)}},
		"type without object":  {"messaging_product": "whatsapp", "to": "16505551234", "type": "image"},
	} {
		if status, ans := call(t, s, http.MethodPost, messagesPath(s), body); status != 400 || errCode(t, ans) != 100 {
			t.Errorf("%s: %d %v", name, status, ans)
		}
	}
	msgs := s.Messages()
	if len(msgs) != 1 || msgs[0].ID != id || msgs[0].To != "+16505551234" || msgs[0].WaID != "16505551234" ||
		msgs[0].Type != "text" || msgs[0].Text != "Hello" || len(msgs[0].Raw) == 0 {
		t.Errorf("messages = %+v", msgs)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s := metatest.New(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			phone := fmt.Sprintf("91987654%04d", i)
			s.CustomerWrites(phone, "hi")
			for range 5 {
				status, ans := call(t, s, http.MethodPost, messagesPath(s), map[string]any{"messaging_product": "whatsapp",
					"to": phone, "type": "text", "text": map[string]any{"body": "x"}})
				if status != 200 {
					t.Errorf("send: %d %v", status, ans)
				}
			}
			_ = s.Refusals()
		})
	}
	wg.Wait()
	msgs := s.Messages()
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.ID] = true
	}
	if len(msgs) != 40 || len(seen) != 40 {
		t.Errorf("%d messages with %d distinct ids, want 40", len(msgs), len(seen))
	}
}
