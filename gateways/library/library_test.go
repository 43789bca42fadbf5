package library_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

var secret = bytes.Repeat([]byte("k"), media.MinSecretLen)

// newReader is a settings reader over db holding the library's settings.
func newReader(t *testing.T, db *store.DB) *settings.Reader {
	t.Helper()
	reg, err := settings.NewRegistry(library.SettingDefs())
	if err != nil {
		t.Fatal(err)
	}
	return settings.NewReader(reg, db, time.Nanosecond, nil)
}

func set(t *testing.T, r *settings.Reader, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if _, err := r.Set(context.Background(), kv[i], kv[i+1], "test"); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeS3 starts an in-process S3 server with a "media" bucket and points
// the s3.* settings at it.
func fakeS3(t *testing.T, r *settings.Reader) {
	t.Helper()
	backend := s3mem.New()
	for _, b := range []string{"media", "other"} {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	set(t, r, library.SettingStore, "s3", library.SettingS3Endpoint, srv.URL, library.SettingS3Bucket, "media",
		library.SettingS3Region, "us-east-1", library.SettingS3AccessKey, "AKIATEST", library.SettingS3SecretKey, "secret-0123456789",
		library.SettingS3PathStyle, "true", library.SettingS3Prefix, "shop-1")
}

// saveImage puts data in the media store and saves an image message with
// it, as the operations do.
func saveImage(t *testing.T, db *store.DB, files media.Store, storage, name string, data []byte) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	key := media.Key(sha, "jpg")
	if err := files.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	mediaID, err := db.CreateMediaObject(ctx, store.MediaObject{SHA256: sha, MIME: "image/jpeg", Size: int64(len(data)), Storage: storage, StorageKey: key, OriginalName: "offer.jpg"}, "t")
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.CreateSavedMessage(ctx, name, "image", "Diwali offer: 20% off", mediaID, "t")
	if err != nil {
		t.Fatal(err)
	}
	return id, mediaID
}

func get(t *testing.T, h http.Handler, u string) (int, []byte) {
	t.Helper()
	var resp *http.Response
	if h != nil {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
		resp = rec.Result()
	} else {
		var err error
		if resp, err = http.Get(u); err != nil {
			t.Fatal(err)
		}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Each store: a text message comes back as text; an image with its bytes
// from the store and a link a provider can fetch.
func TestSavedMessages(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"local", "s3"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.OpenSQLite(t, storetest.Options{})
			r := newReader(t, db)
			if kind == "s3" {
				fakeS3(t, r)
			}
			files, storage, err := library.OpenStore(ctx, r, library.StoreOptions{LocalDir: t.TempDir(), LinkSecret: secret})
			if err != nil || storage != kind {
				t.Fatalf("open store: %s %v", storage, err)
			}
			textID, err := db.CreateSavedMessage(ctx, "thanks", "text", "Thank you for shopping!", 0, "t")
			if err != nil {
				t.Fatal(err)
			}
			imageID, mediaID := saveImage(t, db, files, storage, "diwali", []byte("JPEGDATA"))

			lib := library.New(db, files, storage)
			text, k, md, err := lib.SavedMessage(ctx, textID)
			if err != nil || k != queue.KindText || text != "Thank you for shopping!" || md != nil {
				t.Fatalf("text message: %q %s %v %v", text, k, md, err)
			}
			caption, k, md, err := lib.SavedMessage(ctx, imageID)
			if err != nil || k != queue.KindImage || caption != "Diwali offer: 20% off" || md == nil {
				t.Fatalf("image message: %q %s %v %v", caption, k, md, err)
			}
			if md.ID != mediaID || md.MIME != "image/jpeg" || md.Name != "offer.jpg" || md.Size != 8 {
				t.Fatalf("media: %+v", md)
			}
			rc, err := md.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) != "JPEGDATA" {
				t.Fatalf("media bytes %q", b)
			}

			var h http.Handler
			if kind == "local" {
				// No public base URL: no link, gateways upload the bytes.
				if md.PublicURL != "" {
					t.Fatalf("a link without media.public_base_url: %s", md.PublicURL)
				}
				set(t, r, library.SettingPublicBaseURL, "https://bot.example.com/")
				if _, _, md, _ = lib.SavedMessage(ctx, imageID); !strings.HasPrefix(md.PublicURL, "https://bot.example.com/media/") {
					t.Fatalf("local link %q", md.PublicURL)
				}
				h = files.(*media.Local).Handler()
			} else if !strings.Contains(md.PublicURL, "X-Amz-Signature=") || !strings.Contains(md.PublicURL, "/media/shop-1/sha256/") {
				t.Fatalf("s3 link %q is not a presigned GET", md.PublicURL)
			}
			if code, body := get(t, h, md.PublicURL); code != http.StatusOK || string(body) != "JPEGDATA" {
				t.Fatalf("fetching the link: %d %q", code, body)
			}

			// A file kept in the other store cannot be read here.
			other := map[string]string{"local": "s3", "s3": "local"}[kind]
			if _, _, _, err := library.New(db, files, other).SavedMessage(ctx, imageID); err == nil || !strings.Contains(err.Error(), "media.store") {
				t.Fatalf("other store: %v", err)
			}
			if _, _, _, err := lib.SavedMessage(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("missing message: %v", err)
			}
		})
	}
}

// media.store=s3 needs its settings at start; once running, the s3.*
// settings are followed without a restart.
func TestS3StoreFollowsSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t, storetest.Options{})
	r := newReader(t, db)
	set(t, r, library.SettingStore, "s3")
	_, _, err := library.OpenStore(ctx, r, library.StoreOptions{LocalDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "s3.bucket") || !strings.Contains(err.Error(), "MB_S3_ENDPOINT") {
		t.Fatalf("s3 without settings: %v", err)
	}
	fakeS3(t, r)
	files, _, err := library.OpenStore(ctx, r, library.StoreOptions{LocalDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Put(ctx, "a/b.jpg", strings.NewReader("x"), 1, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	set(t, r, library.SettingS3Bucket, "other")
	if _, err := files.Stat(ctx, "a/b.jpg"); !errors.Is(err, media.ErrNotFound) {
		t.Fatalf("after switching the bucket the old object is still seen: %v", err)
	}
	set(t, r, library.SettingS3Bucket, "media")
	if info, err := files.Stat(ctx, "a/b.jpg"); err != nil || info.Size != 1 {
		t.Fatalf("back on the first bucket: %+v %v", info, err)
	}
}
