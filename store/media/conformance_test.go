package media_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/messagebridge/messagebridge/store/media"
)

// Test credentials. The secrets must never show up in an error string.
const (
	testBucket    = "media"
	testAccessKey = "AKIATESTMEDIA"
	testSecretKey = "s3-secret-Zq8vN3kP0wL5xR7t"
)

var testLinkSecret = []byte("local-link-secret-0123456789abcdefXYZ")

// harness is one backend under the conformance suite.
type harness struct {
	store media.Store
	// canPresignPut says whether PresignPut must work (S3) or fail with
	// ErrNotSupported (Local).
	canPresignPut bool
	// secrets must not appear in any error the store returns.
	secrets []string
}

// TestLocalConformance runs the suite against a folder in t.TempDir(),
// its links served by Local.Handler on an httptest server.
func TestLocalConformance(t *testing.T) {
	testStore(t, func(t *testing.T) harness {
		l, _ := newTestLocal(t, nil)
		return harness{store: l, secrets: linkSecretForms()}
	})
}

// TestS3Conformance runs the suite against an in-process gofakes3 server
// (memory backend) through minio-go.
func TestS3Conformance(t *testing.T) {
	testStore(t, func(t *testing.T) harness {
		s, _ := newTestS3(t, "")
		return harness{store: s, canPresignPut: true, secrets: []string{testSecretKey}}
	})
}

func linkSecretForms() []string {
	return []string{string(testLinkSecret), hex.EncodeToString(testLinkSecret)}
}

// newTestLocal returns a Local store in a temporary folder whose public base
// is an httptest server mounting its Handler at /media/. now may be nil.
func newTestLocal(t *testing.T, now func() time.Time) (*media.Local, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	l, err := media.NewLocal(t.TempDir(), media.LocalOptions{
		PublicBase: func(context.Context) string { return srv.URL + "/" },
		Secret:     testLinkSecret,
		Now:        now,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/media/", l.Handler())
	return l, srv
}

// newFakeS3 starts a gofakes3 server with an empty bucket and returns its URL.
func newFakeS3(t *testing.T) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(decodeChunkedParts(t, gofakes3.New(backend).Server()))
	t.Cleanup(srv.Close)
	return srv.URL
}

// decodeChunkedParts works around a gofakes3 v1.2.0 gap: it decodes
// aws-chunked bodies (the streaming signature minio-go uses over plain
// HTTP) for PutObject but not for UploadPart, where it would store the
// chunk framing as data. Real S3 and MinIO decode both.
func decodeChunkedParts(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !r.URL.Query().Has("partNumber") ||
			!strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
			next.ServeHTTP(w, r)
			return
		}
		var data []byte
		br := bufio.NewReader(r.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Errorf("aws-chunked part: %v", err)
				http.Error(w, "bad chunk", http.StatusBadRequest)
				return
			}
			sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
			n, err := strconv.ParseInt(sizeHex, 16, 64)
			if err != nil {
				t.Errorf("aws-chunked part: chunk size %q", line)
				http.Error(w, "bad chunk", http.StatusBadRequest)
				return
			}
			if n == 0 {
				break
			}
			chunk := make([]byte, n+2) // data and CRLF
			if _, err := io.ReadFull(br, chunk); err != nil {
				t.Errorf("aws-chunked part: %v", err)
				http.Error(w, "bad chunk", http.StatusBadRequest)
				return
			}
			data = append(data, chunk[:n]...)
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		r.ContentLength = int64(len(data))
		r.Header.Set("Content-Length", strconv.Itoa(len(data)))
		r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		r.Header.Del("Content-Encoding")
		r.Header.Del("X-Amz-Decoded-Content-Length")
		next.ServeHTTP(w, r)
	})
}

// newTestS3 returns an S3 store on a fresh gofakes3 server.
func newTestS3(t *testing.T, prefix string) (*media.S3, string) {
	t.Helper()
	endpoint := newFakeS3(t)
	s, err := media.NewS3(testS3Config(endpoint, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s, endpoint
}

func testS3Config(endpoint, prefix string) media.S3Config {
	return media.S3Config{
		Endpoint:  endpoint,
		Bucket:    testBucket,
		Region:    "us-east-1",
		AccessKey: testAccessKey,
		SecretKey: testSecretKey,
		Prefix:    prefix,
		PathStyle: true,
	}
}

// contentKey returns the content-addressed key of data.
func contentKey(data []byte, ext string) string {
	sum := sha256.Sum256(data)
	return media.Key(hex.EncodeToString(sum[:]), ext)
}

func put(t *testing.T, s media.Store, key string, data []byte, ct string) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), ct); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

func readAll(t *testing.T, s media.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func listKeys(t *testing.T, s media.Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), prefix, func(info media.Info) error {
		if info.ContentType != "" {
			t.Errorf("List(%q) gave content type %q for %s, want empty", prefix, info.ContentType, info.Key)
		}
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	slices.Sort(keys)
	return keys
}

func httpGet(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// testStore is the conformance suite every Store must pass.
func testStore(t *testing.T, newHarness func(t *testing.T) harness) {
	ctx := context.Background()
	jpeg := append([]byte("\xff\xd8\xff\xe0 fake jpeg "), bytes.Repeat([]byte{7}, 3000)...)

	t.Run("PutOpenStat", func(t *testing.T) {
		h := newHarness(t)
		key := contentKey(jpeg, "jpg")
		before := time.Now().Add(-time.Minute)
		put(t, h.store, key, jpeg, "image/jpeg")
		if got := readAll(t, h.store, key); !bytes.Equal(got, jpeg) {
			t.Fatalf("Open returned %d bytes, want the %d put", len(got), len(jpeg))
		}
		info, err := h.store.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != key || info.Size != int64(len(jpeg)) || info.ContentType != "image/jpeg" {
			t.Fatalf("Stat = %+v, want key %s, size %d, image/jpeg", info, key, len(jpeg))
		}
		if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
			t.Fatalf("Stat ModTime = %v, want about now", info.ModTime)
		}
	})

	t.Run("ContentTypeCanonicalAndDefault", func(t *testing.T) {
		h := newHarness(t)
		put(t, h.store, "a/typed.txt", []byte("x"), "Text/Plain; Charset=utf-8")
		put(t, h.store, "a/untyped", []byte("y"), "")
		for key, want := range map[string]string{
			"a/typed.txt": "text/plain; charset=utf-8",
			"a/untyped":   media.DefaultContentType,
		} {
			info, err := h.store.Stat(ctx, key)
			if err != nil || info.ContentType != want {
				t.Errorf("Stat(%s) = %q, %v; want %q", key, info.ContentType, err, want)
			}
		}
		err := h.store.Put(ctx, "a/bad", strings.NewReader("z"), 1, "not a type")
		if err == nil {
			t.Error("Put with a malformed content type succeeded")
		}
	})

	t.Run("PutSameKeyTwiceStoresOnce", func(t *testing.T) {
		h := newHarness(t)
		key := contentKey(jpeg, "jpg")
		put(t, h.store, key, jpeg, "image/jpeg")
		put(t, h.store, key, jpeg, "image/jpeg")
		if keys := listKeys(t, h.store, ""); !slices.Equal(keys, []string{key}) {
			t.Fatalf("List after two puts = %v, want just %s", keys, key)
		}
		if got := readAll(t, h.store, key); !bytes.Equal(got, jpeg) {
			t.Fatal("bytes changed after the second put")
		}
	})

	t.Run("PutUnknownSize", func(t *testing.T) {
		h := newHarness(t)
		data := bytes.Repeat([]byte("video "), 5000)
		key := contentKey(data, "mp4")
		r := iotest.OneByteReader(bytes.NewReader(data)) // hides Len and WriterTo
		if err := h.store.Put(ctx, key, r, -1, "video/mp4"); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, h.store, key); !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, want %d", len(got), len(data))
		}
		if info, err := h.store.Stat(ctx, key); err != nil || info.Size != int64(len(data)) {
			t.Fatalf("Stat = %+v, %v", info, err)
		}
	})

	t.Run("PutShortReaderLeavesNothing", func(t *testing.T) {
		h := newHarness(t)
		// Not seekable, or minio-go would retry the upload ten times.
		r := iotest.OneByteReader(strings.NewReader("only ten b"))
		err := h.store.Put(ctx, "short/x.bin", r, 100, "")
		if err == nil {
			t.Fatal("Put of 10 bytes announced as 100 succeeded")
		}
		if _, err := h.store.Stat(ctx, "short/x.bin"); !errors.Is(err, media.ErrNotFound) {
			t.Fatalf("Stat after failed put: %v, want ErrNotFound", err)
		}
	})

	t.Run("PutReaderError", func(t *testing.T) {
		h := newHarness(t)
		boom := errors.New("boom")
		r := io.MultiReader(strings.NewReader("partial"), iotest.ErrReader(boom))
		if err := h.store.Put(ctx, "fail/x.bin", r, -1, ""); err == nil {
			t.Fatal("Put with a failing reader succeeded")
		}
		if _, err := h.store.Stat(ctx, "fail/x.bin"); !errors.Is(err, media.ErrNotFound) {
			t.Fatalf("Stat after failed put: %v, want ErrNotFound", err)
		}
	})

	t.Run("MissingKey", func(t *testing.T) {
		h := newHarness(t)
		key := contentKey([]byte("never stored"), "png")
		if _, err := h.store.Stat(ctx, key); !errors.Is(err, media.ErrNotFound) {
			t.Errorf("Stat missing: %v, want ErrNotFound", err)
		}
		if _, err := h.store.Open(ctx, key); !errors.Is(err, media.ErrNotFound) {
			t.Errorf("Open missing: %v, want ErrNotFound", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		h := newHarness(t)
		key := contentKey(jpeg, "jpg")
		other := contentKey([]byte("other"), "jpg")
		put(t, h.store, key, jpeg, "image/jpeg")
		put(t, h.store, other, []byte("other"), "image/jpeg")
		if err := h.store.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := h.store.Stat(ctx, key); !errors.Is(err, media.ErrNotFound) {
			t.Fatalf("Stat after delete: %v, want ErrNotFound", err)
		}
		if _, err := h.store.Open(ctx, key); !errors.Is(err, media.ErrNotFound) {
			t.Fatalf("Open after delete: %v, want ErrNotFound", err)
		}
		if err := h.store.Delete(ctx, key); err != nil {
			t.Fatalf("second Delete: %v", err)
		}
		if err := h.store.Delete(ctx, "never/was.here"); err != nil {
			t.Fatalf("Delete of a key never stored: %v", err)
		}
		if got := readAll(t, h.store, other); string(got) != "other" {
			t.Fatalf("other object damaged: %q", got)
		}
		if keys := listKeys(t, h.store, ""); !slices.Equal(keys, []string{other}) {
			t.Fatalf("List after delete = %v", keys)
		}
	})

	t.Run("DeleteFolderIsNoop", func(t *testing.T) {
		h := newHarness(t)
		put(t, h.store, "dir/sub/file.txt", []byte("f"), "text/plain")
		if err := h.store.Delete(ctx, "dir/sub"); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, h.store, "dir/sub/file.txt"); string(got) != "f" {
			t.Fatalf("object under the deleted folder name: %q", got)
		}
		if _, err := h.store.Stat(ctx, "dir/sub"); !errors.Is(err, media.ErrNotFound) {
			t.Fatalf("Stat of a folder: %v, want ErrNotFound", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		h := newHarness(t)
		keys := []string{
			"sha256/aa/01/one.jpg",
			"sha256/aa/02/two.jpg",
			"sha256/ab/01/three.mp4",
			"sha256/b0/00/four.png",
			"other/five.txt",
			"sha256x/six.txt",
		}
		for i, k := range keys {
			put(t, h.store, k, []byte(strings.Repeat("z", i+1)), "")
		}
		for _, tc := range []struct {
			prefix string
			want   int
		}{
			{"", 6},
			{"sha256", 5},
			{"sha256/", 4},
			{"sha256/a", 3},
			{"sha256/aa", 2},
			{"sha256/aa/", 2},
			{"sha256/aa/01/one.jpg", 1},
			{"sha256/aa/01/one", 1},
			{"other/", 1},
			{"none/", 0},
			{"sha256/zz/", 0},
		} {
			got := listKeys(t, h.store, tc.prefix)
			if len(got) != tc.want {
				t.Errorf("List(%q) = %v, want %d keys", tc.prefix, got, tc.want)
			}
			for _, k := range got {
				if !strings.HasPrefix(k, tc.prefix) || !slices.Contains(keys, k) {
					t.Errorf("List(%q) returned %q", tc.prefix, k)
				}
			}
		}
		sizes := map[string]int64{}
		err := h.store.List(ctx, "sha256/aa/", func(info media.Info) error {
			sizes[info.Key] = info.Size
			if info.ModTime.IsZero() {
				t.Errorf("List: zero ModTime for %s", info.Key)
			}
			return nil
		})
		if err != nil || sizes["sha256/aa/01/one.jpg"] != 1 || sizes["sha256/aa/02/two.jpg"] != 2 {
			t.Errorf("List sizes = %v, %v", sizes, err)
		}
		stop := errors.New("stop")
		n := 0
		err = h.store.List(ctx, "", func(media.Info) error { n++; return stop })
		if err != stop || n != 1 {
			t.Errorf("List with fn failing: err %v after %d calls, want stop after 1", err, n)
		}
	})

	t.Run("URL", func(t *testing.T) {
		h := newHarness(t)
		key := contentKey(jpeg, "jpg")
		put(t, h.store, key, jpeg, "image/jpeg")
		u, err := h.store.URL(ctx, key, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range h.secrets {
			if strings.Contains(u, s) {
				t.Fatalf("URL %s contains a secret", u)
			}
		}
		resp, body := httpGet(t, u)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s: %s", u, resp.Status, body)
		}
		if !bytes.Equal(body, jpeg) {
			t.Fatalf("GET returned %d bytes, want the %d put", len(body), len(jpeg))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "image/jpeg" {
			t.Errorf("GET Content-Type = %q, want image/jpeg", ct)
		}
		for _, ttl := range []time.Duration{0, -time.Second, time.Millisecond, media.MaxURLTTL + time.Second} {
			if _, err := h.store.URL(ctx, key, ttl); err == nil {
				t.Errorf("URL with ttl %v succeeded", ttl)
			}
		}
	})

	t.Run("PresignPut", func(t *testing.T) {
		h := newHarness(t)
		data := []byte("uploaded straight from the admin page")
		key := contentKey(data, "txt")
		u, err := h.store.PresignPut(ctx, key, 15*time.Minute)
		if !h.canPresignPut {
			if !errors.Is(err, media.ErrNotSupported) {
				t.Fatalf("PresignPut = %q, %v; want ErrNotSupported", u, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Expires=900") {
			t.Fatalf("PresignPut URL %s is not a presigned URL valid 900s", u)
		}
		req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT to presigned URL: %s: %s", resp.Status, body)
		}
		if got := readAll(t, h.store, key); !bytes.Equal(got, data) {
			t.Fatalf("Open after presigned PUT = %q", got)
		}
		if info, err := h.store.Stat(ctx, key); err != nil || info.ContentType != "text/plain" {
			t.Fatalf("Stat after presigned PUT = %+v, %v", info, err)
		}
	})

	t.Run("BadKeysRefused", func(t *testing.T) {
		h := newHarness(t)
		put(t, h.store, "ok/file.txt", []byte("ok"), "")
		for _, key := range badKeys {
			errs := map[string]error{
				"Put":    h.store.Put(ctx, key, strings.NewReader("x"), 1, ""),
				"Delete": h.store.Delete(ctx, key),
			}
			_, errs["Open"] = h.store.Open(ctx, key)
			_, errs["Stat"] = h.store.Stat(ctx, key)
			_, errs["URL"] = h.store.URL(ctx, key, time.Minute)
			_, errs["PresignPut"] = h.store.PresignPut(ctx, key, time.Minute)
			for op, err := range errs {
				if op == "PresignPut" && !h.canPresignPut {
					continue // ErrNotSupported whatever the key
				}
				if !errors.Is(err, media.ErrInvalidKey) {
					t.Errorf("%s(%q) = %v, want ErrInvalidKey", op, key, err)
				}
			}
			if key == "" || key == "a/b/" {
				continue // valid prefixes: everything, and the folder a/b
			}
			err := h.store.List(ctx, key, func(media.Info) error { return nil })
			if !errors.Is(err, media.ErrInvalidKey) {
				t.Errorf("List(%q) = %v, want ErrInvalidKey", key, err)
			}
		}
		if got := listKeys(t, h.store, ""); !slices.Equal(got, []string{"ok/file.txt"}) {
			t.Fatalf("bad keys changed the store: %v", got)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		h := newHarness(t)
		put(t, h.store, "c/x.txt", []byte("x"), "")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := h.store.Put(cctx, "c/y.txt", strings.NewReader("y"), 1, ""); !errors.Is(err, context.Canceled) {
			t.Errorf("Put: %v, want context.Canceled", err)
		}
		if _, err := h.store.Stat(cctx, "c/x.txt"); !errors.Is(err, context.Canceled) {
			t.Errorf("Stat: %v, want context.Canceled", err)
		}
		if err := h.store.List(cctx, "", func(media.Info) error { return nil }); !errors.Is(err, context.Canceled) {
			t.Errorf("List: %v, want context.Canceled", err)
		}
	})

	t.Run("NoSecretsInErrors", func(t *testing.T) {
		h := newHarness(t)
		var errs []error
		collect := func(err error) {
			if err != nil {
				errs = append(errs, err)
			}
		}
		collect(h.store.Put(ctx, "../x", strings.NewReader("x"), 1, ""))
		collect(h.store.Put(ctx, "s/x", iotest.OneByteReader(strings.NewReader("x")), 9, ""))
		_, err := h.store.Stat(ctx, "s/missing")
		collect(err)
		_, err = h.store.Open(ctx, "s/missing")
		collect(err)
		_, err = h.store.URL(ctx, "s/x", 0)
		collect(err)
		_, err = h.store.PresignPut(ctx, "s/x", 0)
		collect(err)
		if len(errs) < 5 {
			t.Fatalf("only %d errors collected", len(errs))
		}
		for _, err := range errs {
			for _, s := range h.secrets {
				if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v", err), s) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		h := newHarness(t)
		data := bytes.Repeat([]byte("same file "), 1000)
		key := contentKey(data, "bin")
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if err := h.store.Put(ctx, key, bytes.NewReader(data), int64(len(data)), ""); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := readAll(t, h.store, key); !bytes.Equal(got, data) {
			t.Fatal("concurrent puts of the same content corrupted it")
		}
		if keys := listKeys(t, h.store, ""); len(keys) != 1 {
			t.Fatalf("List = %v, want one object", keys)
		}
	})
}

// badKeys are refused by every method of every store.
var badKeys = []string{
	"",
	"/etc/passwd",
	"../escape",
	"a/../../escape",
	"a/./b",
	".",
	"..",
	"a/..",
	"a\\b",
	"..\\..\\windows",
	"a//b",
	"a/b/",
	".hidden",
	"a/.tmp/x",
	".meta/a",
	"nul\x00byte",
	"new\nline",
	"\xff\xfe",
	strings.Repeat("k", media.MaxKeyLen+1),
}
