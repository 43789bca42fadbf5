package media_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store/media"
)

func TestS3URLIsPresigned(t *testing.T) {
	s, endpoint := newTestS3(t, "")
	key := contentKey([]byte("x"), "jpg")
	raw, err := s.URL(context.Background(), key, 90*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasPrefix(raw, endpoint+"/"+testBucket+"/"+key+"?") {
		t.Errorf("URL %s is not path-style on the endpoint", raw)
	}
	if q.Get("X-Amz-Expires") != "5400" || q.Get("X-Amz-Signature") == "" ||
		!strings.HasPrefix(q.Get("X-Amz-Credential"), testAccessKey+"/") {
		t.Errorf("URL %s lacks the presigned query", raw)
	}
	if strings.Contains(raw, testSecretKey) {
		t.Error("URL contains the secret key")
	}
	put, err := s.PresignPut(context.Background(), key, time.Minute)
	if err != nil || !strings.Contains(put, "X-Amz-Expires=60") {
		t.Errorf("PresignPut = %s, %v", put, err)
	}
}

func TestS3Prefix(t *testing.T) {
	ctx := context.Background()
	endpoint := newFakeS3(t)
	newStore := func(prefix string) *media.S3 {
		s, err := media.NewS3(testS3Config(endpoint, prefix))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tenant, whole := newStore("/install-1/"), newStore("")
	put(t, tenant, "sha256/aa/bb/x.jpg", []byte("tenant"), "image/jpeg")
	put(t, whole, "sha256/aa/bb/y.jpg", []byte("outside"), "image/jpeg")

	if got := listKeys(t, whole, ""); !slices.Equal(got, []string{"install-1/sha256/aa/bb/x.jpg", "sha256/aa/bb/y.jpg"}) {
		t.Errorf("bucket holds %v", got)
	}
	if got := listKeys(t, tenant, ""); !slices.Equal(got, []string{"sha256/aa/bb/x.jpg"}) {
		t.Errorf("prefixed store lists %v", got)
	}
	info, err := tenant.Stat(ctx, "sha256/aa/bb/x.jpg")
	if err != nil || info.Key != "sha256/aa/bb/x.jpg" {
		t.Errorf("Stat = %+v, %v", info, err)
	}
	if _, err := tenant.Stat(ctx, "sha256/aa/bb/y.jpg"); !errors.Is(err, media.ErrNotFound) {
		t.Errorf("prefixed store sees an object outside its prefix: %v", err)
	}
	u, err := tenant.URL(ctx, "sha256/aa/bb/x.jpg", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := httpGet(t, u); resp.StatusCode != http.StatusOK || string(body) != "tenant" {
		t.Errorf("GET %s: %s %q", u, resp.Status, body)
	}
}

// A missing bucket is a configuration error, not a missing object, wherever
// the service says so. (Stat cannot tell: a HEAD response has no body, so
// minio-go reports any 404 on it as NoSuchKey.)
func TestS3MissingBucket(t *testing.T) {
	cfg := testS3Config(newFakeS3(t), "")
	cfg.Bucket = "no-such-bucket"
	s, err := media.NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, openErr := s.Open(ctx, "a/b")
	for op, err := range map[string]error{
		"Open":   openErr,
		"Delete": s.Delete(ctx, "a/b"),
		"List":   s.List(ctx, "", func(media.Info) error { return nil }),
		"Put":    s.Put(ctx, "a/b", strings.NewReader("x"), 1, ""),
	} {
		if err == nil || errors.Is(err, media.ErrNotFound) {
			t.Errorf("%s in a missing bucket = %v, want an error other than ErrNotFound", op, err)
		}
	}
}

func TestNewS3RejectsBadConfig(t *testing.T) {
	good := testS3Config("https://s3.example.com", "")
	for name, edit := range map[string]func(*media.S3Config){
		"no endpoint": func(c *media.S3Config) { c.Endpoint = "" },
		"no scheme":   func(c *media.S3Config) { c.Endpoint = "s3.example.com" },
		"ftp":         func(c *media.S3Config) { c.Endpoint = "ftp://s3.example.com" },
		"path":        func(c *media.S3Config) { c.Endpoint = "https://s3.example.com/bucket" },
		"query":       func(c *media.S3Config) { c.Endpoint = "https://s3.example.com/?x=1" },
		"credentials in url": func(c *media.S3Config) {
			c.Endpoint = "https://" + testAccessKey + ":" + testSecretKey + "@s3.example.com"
		},
		"no bucket":       func(c *media.S3Config) { c.Bucket = "" },
		"bad bucket":      func(c *media.S3Config) { c.Bucket = "Bad_Bucket!" },
		"no access key":   func(c *media.S3Config) { c.AccessKey = "" },
		"no secret key":   func(c *media.S3Config) { c.SecretKey = "" },
		"escaping prefix": func(c *media.S3Config) { c.Prefix = "a/../b" },
	} {
		cfg := good
		edit(&cfg)
		_, err := media.NewS3(cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), testSecretKey) {
			t.Errorf("%s: error %q shows the secret key", name, err)
		}
	}
	for _, endpoint := range []string{"https://s3.example.com", "http://127.0.0.1:9000/", "https://[::1]:9000"} {
		cfg := good
		cfg.Endpoint = endpoint
		if _, err := media.NewS3(cfg); err != nil {
			t.Errorf("endpoint %s: %v", endpoint, err)
		}
	}
}

func TestS3ConfigRedactsSecret(t *testing.T) {
	cfg := testS3Config("https://s3.example.com", "p")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "s3", cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "s3", cfg)
	for _, s := range []string{
		cfg.String(),
		fmt.Sprint(cfg),
		fmt.Sprintf("%v %+v %s", cfg, cfg, cfg),
		logged.String(),
	} {
		if strings.Contains(s, testSecretKey) {
			t.Errorf("secret key shown in %q", s)
		}
		if !strings.Contains(s, "s3.example.com") {
			t.Errorf("endpoint missing from %q", s)
		}
	}
	var decoded map[string]any
	line, _, _ := strings.Cut(logged.String(), "\n")
	if err := json.Unmarshal([]byte(line), &decoded); err != nil {
		t.Fatal(err)
	}
}

// Errors from a service refusing every request carry its message, not the
// credentials.
func TestS3ServiceErrorsHideSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
	}))
	defer srv.Close()
	s, err := media.NewS3(testS3Config(srv.URL, ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	errs = append(errs, s.Put(ctx, "a/b", strings.NewReader("x"), 1, ""))
	_, err = s.Stat(ctx, "a/b")
	errs = append(errs, err)
	_, err = s.Open(ctx, "a/b")
	errs = append(errs, err)
	errs = append(errs, s.Delete(ctx, "a/b"))
	errs = append(errs, s.List(ctx, "", func(media.Info) error { return nil }))
	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d succeeded against a refusing service", i)
			continue
		}
		if errors.Is(err, media.ErrNotFound) {
			t.Errorf("call %d: AccessDenied mapped to ErrNotFound: %v", i, err)
		}
		if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), testSecretKey) {
			t.Errorf("call %d: error %v shows the secret key", i, err)
		}
	}
}
