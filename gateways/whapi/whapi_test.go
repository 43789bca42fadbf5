package whapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/queue"
)

const (
	testToken = "whapiTok-7f3a9c2e51d04b8aa6e1"
	testMsgID = "PsqXn5SAD5v7HRA-wO1ZWnnIo"
)

// seen is one request the fake received.
type seen struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// fakeWHAPI is an httptest server speaking WHAPI's send API: it answers a
// SentMessage (201) unless reply is set.
type fakeWHAPI struct {
	srv *httptest.Server

	mu    sync.Mutex
	reqs  []seen
	reply func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T) *fakeWHAPI {
	t.Helper()
	f := &fakeWHAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		reply := f.reply
		f.mu.Unlock()
		if reply != nil {
			reply(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			writeError(w, http.StatusUnauthorized, "Need channel authorization for send message", "")
			return
		}
		kind := strings.TrimPrefix(r.URL.Path, "/messages/")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"sent":true,"message":{"id":"`+testMsgID+`","type":"`+kind+`","chat_id":"919876543210@s.whatsapp.net","from_me":true,"timestamp":1712995245,"source":"api","status":"pending"}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWHAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeWHAPI) setReply(fn func(w http.ResponseWriter, r *http.Request)) {
	f.mu.Lock()
	f.reply = fn
	f.mu.Unlock()
}

// writeError answers WHAPI's ResponseError shape.
func writeError(w http.ResponseWriter, status int, message, details string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": message, "details": details, "href": "https://whapi.readme.io/reference", "support": "care@whapi.cloud"}})
}

func newClient(f *fakeWHAPI, cr whapi.Credentials, log *slog.Logger) *whapi.Client {
	if cr.Token == "" {
		cr.Token = testToken
	}
	cr.BaseURL = f.srv.URL
	return whapi.New(whapi.Options{
		Credentials: func(context.Context) (whapi.Credentials, error) { return cr, nil },
		HTTPClient:  f.srv.Client(),
		Logger:      log,
	})
}

func media(data []byte, mime, name, public string) *queue.Media {
	return &queue.Media{ID: 7, SHA256: "abc", MIME: mime, Name: name, Size: int64(len(data)), PublicURL: public,
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// TestRequestsMatchSpec sends text, images and videos, by link and inline,
// and validates each request the fake received against the request schema
// of its operation in WHAPI's OpenAPI spec (kin-openapi), besides checking
// method, path, headers and the decoded fields.
func TestRequestsMatchSpec(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	jpeg := []byte("\xff\xd8\xff\xe0 not really a jpeg \x00\x01")
	mp4 := bytes.Repeat([]byte("ftypmp42"), 100)
	cases := []struct {
		name      string
		byLink    bool
		d         queue.Delivery
		path      string
		wantField map[string]string
		wantFile  []byte
		wantMIME  string
	}{
		{name: "text", d: queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "Your order #12 is ready ✅"},
			path: "/messages/text", wantField: map[string]string{"to": "919876543210", "body": "Your order #12 is ready ✅"}},
		{name: "image by link", byLink: true,
			d:    queue.Delivery{ItemID: 2, Phone: "+919876543210", Kind: queue.KindImage, Text: "Hi", Media: media(jpeg, "image/jpeg", "a.jpg", "https://cdn.example.com/a.jpg")},
			path: "/messages/image", wantField: map[string]string{"to": "919876543210", "media": "https://cdn.example.com/a.jpg", "caption": "Hi", "mime_type": "image/jpeg"}},
		{name: "image inline", byLink: false,
			d:    queue.Delivery{ItemID: 3, Phone: "+919876543210", Kind: queue.KindImage, Text: "Menu", Media: media(jpeg, "image/jpeg", "menu card.jpg", "https://cdn.example.com/a.jpg")},
			path: "/messages/image", wantField: map[string]string{"to": "919876543210", "caption": "Menu", "mime_type": "image/jpeg"},
			wantFile: jpeg, wantMIME: "data:image/jpeg;name=menu_card.jpg;base64,"},
		{name: "image without public URL goes inline", byLink: true,
			d:    queue.Delivery{ItemID: 4, Phone: "+14155550123", Kind: queue.KindImage, Media: media(jpeg, "image/png", "x.png", "")},
			path: "/messages/image", wantField: map[string]string{"to": "14155550123", "mime_type": "image/png"},
			wantFile: jpeg, wantMIME: "data:image/png;name=x.png;base64,"},
		{name: "video by link", byLink: true,
			d:    queue.Delivery{ItemID: 5, Phone: "+919876543210", Kind: queue.KindVideo, Text: "Watch", Media: media(mp4, "video/mp4", "v.mp4", "https://cdn.example.com/v.mp4")},
			path: "/messages/video", wantField: map[string]string{"to": "919876543210", "media": "https://cdn.example.com/v.mp4", "caption": "Watch"}},
		{name: "video inline", byLink: false,
			d:    queue.Delivery{ItemID: 6, Phone: "+919876543210", Kind: queue.KindVideo, Text: "Watch", Media: media(mp4, "video/mp4", "v.mp4", "")},
			path: "/messages/video", wantField: map[string]string{"to": "919876543210", "caption": "Watch", "mime_type": "video/mp4"},
			wantFile: mp4, wantMIME: "data:video/mp4;name=v.mp4;base64,"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			c := newClient(f, whapi.Credentials{MediaByLink: tc.byLink}, nil)
			id, err := c.Send(context.Background(), tc.d)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id != testMsgID {
				t.Fatalf("id = %q, want %q", id, testMsgID)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("fake got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != tc.path {
				t.Fatalf("request = %s %s, want POST %s", r.Method, r.Path, tc.path)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
				t.Fatalf("Authorization = %q", got)
			}
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Fatalf("Content-Type = %q", got)
			}
			if err := spec.validate(r.Method, r.Path, r.Header, r.Body, testToken); err != nil {
				t.Fatalf("request does not match WHAPI's spec: %v\nbody: %.300s", err, r.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.wantField {
				if got[k] != want {
					t.Errorf("%s = %v, want %q", k, got[k], want)
				}
			}
			if tc.wantFile != nil {
				m, _ := got["media"].(string)
				data, ok := strings.CutPrefix(m, tc.wantMIME)
				if !ok {
					t.Fatalf("media = %.60q…, want a data URI starting %q", m, tc.wantMIME)
				}
				file, err := base64.StdEncoding.DecodeString(data)
				if err != nil || !bytes.Equal(file, tc.wantFile) {
					t.Fatalf("inline media does not decode to the file (err %v)", err)
				}
			}
		})
	}

	// The validator must reject what WHAPI would: this proves it checks
	// the bodies rather than passing anything.
	t.Run("broken bodies fail validation", func(t *testing.T) {
		t.Parallel()
		h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + testToken}}
		for _, b := range []struct{ path, body string }{
			{"/messages/text", `{"to":"919876543210"}`},                              // body missing
			{"/messages/text", `{"body":"hi"}`},                                      // to missing
			{"/messages/text", `{"to":"+919876543210","body":"hi"}`},                 // "+" is not allowed in to
			{"/messages/text", `{"to":"919876543210","body":"hi","typing_time":99}`}, // over the 60 s maximum
			{"/messages/image", `{"to":"919876543210","caption":"no media"}`},        // media missing
			{"/messages/video", `{"to":"919876543210","media":42}`},                  // media is not a string
			{"/messages/image", `{"to":"919876543210","media":"https://x/a.jpg","width":"wide"}`},
		} {
			if err := spec.validate(http.MethodPost, b.path, h, []byte(b.body), testToken); err == nil {
				t.Errorf("POST %s %s passed validation, want a schema error", b.path, b.body)
			}
		}
		good := []byte(`{"to":"919876543210","body":"hi"}`)
		if err := spec.validate(http.MethodPost, "/messages/text", h, good, testToken); err != nil {
			t.Fatalf("a good body failed: %v", err)
		}
		if err := spec.validate(http.MethodPost, "/messages/text", http.Header{"Content-Type": {"application/json"}}, good, testToken); err == nil {
			t.Error("a request without the token passed validation")
		}
		if err := spec.validate(http.MethodPost, "/messages/carrier-pigeon", h, good, testToken); err == nil {
			t.Error("an unknown path passed validation")
		}
	})
}

// TestStatusClasses maps every send status WHAPI documents (providers.md
// §2.2) to its class, through the fake.
func TestStatusClasses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status     int
		retryAfter string
		class      queue.Class
		wait       time.Duration
	}{
		{400, "", queue.Permanent, 0},     // wrong parameters
		{401, "", queue.SenderBlocked, 0}, // channel not authorized (QR not scanned)
		{402, "", queue.SenderBlocked, 0}, // trial version limit exceeded
		{403, "", queue.Permanent, 0},     // recipient or group forbidden
		{404, "", queue.Permanent, 0},     // media id not found
		{413, "", queue.Permanent, 0},     // body or media too large
		{415, "", queue.Permanent, 0},     // unsupported media type
		{429, "7", queue.RateLimited, 7 * time.Second},
		{429, "", queue.RateLimited, 0}, // no hint: the queue's default wait
		{500, "", queue.Retry, 0},       // internal error
		{502, "", queue.Retry, 0},       // other 5xx too
		{503, "", queue.Retry, 0},
		{422, "", queue.Permanent, 0}, // undocumented 4xx: the request is wrong
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status)+"/"+tc.retryAfter, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.setReply(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				msg := "Something is wrong"
				if tc.status == http.StatusPaymentRequired {
					msg = "trial version limit exceeded"
				}
				writeError(w, tc.status, msg, "")
			})
			c := newClient(f, whapi.Credentials{}, nil)
			_, err := c.Send(context.Background(), queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "hi"})
			class, se := queue.ClassOf(err)
			if se == nil {
				t.Fatalf("error %v is not a classified SendError", err)
			}
			if class != tc.class {
				t.Fatalf("HTTP %d → %s, want %s (err %v)", tc.status, class, tc.class, err)
			}
			if se.Code != strconv.Itoa(tc.status) {
				t.Fatalf("code = %q, want %d", se.Code, tc.status)
			}
			if se.RetryAfter != tc.wait {
				t.Fatalf("RetryAfter = %v, want %v", se.RetryAfter, tc.wait)
			}
			// A 429 slows the whole gateway: WHAPI throttles the channel.
			if pause, gw := queue.GatewayRateLimit(err); gw != (tc.class == queue.RateLimited) || pause != tc.wait {
				t.Fatalf("GatewayRateLimit = %v, %v", pause, gw)
			}
			if !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tc.status)) {
				t.Fatalf("error %q does not name the status", err)
			}
			if whapi.StatusClass(tc.status) != tc.class {
				t.Fatalf("StatusClass(%d) disagrees with Send", tc.status)
			}
		})
	}
}

// TestSendResults covers the other outcomes of a send: 200 as well as 201
// is success, sent=false is retried, templates and flows are refused, a
// missing token blocks the sender, a bad phone fails the item.
func TestSendResults(t *testing.T) {
	t.Parallel()
	text := queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "hi"}

	t.Run("200 is success too", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.setReply(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"sent":true,"message":{"id":"AbCdEfGh-1234"}}`)
		})
		id, err := newClient(f, whapi.Credentials{}, nil).Send(context.Background(), text)
		if err != nil || id != "AbCdEfGh-1234" {
			t.Fatalf("Send = %q, %v", id, err)
		}
	})
	t.Run("sent false is retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.setReply(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"sent":false}`)
		})
		_, err := newClient(f, whapi.Credentials{}, nil).Send(context.Background(), text)
		if class, _ := queue.ClassOf(err); err == nil || class != queue.Retry {
			t.Fatalf("err = %v, want retry", err)
		}
	})
	for _, kind := range []queue.Kind{queue.KindTemplate, queue.KindFlow} {
		t.Run(string(kind)+" is permanent", func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			d := queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: kind,
				Template: queue.Template{Name: "order_ready", Language: "en"}, Flow: queue.Flow{ID: "123"}}
			_, err := newClient(f, whapi.Credentials{}, nil).Send(context.Background(), d)
			if class, _ := queue.ClassOf(err); err == nil || class != queue.Permanent || !errors.Is(err, whapi.ErrUnsupported) {
				t.Fatalf("err = %v, want permanent ErrUnsupported", err)
			}
			if !strings.Contains(err.Error(), "whapi cannot send templates") {
				t.Fatalf("err = %q", err)
			}
			if n := len(f.requests()); n != 0 {
				t.Fatalf("fake got %d requests", n)
			}
		})
	}
	t.Run("no token blocks the sender", func(t *testing.T) {
		t.Parallel()
		c := whapi.New(whapi.Options{Credentials: func(context.Context) (whapi.Credentials, error) {
			return whapi.Credentials{BaseURL: "http://127.0.0.1:1"}, nil
		}})
		_, err := c.Send(context.Background(), text)
		if class, _ := queue.ClassOf(err); class != queue.SenderBlocked {
			t.Fatalf("err = %v, want sender blocked", err)
		}
	})
	t.Run("bad phone is permanent", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		d := text
		d.Phone = "+91 98765 abc"
		_, err := newClient(f, whapi.Credentials{}, nil).Send(context.Background(), d)
		if class, _ := queue.ClassOf(err); err == nil || class != queue.Permanent {
			t.Fatalf("err = %v, want permanent", err)
		}
	})
	t.Run("missing media file is permanent", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		d := queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: queue.KindImage, Media: &queue.Media{ID: 3, MIME: "image/png",
			Open: func(context.Context) (io.ReadCloser, error) { return nil, fs.ErrNotExist }}}
		_, err := newClient(f, whapi.Credentials{}, nil).Send(context.Background(), d)
		if class, _ := queue.ClassOf(err); err == nil || class != queue.Permanent {
			t.Fatalf("err = %v, want permanent", err)
		}
	})
	t.Run("network failure is retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		c := newClient(f, whapi.Credentials{}, nil)
		f.srv.Close()
		_, err := c.Send(context.Background(), text)
		if class, _ := queue.ClassOf(err); err == nil || class != queue.Retry {
			t.Fatalf("err = %v, want retry", err)
		}
	})
}

// TestTokenNeverLeaks plants the channel token in the fake's error
// responses and checks it appears in no returned error and no log line.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFake(t)
	c := newClient(f, whapi.Credentials{}, log)
	d := queue.Delivery{ItemID: 9, Phone: "+919876543210", Kind: queue.KindText, Text: "hi"}
	for _, status := range []int{400, 401, 402, 403, 429, 500, 503} {
		f.setReply(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, status, "channel token "+testToken+" rejected", "Authorization: Bearer "+testToken+" raw="+testToken)
		})
		_, err := c.Send(context.Background(), d)
		if err == nil {
			t.Fatalf("HTTP %d: no error", status)
		}
		if strings.Contains(err.Error(), testToken) {
			t.Fatalf("HTTP %d: error carries the token: %s", status, err)
		}
		if !strings.Contains(err.Error(), "[redacted]") {
			t.Fatalf("HTTP %d: error %q should keep the scrubbed provider message", status, err)
		}
	}
	// A non-JSON body is never echoed, token or not.
	f.setReply(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>upstream said token="+testToken+" RAWBODY</html>")
	})
	if _, err := c.Send(context.Background(), d); err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "RAWBODY") {
		t.Fatalf("502 error = %v", err)
	}
	// The fake did see the token: the test planted a real one.
	if got := f.requests()[0].Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Fatalf("Authorization = %q", got)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if logs.Len() == 0 {
		t.Fatal("nothing was logged; the log check proves nothing")
	}
	if strings.Contains(logs.String(), testToken) {
		t.Fatalf("logs carry the token:\n%s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
