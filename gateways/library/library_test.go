package library_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

func TestSavedMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.OpenSQLite(t, storetest.Options{})
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ab"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ab", "abcd.jpg"), []byte("JPEGDATA"), 0o600); err != nil {
		t.Fatal(err)
	}
	mediaID, err := db.CreateMediaObject(ctx, store.MediaObject{SHA256: "abcd", MIME: "image/jpeg", Size: 8, Storage: "local", StorageKey: "ab/abcd.jpg", OriginalName: "offer.jpg"}, "t")
	if err != nil {
		t.Fatal(err)
	}
	again, err := db.CreateMediaObject(ctx, store.MediaObject{SHA256: "abcd", MIME: "image/jpeg", Size: 8, Storage: "local", StorageKey: "other.jpg"}, "t")
	if err != nil || again != mediaID {
		t.Fatalf("same content stored twice: %d vs %d, %v", again, mediaID, err)
	}
	textID, err := db.CreateSavedMessage(ctx, "thanks", "text", "Thank you for shopping!", 0, "t")
	if err != nil {
		t.Fatal(err)
	}
	imageID, err := db.CreateSavedMessage(ctx, "diwali", "image", "Diwali offer: 20% off", mediaID, "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSavedMessage(ctx, "thanks", "text", "dup", 0, "t"); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}

	lib := library.New(db, dir, func(context.Context) string { return "https://cdn.example.com/media/" })
	text, kind, media, err := lib.SavedMessage(ctx, textID)
	if err != nil || kind != queue.KindText || text != "Thank you for shopping!" || media != nil {
		t.Fatalf("text message: %q %s %v %v", text, kind, media, err)
	}
	caption, kind, media, err := lib.SavedMessage(ctx, imageID)
	if err != nil || kind != queue.KindImage || caption != "Diwali offer: 20% off" || media == nil {
		t.Fatalf("image message: %q %s %v %v", caption, kind, media, err)
	}
	if media.ID != mediaID || media.MIME != "image/jpeg" || media.Name != "offer.jpg" || media.PublicURL != "https://cdn.example.com/media/ab%2Fabcd.jpg" {
		t.Fatalf("media: %+v", media)
	}
	rc, err := media.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "JPEGDATA" {
		t.Fatalf("media bytes %q", b)
	}
	if _, _, _, err := lib.SavedMessage(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing message: %v", err)
	}
}
