package media_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store/media"
)

// fakeClock is a settable clock safe to read from the handler's goroutines.
type fakeClock struct{ unix atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.unix.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.unix.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.unix.Add(int64(d)) }

const notFoundBody = "404 page not found\n"

// localWithObject returns a store on a fake clock holding key.
func localWithObject(t *testing.T, key string, data []byte, ct string) (*media.Local, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	l, _ := newTestLocal(t, clock.Now)
	put(t, l, key, data, ct)
	return l, clock
}

func TestLocalLinkExpiry(t *testing.T) {
	ctx := context.Background()
	data := []byte("expiring")
	l, clock := localWithObject(t, "a/x.txt", data, "text/plain")
	u, err := l.URL(ctx, "a/x.txt", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := httpGet(t, u)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("fresh link: %s %q", resp.Status, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=600" {
		t.Errorf("Cache-Control = %q, want private, max-age=600", cc)
	}

	clock.Advance(9 * time.Minute)
	resp, _ = httpGet(t, u)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("link 1 minute before expiry: %s", resp.Status)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "private, max-age=60" {
		t.Errorf("Cache-Control = %q, want max-age capped at the 60s left", cc)
	}

	clock.Advance(time.Minute)
	resp, body = httpGet(t, u)
	if resp.StatusCode != http.StatusNotFound || string(body) != notFoundBody {
		t.Fatalf("expired link: %s %q, want a bare 404", resp.Status, body)
	}
}

func TestLocalLinkTampered(t *testing.T) {
	ctx := context.Background()
	l, _ := localWithObject(t, "a/x.txt", []byte("secret bytes"), "text/plain")
	put(t, l, "a/other.txt", []byte("other"), "text/plain")
	u, err := l.URL(ctx, "a/x.txt", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	base, token, ok := strings.Cut(u, "/media/")
	if !ok {
		t.Fatalf("URL %s has no /media/", u)
	}
	flip := func(i int) string {
		b := []byte(token)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	otherURL, _ := l.URL(ctx, "a/other.txt", time.Hour)
	_, otherToken, _ := strings.Cut(otherURL, "/media/")

	for name, tok := range map[string]string{
		"first char":      flip(0),
		"expiry":          flip(3),
		"key":             flip(15),
		"signature":       flip(len(token) - 2),
		"truncated":       token[:len(token)-4],
		"extended":        token + "AAAA",
		"spliced":         otherToken[:20] + token[20:],
		"empty":           "",
		"path":            "..%2F..%2Fetc%2Fpasswd",
		"key in clear":    "a%2Fx.txt",
		"not base64":      "!!!!",
		"huge":            strings.Repeat("A", 100000),
		"padded":          token + "==",
		"std alphabet":    strings.NewReplacer("-", "+", "_", "/").Replace(token) + "+/",
		"other secret":    tokenSignedWith(t, []byte("another-secret-that-is-long-enough-000"), "a/x.txt"),
		"trailing slash":  token + "/",
		"subpath":         token + "/x",
		"query tampering": token + "?key=a/other.txt",
	} {
		resp, body := httpGet(t, base+"/media/"+tok)
		if name == "query tampering" {
			// The query is ignored: still the original object.
			if resp.StatusCode != http.StatusOK || string(body) != "secret bytes" {
				t.Errorf("%s: %s %q", name, resp.Status, body)
			}
			continue
		}
		if resp.StatusCode != http.StatusNotFound || string(body) != notFoundBody {
			t.Errorf("%s token: %s %q, want a bare 404", name, resp.Status, body)
		}
	}
}

// tokenSignedWith returns the token another store, with another secret,
// makes for key.
func tokenSignedWith(t *testing.T, secret []byte, key string) string {
	t.Helper()
	other, err := media.NewLocal(t.TempDir(), media.LocalOptions{
		PublicBase: func(context.Context) string { return "http://elsewhere" },
		Secret:     secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := other.URL(context.Background(), key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u, "http://elsewhere/media/")
}

func TestLocalHandler(t *testing.T) {
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 100)
	key := contentKey(data, "mp4")
	l, _ := localWithObject(t, key, data, "video/mp4")
	u, err := l.URL(ctx, key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("GET", func(t *testing.T) {
		resp, body := httpGet(t, u)
		h := resp.Header
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("GET: %s, %d bytes", resp.Status, len(body))
		}
		for name, want := range map[string]string{
			"Content-Type":           "video/mp4",
			"Content-Length":         strconv.Itoa(len(data)),
			"Cache-Control":          "private, max-age=3600",
			"X-Content-Type-Options": "nosniff",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if h.Get("Content-Security-Policy") == "" || h.Get("Last-Modified") == "" {
			t.Errorf("missing CSP or Last-Modified: %v", h)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		resp, err := http.Head(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(data)) ||
			resp.Header.Get("Content-Type") != "video/mp4" {
			t.Fatalf("HEAD: %s, length %d, type %q", resp.Status, resp.ContentLength, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("Range", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Range", "bytes=10-19")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		if resp.StatusCode != http.StatusPartialContent || buf.String() != "0123456789" {
			t.Fatalf("Range: %s %q", resp.Status, buf.String())
		}
	})

	t.Run("OtherMethods", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequest(m, u, strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %s, Allow %q", m, resp.Status, resp.Header.Get("Allow"))
			}
		}
		if got := readAll(t, l, key); !bytes.Equal(got, data) {
			t.Fatal("object changed")
		}
	})

	t.Run("NoListing", func(t *testing.T) {
		parsed, _ := url.Parse(u)
		for _, p := range []string{"/media/", "/media/sha256/", "/media/" + key} {
			resp, body := httpGet(t, parsed.Scheme+"://"+parsed.Host+p)
			if resp.StatusCode != http.StatusNotFound || string(body) != notFoundBody {
				t.Errorf("GET %s: %s %q", p, resp.Status, body)
			}
		}
	})

	t.Run("DeletedObject", func(t *testing.T) {
		if err := l.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		resp, body := httpGet(t, u)
		if resp.StatusCode != http.StatusNotFound || string(body) != notFoundBody {
			t.Fatalf("link to a deleted object: %s %q", resp.Status, body)
		}
	})
}

func TestLocalURLNeedsPublicBase(t *testing.T) {
	ctx := context.Background()
	base := ""
	l, err := media.NewLocal(t.TempDir(), media.LocalOptions{
		PublicBase: func(context.Context) string { return base },
		Secret:     testLinkSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.URL(ctx, "a/b", time.Hour); !errors.Is(err, media.ErrNoPublicURL) {
		t.Errorf("empty base: %v, want ErrNoPublicURL", err)
	}
	for _, bad := range []string{"ftp://host", "host.example", "https://user:pw@host", "https://host/?q=1", "/relative"} {
		base = bad
		if _, err := l.URL(ctx, "a/b", time.Hour); err == nil || errors.Is(err, media.ErrNoPublicURL) {
			t.Errorf("base %q: %v, want an invalid-base error", bad, err)
		}
	}
	base = "https://bot.example.com/prefix/"
	u, err := l.URL(ctx, "a/b", time.Hour)
	if err != nil || !strings.HasPrefix(u, "https://bot.example.com/prefix/media/") || strings.Contains(u, "a/b") {
		t.Errorf("URL = %q, %v", u, err)
	}

	plain, err := media.NewLocal(t.TempDir(), media.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.URL(ctx, "a/b", time.Hour); !errors.Is(err, media.ErrNoPublicURL) {
		t.Errorf("no PublicBase: %v, want ErrNoPublicURL", err)
	}
}

func TestNewLocalChecksOptions(t *testing.T) {
	base := func(context.Context) string { return "http://x" }
	if _, err := media.NewLocal("", media.LocalOptions{}); err == nil {
		t.Error("empty dir accepted")
	}
	short := []byte("too-short")
	_, err := media.NewLocal(t.TempDir(), media.LocalOptions{PublicBase: base, Secret: short})
	if err == nil {
		t.Fatal("short secret accepted")
	}
	if strings.Contains(err.Error(), string(short)) {
		t.Errorf("error %q shows the secret", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := media.NewLocal(file, media.LocalOptions{}); err == nil {
		t.Error("a file accepted as the folder")
	}
	nested := filepath.Join(t.TempDir(), "data", "media")
	if _, err := media.NewLocal(nested, media.LocalOptions{}); err != nil {
		t.Errorf("missing folder not created: %v", err)
	}
}

// The secret is copied: changing the caller's slice afterwards does not void
// links.
func TestLocalSecretCopied(t *testing.T) {
	secret := bytes.Clone(testLinkSecret)
	mux := http.NewServeMux()
	srv := newServer(t, mux)
	l, err := media.NewLocal(t.TempDir(), media.LocalOptions{
		PublicBase: func(context.Context) string { return srv },
		Secret:     secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/media/", l.Handler())
	put(t, l, "a/b", []byte("b"), "")
	u, _ := l.URL(context.Background(), "a/b", time.Hour)
	clear(secret)
	if resp, _ := httpGet(t, u); resp.StatusCode != http.StatusOK {
		t.Fatalf("link after the caller's secret changed: %s", resp.Status)
	}
}

func TestLocalFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	l, err := media.NewLocal(filepath.Join(dir, "media"), media.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := contentKey([]byte("perm"), "txt")
	put(t, l, key, []byte("perm"), "text/plain")
	err = filepath.WalkDir(l.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Dir(), filepath.FromSlash(key))); err != nil {
		t.Errorf("object not at its key's path: %v", err)
	}
}

// A failed Put leaves no temporary file behind.
func TestLocalFailedPutCleansUp(t *testing.T) {
	l, err := media.NewLocal(t.TempDir(), media.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l.Put(ctx, "a/short", strings.NewReader("short"), 50, "")
	l.Put(ctx, "a/long", strings.NewReader("much too long"), 2, "")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	l.Put(cctx, "a/canceled", strings.NewReader("x"), 1, "")
	var left []string
	filepath.WalkDir(l.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("files left after failed puts: %v", left)
	}
}

// A symbolic link planted in the folder cannot make the store read outside.
func TestLocalSymlinkCannotEscape(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("outside secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, _ := newTestLocal(t, nil)
	if err := os.MkdirAll(filepath.Join(l.Dir(), "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(l.Dir(), "a", "link.txt")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(l.Dir(), "dirlink")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{"a/link.txt", "dirlink/outside.txt"} {
		if rc, err := l.Open(ctx, key); err == nil {
			rc.Close()
			t.Errorf("Open(%s) followed a link out of the folder", key)
		}
		if _, err := l.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%s) followed a link out of the folder", key)
		}
		u, err := l.URL(ctx, key, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := httpGet(t, u)
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "outside secret") {
			t.Errorf("link to %s served %s %q", key, resp.Status, body)
		}
		if err := l.Put(ctx, key, strings.NewReader("overwrite"), 9, ""); err == nil {
			if strings.HasPrefix(key, "dirlink/") {
				t.Errorf("Put(%s) wrote through a link out of the folder", key)
			}
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "outside secret" {
		t.Fatalf("file outside the folder changed: %q", b)
	}
	var listed []string
	l.List(ctx, "", func(i media.Info) error { listed = append(listed, i.Key); return nil })
	for _, k := range listed {
		if k == "dirlink/outside.txt" {
			t.Errorf("List went through a link: %v", listed)
		}
	}
}

// A type file lost (crash, hand-copied files) falls back to the extension.
func TestLocalContentTypeFallback(t *testing.T) {
	l, err := media.NewLocal(t.TempDir(), media.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(l.Dir(), "hand")
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "copied.png"), []byte("png"), 0o600)
	os.WriteFile(filepath.Join(dir, "copied.unknownext"), []byte("?"), 0o600)
	ctx := context.Background()
	if info, err := l.Stat(ctx, "hand/copied.png"); err != nil || info.ContentType != "image/png" {
		t.Errorf("Stat png = %+v, %v", info, err)
	}
	if info, err := l.Stat(ctx, "hand/copied.unknownext"); err != nil || info.ContentType != media.DefaultContentType {
		t.Errorf("Stat unknown = %+v, %v", info, err)
	}
}

func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
