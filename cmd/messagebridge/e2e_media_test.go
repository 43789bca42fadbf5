package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/secretbox"
)

// e2ePhoto writes a small real JPEG into a fresh folder and returns its
// path and bytes.
func e2ePhoto(t *testing.T) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 12, 12)), nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b.Bytes()
}

// e2eMediaChat saves a photo from the console chat (the file named in the
// line is the attachment), previews it, sends it through the dry-run
// gateway and waits until it is sent.
func e2eMediaChat(t *testing.T, dataDir string, extra ...string) {
	t.Helper()
	photo, data := e2ePhoto(t)
	c := startE2EChat(t, env(t, append([]string{"MB_DATA_DIR", dataDir}, extra...)...))
	c.say(`/save "Diwali offer" 20% off all week ` + photo)
	c.waitOut(`bot: Saved "Diwali offer" (image).`)
	c.say(`/message "Diwali offer"`)
	c.waitOut("bot: file saved to " + filepath.Join(dataDir, "photo.jpg"))
	if got, err := os.ReadFile(filepath.Join(dataDir, "photo.jpg")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("preview file: %d bytes, %v; want the photo's %d", len(got), err, len(data))
	}
	c.say(`/send 98765 43210 "Diwali offer"`)
	c.waitOut("bot: Queued #1 for +919876543210 via dryrun.")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(c.out.String(), "Sent 1 ") {
		if time.Now().After(deadline) {
			t.Fatalf("the saved image was never sent:\n%s\nlogs:\n%s", c.out, c.logs)
		}
		c.say("/status")
		time.Sleep(300 * time.Millisecond)
	}
	if code := c.quit(); code != 0 {
		t.Fatalf("chat exited %d:\n%s", code, c.logs)
	}
}

// The local folder: the file lands under the data dir's media folder.
func TestConsoleSavesAndSendsMediaLocally(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	e2eMediaChat(t, dataDir)
	var files []string
	_ = filepath.WalkDir(filepath.Join(dataDir, "media", "sha256"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 || !strings.HasSuffix(files[0], ".jpg") {
		t.Fatalf("media folder holds %v, want one .jpg", files)
	}
}

// MB_MEDIA_STORE=s3 and the MB_S3_* variables: the file goes to the
// bucket (an in-process S3 server) and nothing to the data dir.
func TestConsoleSavesAndSendsMediaOnS3(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	dataDir := t.TempDir()
	e2eMediaChat(t, dataDir, "MB_MEDIA_STORE", "s3", "MB_S3_ENDPOINT", srv.URL, "MB_S3_BUCKET", "media",
		"MB_S3_REGION", "us-east-1", "MB_S3_ACCESS_KEY", "AKIATEST", "MB_S3_SECRET_KEY", "s3-secret-0123456789",
		"MB_S3_PATH_STYLE", "true", "MB_S3_PREFIX", "shop")
	list, err := backend.ListBucket("media", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 1 || !strings.HasPrefix(list.Contents[0].Key, "shop/sha256/") {
		t.Fatalf("bucket holds %+v", list.Contents)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "media")); !os.IsNotExist(err) {
		t.Fatalf("with s3 the data dir has a media folder: %v", err)
	}
}

// media.store=s3 without its settings stops the start with one line
// naming what is missing.
func TestS3MediaStoreNeedsItsSettings(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	code := run(context.Background(), []string{"serve"}, env(t, "MB_MEDIA_STORE", "s3", "MB_S3_ENDPOINT", "http://127.0.0.1:9"),
		strings.NewReader(""), &syncBuffer{}, &stderr)
	checkOneLineFailure(t, code, 1, stderr.String(), "s3.access_key, s3.bucket, s3.secret_key not set")
}

// The local folder's links are served at /media/<token>, signed with a
// secret derived from the secret key file, so a link made before a restart
// still works after it.
func TestMediaLinksServedAcrossRestarts(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	getenv := env(t, "MB_DATA_DIR", dataDir, "MB_MEDIA_PUBLIC_BASE_URL", "https://bot.example.com")
	stop, _ := serveUntilStarted(t, getenv)
	if code := stop(); code != 0 {
		t.Fatalf("first start exited %d", code)
	}

	// A link made with the secret the key file gives.
	key, created, err := secretbox.LoadOrCreateKeyFile(filepath.Join(dataDir, keyFileName))
	if err != nil || created {
		t.Fatalf("key file: created=%v %v", created, err)
	}
	local, err := media.NewLocal(filepath.Join(dataDir, "media"), media.LocalOptions{
		PublicBase: func(context.Context) string { return "https://bot.example.com" }, Secret: mediaLinkSecret(key)})
	if err != nil {
		t.Fatal(err)
	}
	const k = "sha256/ab/cd/abcd.jpg"
	if err := local.Put(context.Background(), k, strings.NewReader("JPEG"), 4, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	link, err := local.URL(context.Background(), k, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	stop, logs := serveUntilStarted(t, getenv)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d", code)
		}
	}()
	addr := regexp.MustCompile(`http_addr=(\S+)`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no http_addr in the log:\n%s", logs)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://%s%s", addr[1], path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	path := strings.TrimPrefix(link, "https://bot.example.com")
	if code, body := get(path); code != http.StatusOK || body != "JPEG" {
		t.Fatalf("GET %s: %d %q", path, code, body)
	}
	if code, _ := get(path[:len(path)-2] + "xx"); code != http.StatusNotFound {
		t.Fatalf("a tampered link answered %d", code)
	}
}
