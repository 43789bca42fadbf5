package ops_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
)

// countingStore counts the opens of a media store, to see that a refused
// file is never read.
type countingStore struct {
	media.Store
	opens atomic.Int32
}

func (c *countingStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, key)
}

// newS3Rig is the operations over an S3 media store on a gofakes3 server,
// its opens counted.
func newS3Rig(t *testing.T) (*mediaRig, *countingStore) {
	t.Helper()
	st, storage := backends()["s3"](t)
	cs := &countingStore{Store: st}
	return newMediaRig(t, cs, storage, []ops.Gateway{{Name: "dryrun", Caps: allCaps}}), cs
}

// browserPut uploads data to a ticket's URL as a browser would.
func browserPut(t *testing.T, tk ops.UploadTicket, data []byte, contentType string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, tk.URL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT to the ticket: %s %s", resp.Status, body)
	}
}

func (r *mediaRig) ticket(t *testing.T) ops.UploadTicket {
	t.Helper()
	tk, err := r.svc.BeginUpload(context.Background(), operator)
	if err != nil {
		t.Fatalf("begin upload: %v", err)
	}
	return tk
}

// gone fails the test unless the media store holds nothing under key.
func (r *mediaRig) gone(t *testing.T, key string) {
	t.Helper()
	if _, err := r.media.Stat(context.Background(), key); !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("Stat(%s) = %v, want the object gone", key, err)
	}
}

// A file a browser put to the ticket's URL is saved as SaveMessage saves
// an upload, and the staged object goes.
func TestDirectUploadSavesAndReplaces(t *testing.T) {
	t.Parallel()
	r, _ := newS3Rig(t)
	ctx := context.Background()
	if !r.svc.DirectUploads() {
		t.Fatal("DirectUploads = false on S3")
	}
	tk := r.ticket(t)
	if !strings.HasPrefix(tk.Key, "staging/") || len(tk.Key) != len("staging/")+32 {
		t.Fatalf("ticket key %q", tk.Key)
	}
	if want := r.clock.Now().Add(15 * time.Minute); !tk.Expires.Equal(want) {
		t.Fatalf("ticket expires %v, want %v", tk.Expires, want)
	}
	if !strings.Contains(tk.URL, tk.Key) || !strings.Contains(tk.URL, "X-Amz-Signature=") || !strings.Contains(tk.URL, "X-Amz-Expires=900") {
		t.Fatalf("ticket URL %q is not a 15-minute presigned PUT of its key", tk.URL)
	}
	if other := r.ticket(t); other.Key == tk.Key {
		t.Fatal("two tickets got the same key")
	}

	logo := pngFile(t)
	browserPut(t, tk, logo, "image/png")
	m, err := r.svc.SaveStagedMessage(ctx, operator, "logo", "Our logo", tk.Key, "logo.png")
	if err != nil {
		t.Fatalf("save staged: %v", err)
	}
	if m.Name != "logo" || m.Kind != ops.KindImage || m.Body != "Our logo" || m.CreatedBy != operator.Identity {
		t.Fatalf("saved %+v", m)
	}
	obj, data := r.stored(t, "logo")
	if obj.MIME != "image/png" || obj.OriginalName != "logo.png" || !bytes.Equal(data, logo) || !strings.HasPrefix(obj.StorageKey, "sha256/") {
		t.Fatalf("stored %+v, %d bytes", obj, len(data))
	}
	r.gone(t, tk.Key)
	// The same key cannot be used twice: its object is gone.
	_, err = r.svc.SaveStagedMessage(ctx, operator, "logo again", "", tk.Key, "logo.png")
	wantCode(t, err, ops.EINVALID, "upload it again")

	// Replace: a JPEG put without a content type.
	photo := jpegFile(t, 40)
	tk2 := r.ticket(t)
	browserPut(t, tk2, photo, "")
	m, err = r.svc.ReplaceStagedMedia(ctx, operator, "logo", tk2.Key, "photo.jpg")
	if err != nil {
		t.Fatalf("replace staged: %v", err)
	}
	if m.Kind != ops.KindImage || m.Body != "Our logo" {
		t.Fatalf("replaced %+v", m)
	}
	if obj, data := r.stored(t, "logo"); obj.MIME != "image/jpeg" || !bytes.Equal(data, photo) {
		t.Fatalf("after replace: %+v", obj)
	}
	r.gone(t, tk2.Key)
	for _, k := range r.keys(t) {
		if strings.HasPrefix(k, "staging/") {
			t.Fatalf("staged object %s left behind", k)
		}
	}
}

// Refused staged files leave nothing behind; keys this scheme does not
// make are refused without being touched.
func TestDirectUploadRefusals(t *testing.T) {
	t.Parallel()
	r, counted := newS3Rig(t)
	ctx := context.Background()

	// Text that claims to be a PNG.
	tk := r.ticket(t)
	browserPut(t, tk, []byte("Just some words, not a picture at all.\n"), "image/png")
	_, err := r.svc.SaveStagedMessage(ctx, operator, "fake", "", tk.Key, "fake.png")
	wantCode(t, err, ops.EINVALID, "fake.png", "claims to be a PNG image", "text")
	r.gone(t, tk.Key)
	if _, err := r.db.SavedMessageByName(ctx, "fake"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused file was saved as a message: %v", err)
	}
	if keys := r.keys(t); len(keys) != 0 {
		t.Fatalf("media store holds %v after a refusal", keys)
	}

	// A name already taken: refused, and the staged object still goes.
	r.save(t, "offer", "", upload("offer.jpg", "image/jpeg", jpegFile(t, 1)))
	library, _ := r.stored(t, "offer")
	tk = r.ticket(t)
	browserPut(t, tk, jpegFile(t, 2), "image/jpeg")
	_, err = r.svc.SaveStagedMessage(ctx, operator, "offer", "", tk.Key, "b.jpg")
	wantCode(t, err, ops.ECONFLICT, "already")
	r.gone(t, tk.Key)

	// Larger than any file may be: refused from its size, never opened.
	if _, err := r.svc.SetSetting(ctx, admin, ops.SettingMediaMaxImageMB, "1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.SetSetting(ctx, admin, ops.SettingMediaMaxVideoMB, "1", false); err != nil {
		t.Fatal(err)
	}
	tk = r.ticket(t)
	browserPut(t, tk, append(jpegFile(t, 3), make([]byte, 1<<20)...), "image/jpeg")
	before := counted.opens.Load()
	_, err = r.svc.SaveStagedMessage(ctx, operator, "huge", "", tk.Key, "huge.jpg")
	wantCode(t, err, ops.EINVALID, "too large")
	if counted.opens.Load() != before {
		t.Fatal("a file beyond the largest limit was opened")
	}
	r.gone(t, tk.Key)

	// Never uploaded.
	tk = r.ticket(t)
	_, err = r.svc.SaveStagedMessage(ctx, operator, "nothing", "", tk.Key, "x.jpg")
	wantCode(t, err, ops.EINVALID, "not there")

	// Keys outside the staging scheme, including the library's own file,
	// are refused and left alone.
	for _, key := range []string{
		library.StorageKey,
		"staging/../" + library.StorageKey,
		"staging/" + strings.Repeat("A", 32),
		"staging/" + strings.Repeat("a", 31),
		"staging/" + strings.Repeat("a", 32) + "/x",
		"staging/" + strings.Repeat("a", 32) + ".png",
		"/staging/" + strings.Repeat("a", 32),
		"",
	} {
		_, err := r.svc.SaveStagedMessage(ctx, operator, "sneaky", "", key, "x.jpg")
		wantCode(t, err, ops.EINVALID, "not an upload")
		_, err = r.svc.ReplaceStagedMedia(ctx, operator, "offer", key, "x.jpg")
		wantCode(t, err, ops.EINVALID, "not an upload")
	}
	if obj, data := r.stored(t, "offer"); obj.ID != library.ID || len(data) == 0 {
		t.Fatalf("the library's file changed: %+v", obj)
	}

	_, err = r.svc.BeginUpload(ctx, staff)
	wantCode(t, err, ops.EFORBIDDEN)
	_, err = r.svc.SaveStagedMessage(ctx, staff, "x", "", "staging/"+strings.Repeat("a", 32), "x.jpg")
	wantCode(t, err, ops.EFORBIDDEN)
}

// A local folder takes no direct uploads: the page posts files instead.
func TestDirectUploadNotOnLocal(t *testing.T) {
	t.Parallel()
	st, storage := backends()["local"](t)
	r := newMediaRig(t, st, storage, []ops.Gateway{{Name: "dryrun", Caps: allCaps}})
	if r.svc.DirectUploads() {
		t.Fatal("DirectUploads = true on a local folder")
	}
	_, err := r.svc.BeginUpload(context.Background(), operator)
	wantCode(t, err, ops.ECONFLICT, "local", "does not take uploads straight from the browser")
	if keys := r.keys(t); len(keys) != 0 {
		t.Fatalf("media store holds %v", keys)
	}

	none := newMediaRig(t, nil, "", []ops.Gateway{{Name: "dryrun", Caps: allCaps}})
	if none.svc.DirectUploads() {
		t.Fatal("DirectUploads = true without a media store")
	}
	_, err = none.svc.BeginUpload(context.Background(), operator)
	wantCode(t, err, ops.ECONFLICT, "no media store")
}

// The media cleanup removes staged uploads never saved once they are an
// hour old, and nothing else outside the library's rows.
func TestCleanupRemovesStaleStagedUploads(t *testing.T) {
	t.Parallel()
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, storage := open(t)
			r := newMediaRigAt(t, store.SQLite, time.Now(), st, storage, []ops.Gateway{{Name: "dryrun", Caps: allCaps}})
			ctx := context.Background()
			staged := "staging/" + strings.Repeat("ab", 16)
			other := "elsewhere/keep.bin"
			for _, k := range []string{staged, other} {
				if err := r.media.Put(ctx, k, strings.NewReader("abandoned"), 9, ""); err != nil {
					t.Fatal(err)
				}
			}
			r.save(t, "offer", "", upload("offer.jpg", "image/jpeg", jpegFile(t, 9)))
			cleanup := func() ops.CleanupResult {
				t.Helper()
				res, err := r.svc.CleanupMedia(ctx, admin, 0)
				if err != nil || res.Failed != 0 {
					t.Fatalf("cleanup: %+v %v", res, err)
				}
				return res
			}
			if res := cleanup(); res.Staged != 0 {
				t.Fatalf("a fresh staged upload was removed: %+v", res)
			}
			if _, err := r.media.Stat(ctx, staged); err != nil {
				t.Fatalf("fresh staged upload: %v", err)
			}
			r.clock.Advance(61 * time.Minute)
			if res := cleanup(); res.Staged != 1 || res.Deleted != 0 {
				t.Fatalf("after an hour: %+v, want 1 staged upload removed", res)
			}
			r.gone(t, staged)
			if _, err := r.media.Stat(ctx, other); err != nil {
				t.Fatalf("an object outside staging/ went: %v", err)
			}
			if _, data := r.stored(t, "offer"); len(data) == 0 {
				t.Fatal("the library's file went")
			}
		})
	}
}
