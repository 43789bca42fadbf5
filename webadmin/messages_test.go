package webadmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/media"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	img.Set(3, 3, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// With S3 as the media store the page hands out a presigned URL: the
// browser PUTs the file straight into the bucket, then posts only its key.
func TestSavedMessageUploadStraightToS3(t *testing.T) {
	t.Parallel()
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	st, err := media.NewS3(media.S3Config{Endpoint: s3srv.URL, Bucket: "media", Region: "us-east-1",
		AccessKey: "AKIATEST", SecretKey: "test-secret-key-0123456789", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	s := newSiteWith(t, func(c *ops.Config) { c.Media, c.MediaStorage, c.TempDir = st, "s3", t.TempDir() }, nil)
	c := s.signedIn(t)
	if _, body := s.get(t, c, "/admin/messages"); !strings.Contains(body, `data-direct="1"`) {
		t.Fatal("with S3 the upload form is not marked for direct upload")
	}
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/messages/ticket", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ticket struct{ URL, Key, Error string }
	_ = json.NewDecoder(res.Body).Decode(&ticket)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(ticket.URL, s3srv.URL) || ticket.Key == "" {
		t.Fatalf("ticket: %d %+v", res.StatusCode, ticket)
	}
	put, _ := http.NewRequest(http.MethodPut, ticket.URL, bytes.NewReader(pngBytes(t)))
	pres, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	if pres.StatusCode != http.StatusOK {
		t.Fatalf("PUT to S3: %d", pres.StatusCode)
	}
	if res := s.post(t, c, "/admin/messages/staged", url.Values{"name": {"Festive offer"}, "text": {"20% off"}, "key": {ticket.Key}, "filename": {"offer.png"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("staged: %d", res.StatusCode)
	}
	p, err := s.ops.PreviewMessage(context.Background(), ops.WebActor(adminUser), "Festive offer")
	if err != nil || p.Media == nil || p.Media.MIME != "image/png" || p.Message.Body != "20% off" {
		t.Fatalf("saved: %+v %v", p, err)
	}
	// The preview streams the stored file back to the page.
	res, err = c.Get(s.srv.URL + "/admin/messages/preview?name=" + url.QueryEscape("Festive offer"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Type") != "image/png" || !bytes.Equal(got, pngBytes(t)) {
		t.Fatalf("preview: %s, %d bytes", res.Header.Get("Content-Type"), len(got))
	}
}

func multipartForm(t *testing.T, fields map[string]string, file string, data []byte) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if file != "" {
		fw, _ := w.CreateFormFile("file", file)
		_, _ = fw.Write(data)
	}
	_ = w.Close()
	return w.FormDataContentType(), &b
}

// With a local folder the file comes in the form; a file that is not what
// it claims to be is refused with a clear message and nothing is saved.
func TestSavedMessageUploadThroughTheForm(t *testing.T) {
	t.Parallel()
	st, err := media.NewLocal(t.TempDir(), media.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSiteWith(t, func(c *ops.Config) { c.Media, c.MediaStorage, c.TempDir = st, "local", t.TempDir() }, nil)
	c := s.signedIn(t)
	post := func(fields map[string]string, file string, data []byte) int {
		ct, body := multipartForm(t, fields, file, data)
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/admin/messages", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(map[string]string{"name": "Banner", "text": "Hi"}, "banner.png", pngBytes(t)); code != http.StatusSeeOther {
		t.Fatalf("upload: %d", code)
	}
	if code := post(map[string]string{"name": "Sneaky"}, "sneaky.png", []byte("<svg onload=alert(1)>")); code != http.StatusSeeOther {
		t.Fatalf("bad upload: %d", code)
	}
	_, body := s.get(t, c, "/admin/messages")
	if !strings.Contains(body, "Banner") || strings.Contains(body, ">Sneaky<") {
		t.Fatalf("list after uploads:\n%s", body)
	}
	msgs, _ := s.ops.Messages(context.Background(), ops.WebActor(adminUser), true)
	if len(msgs) != 1 {
		t.Fatalf("%d messages saved, want only the real image", len(msgs))
	}
	// Too large for any limit: cut off while reading, nothing saved.
	big := bytes.Repeat([]byte{0}, 17<<20)
	if code := post(map[string]string{"name": "Huge"}, "huge.mp4", big); code != http.StatusSeeOther {
		t.Fatalf("huge upload: %d", code)
	}
	if _, body := s.get(t, c, "/admin/messages"); !strings.Contains(body, "too large") {
		t.Fatal("a too-large upload gets no clear message")
	}
}
