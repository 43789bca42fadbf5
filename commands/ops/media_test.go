package ops_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// Fixtures made by the test: real, tiny files of each accepted type.

func jpegFile(t testing.TB, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{shade, uint8(x * 30), uint8(y * 30), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngFile(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mp4File is an ISO media file: an ftyp box (brand isom) and an mdat box
// holding n bytes.
func mp4File(brand string, n int) []byte {
	b := []byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p'}
	b = append(b, brand...)
	b = append(b, 0, 0, 2, 0)
	b = append(b, brand...)
	b = append(b, 'm', 'p', '4', '1')
	size := 8 + n
	b = append(b, byte(size>>24), byte(size>>16), byte(size>>8), byte(size), 'm', 'd', 'a', 't')
	return append(b, bytes.Repeat([]byte{0x42}, n)...)
}

func upload(name, mimeType string, data []byte) *ops.Upload {
	return &ops.Upload{Name: name, MIME: mimeType, Size: int64(len(data)), Body: bytes.NewReader(data)}
}

// mediaRig is the operations over a database and a media store sharing
// one clock.
type mediaRig struct {
	svc   *ops.Service
	db    *store.DB
	media media.Store
	clock *storetest.Clock
}

// backends are the media stores the library runs on: a local folder, and
// S3 through minio-go against an in-process gofakes3 server.
func backends() map[string]func(t *testing.T) (media.Store, string) {
	return map[string]func(t *testing.T) (media.Store, string){
		"local": func(t *testing.T) (media.Store, string) {
			l, err := media.NewLocal(t.TempDir(), media.LocalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return l, "local"
		},
		"s3": func(t *testing.T) (media.Store, string) {
			backend := s3mem.New()
			if err := backend.CreateBucket("media"); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(gofakes3.New(backend).Server())
			t.Cleanup(srv.Close)
			s, err := media.NewS3(media.S3Config{Endpoint: srv.URL, Bucket: "media", Region: "us-east-1",
				AccessKey: "AKIATEST", SecretKey: "test-secret-key-0123456789", PathStyle: true, Prefix: "mb"})
			if err != nil {
				t.Fatal(err)
			}
			return s, "s3"
		},
	}
}

// forEachBackend runs fn on each media store, over each database dialect
// (MySQL when MB_TEST_MYSQL_DSN is set).
func forEachBackend(t *testing.T, fn func(t *testing.T, r *mediaRig)) {
	for name, open := range backends() {
		for _, d := range storetest.Dialects() {
			t.Run(name+"/"+string(d), func(t *testing.T) {
				t.Parallel()
				st, storage := open(t)
				fn(t, newMediaRigOn(t, d, st, storage, []ops.Gateway{{Name: "dryrun", Caps: allCaps}}))
			})
		}
	}
}

func newMediaRig(t *testing.T, st media.Store, storage string, gws []ops.Gateway) *mediaRig {
	t.Helper()
	return newMediaRigOn(t, store.SQLite, st, storage, gws)
}

func newMediaRigOn(t *testing.T, d store.Dialect, st media.Store, storage string, gws []ops.Gateway) *mediaRig {
	t.Helper()
	return newMediaRigAt(t, d, time.Date(2026, 10, 20, 9, 0, 0, 0, time.UTC), st, storage, gws)
}

// newMediaRigAt is newMediaRigOn with its clock standing at start.
func newMediaRigAt(t *testing.T, d store.Dialect, start time.Time, st media.Store, storage string, gws []ops.Gateway) *mediaRig {
	t.Helper()
	clock := storetest.NewClock(start)
	db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
	names := make([]string, len(gws))
	for i, g := range gws {
		names[i] = g.Name
	}
	reg, err := settings.NewRegistry(queue.SettingDefs(), ops.SettingDefs(names))
	if err != nil {
		t.Fatal(err)
	}
	r := settings.NewReader(reg, db, time.Nanosecond, nil)
	svc := ops.New(db, r, ops.Config{Gateways: gws, Now: clock.Now, Media: st, MediaStorage: storage, TempDir: t.TempDir()}, nil)
	return &mediaRig{svc: svc, db: db, media: st, clock: clock}
}

// keys lists the media store's keys.
func (r *mediaRig) keys(t *testing.T) []string {
	t.Helper()
	var out []string
	if err := r.media.List(context.Background(), "", func(i media.Info) error {
		out = append(out, i.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// stored reads the file of a saved message back from the media store.
func (r *mediaRig) stored(t *testing.T, name string) (ops.MediaObject, []byte) {
	t.Helper()
	ctx := context.Background()
	p, err := r.svc.PreviewMessage(ctx, operator, name)
	if err != nil {
		t.Fatalf("preview %q: %v", name, err)
	}
	if p.Media == nil {
		t.Fatalf("%q has no media", name)
	}
	rc, err := r.svc.OpenMedia(ctx, *p.Media)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return *p.Media, b
}

func (r *mediaRig) save(t *testing.T, name, caption string, up *ops.Upload) ops.SavedMessage {
	t.Helper()
	m, err := r.svc.SaveMessage(context.Background(), operator, ops.SaveRequest{Name: name, Text: caption, File: up})
	if err != nil {
		t.Fatalf("save %q: %v", name, err)
	}
	return m
}

// Good files of each type are saved with the type their bytes show, once
// per content; bad ones are refused with the reason and leave nothing in
// the media store or the database.
func TestMediaValidation(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, r *mediaRig) {
		ctx := context.Background()
		jpg, pngData := jpegFile(t, 10), pngFile(t)
		big := mp4File("isom", 5<<20) // past the in-memory part of the spool
		good := []struct {
			name string
			up   *ops.Upload
			kind string
			mime string
			data []byte
		}{
			{"Diwali offer", upload("offer.jpg", "image/jpeg", jpg), ops.KindImage, "image/jpeg", jpg},
			{"logo", upload("logo.png", "", pngData), ops.KindImage, "image/png", pngData},
			{"clip", upload("clip.mp4", "video/mp4", mp4File("isom", 64)), ops.KindVideo, "video/mp4", mp4File("isom", 64)},
			{"old phone clip", upload("clip.3gp", "", mp4File("3gp4", 64)), ops.KindVideo, "video/3gpp", mp4File("3gp4", 64)},
			{"no name", &ops.Upload{Size: -1, Body: bytes.NewReader(jpegFile(t, 99))}, ops.KindImage, "image/jpeg", jpegFile(t, 99)},
			{"big video", upload("big.mp4", "video/mp4", big), ops.KindVideo, "video/mp4", big},
		}
		for _, g := range good {
			m := r.save(t, g.name, "Caption of "+g.name, g.up)
			if m.Name != g.name || m.Kind != g.kind || m.Body != "Caption of "+g.name || m.State != ops.SavedActive || m.CreatedBy != operator.Identity {
				t.Fatalf("saved %+v", m)
			}
			obj, data := r.stored(t, g.name)
			if obj.MIME != g.mime || obj.Size != int64(len(g.data)) || !bytes.Equal(data, g.data) || !strings.HasPrefix(obj.StorageKey, "sha256/") {
				t.Fatalf("%s: object %+v, %d bytes back", g.name, obj, len(data))
			}
		}
		// The same content under another name is stored once.
		again := r.save(t, "offer copy", "", upload("copy.jpeg", "image/jpeg", jpg))
		first, _ := r.svc.PreviewMessage(ctx, operator, "Diwali offer")
		if again.MediaID != first.Message.MediaID {
			t.Fatalf("the same file got media %v and %v", again.MediaID, first.Message.MediaID)
		}
		before := r.keys(t)
		if len(before) != len(good) {
			t.Fatalf("media store holds %v, want %d files", before, len(good))
		}

		if _, err := r.svc.SetSetting(ctx, admin, ops.SettingMediaMaxImageMB, "1", false); err != nil {
			t.Fatal(err)
		}
		oversized := append(jpegFile(t, 200), make([]byte, 1<<20)...)
		failing := &ops.Upload{Name: "huge.mp4", MIME: "video/mp4", Size: 200 << 20, Body: iotestErrReader{}}
		bad := []struct {
			name    string
			up      *ops.Upload
			phrases []string
		}{
			{"text as jpg", upload("offer.jpg", "", []byte("This is not a picture at all, just some words.\n")), []string{"offer.jpg", "claims to be a JPEG image", "text"}},
			{"pdf", upload("price list.pdf", "application/pdf", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")), []string{"PDF document", "cannot be sent", "JPEG or PNG"}},
			{"pdf as jpg", upload("offer.jpg", "image/jpeg", []byte("%PDF-1.4\n1 0 obj\n")), []string{"claims to be a JPEG image", "PDF"}},
			{"png as jpg", upload("logo.jpg", "", pngFile(t)), []string{"claims to be a JPEG image", "a PNG image"}},
			{"oversized jpeg", upload("big.jpg", "image/jpeg", oversized), []string{"big.jpg", "is 1.1 MB", "at most 1 MB", ops.SettingMediaMaxImageMB}},
			{"declared too large", failing, []string{"200 MB", "too large"}},
			{"empty", upload("empty.png", "image/png", nil), []string{"empty"}},
			{"unknown bytes", upload("", "", []byte{0x01, 0x02, 0x03, 0x04}), []string{"do not recognise"}},
		}
		for _, b := range bad {
			_, err := r.svc.SaveMessage(ctx, operator, ops.SaveRequest{Name: b.name, File: b.up})
			wantCode(t, err, ops.EINVALID, append(b.phrases, "Nothing was saved")...)
			if _, err := r.db.SavedMessageByName(ctx, b.name); !isNotFound(err) {
				t.Fatalf("%s: a saved message was left: %v", b.name, err)
			}
		}
		if after := r.keys(t); len(after) != len(before) {
			t.Fatalf("refused files reached the media store: %v", after)
		}
		if _, err := r.db.MediaObjectBySHA(ctx, strings.Repeat("0", 64)); !isNotFound(err) {
			t.Fatal(err)
		}
		// A video may be larger than an image.
		r.save(t, "video over the image limit", "", upload("v.mp4", "video/mp4", mp4File("isom", 3<<20)))

		// Names: unique, trimmed, and the caption within WhatsApp's limit.
		_, err := r.svc.SaveMessage(ctx, operator, ops.SaveRequest{Name: "logo", File: upload("l.png", "", pngFile(t))})
		wantCode(t, err, ops.ECONFLICT, `already a saved message called "logo"`)
		_, err = r.svc.SaveMessage(ctx, operator, ops.SaveRequest{Name: "long caption", Text: strings.Repeat("x", 1025), File: upload("l.png", "", pngFile(t))})
		wantCode(t, err, ops.EINVALID, "1025 characters")
		_, err = r.svc.SaveMessage(ctx, staff, ops.SaveRequest{Name: "staff", Text: "hi"})
		wantCode(t, err, ops.EFORBIDDEN)
	})
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) {
	return 0, errors.New("read a body that should not be read")
}

// Text messages: saved, listed, previewed, archived, restored and
// deleted; intake.message makes staff sends use one, /send <phone> <name>
// overrides it, and an archived one is refused with the reason.
func TestSavedTextMessagesAndIntakeMessage(t *testing.T) {
	t.Parallel()
	r := newMediaRig(t, nil, "", nil)
	ctx := context.Background()
	for name, text := range map[string]string{"thanks": "Thank you for shopping with us!", "Diwali offer": "20% off all week"} {
		if m := r.save(t, name, text, nil); m.Kind != ops.KindText || m.Body != text {
			t.Fatalf("saved %+v", m)
		}
	}
	_, err := r.svc.SaveMessage(ctx, operator, ops.SaveRequest{Name: "empty"})
	wantCode(t, err, ops.EINVALID, "needs a text")
	_, err = r.svc.SaveMessage(ctx, operator, ops.SaveRequest{Name: " spaced ", Text: "x"})
	if err != nil {
		t.Fatalf("a name with spaces around is trimmed: %v", err)
	}
	_, err = r.svc.SaveMessage(ctx, operator, ops.SaveRequest{Name: "pic", File: upload("a.png", "", pngFile(t))})
	wantCode(t, err, ops.ECONFLICT, "no media store")

	list, err := r.svc.Messages(ctx, operator, false)
	if err != nil || len(list) != 3 || list[0].Name != "Diwali offer" {
		t.Fatalf("list %+v %v", list, err)
	}

	// intake.message names the staff message.
	if _, err := r.svc.SetSetting(ctx, operator, ops.SettingIntakeMessage, "nope", false); ops.ErrorCode(err) != ops.ENOTFOUND {
		t.Fatalf("intake.message naming no message: %v", err)
	}
	if _, err := r.svc.SetSetting(ctx, operator, ops.SettingIntakeMessage, "thanks", false); err != nil {
		t.Fatal(err)
	}
	thanks, _ := r.db.SavedMessageByName(ctx, "thanks")
	offer, _ := r.db.SavedMessageByName(ctx, "Diwali offer")
	queued := func(req ops.IntakeRequest) store.QueueItem {
		t.Helper()
		res, err := r.svc.Intake(ctx, staff, req)
		if err != nil || len(res.Queued) != 1 {
			t.Fatalf("intake %+v: %+v %v", req, res, err)
		}
		it, err := r.db.QueueItem(ctx, res.Queued[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	if it := queued(ops.IntakeRequest{Phones: []string{"9876543210"}}); it.Content.Kind != ops.ContentSavedMessage || it.Content.SavedMessageID != thanks.ID {
		t.Fatalf("staff send with intake.message: %+v", it.Content)
	}
	if it := queued(ops.IntakeRequest{Phones: []string{"9876543211"}, SavedMessage: "Diwali offer"}); it.Content.SavedMessageID != offer.ID {
		t.Fatalf("/send <phone> <saved> overrides intake.message: %+v", it.Content)
	}

	// Archived: not listed, not sent, still previewed.
	ch, err := r.svc.SetMessageState(ctx, operator, "thanks", ops.SavedArchived)
	if err != nil || ch.Message.State != ops.SavedArchived || !ch.StaffMessage || ch.Message.UpdatedBy != operator.Identity {
		t.Fatalf("archive: %+v %v", ch, err)
	}
	_, err = r.svc.SetMessageState(ctx, operator, "thanks", ops.SavedArchived)
	wantCode(t, err, ops.ECONFLICT, "archived already")
	if list, _ := r.svc.Messages(ctx, operator, false); len(list) != 2 {
		t.Fatalf("active list %+v", list)
	}
	if list, _ := r.svc.Messages(ctx, operator, true); len(list) != 3 {
		t.Fatalf("full list %+v", list)
	}
	if p, err := r.svc.PreviewMessage(ctx, operator, "thanks"); err != nil || p.Message.State != ops.SavedArchived || p.Media != nil {
		t.Fatalf("preview archived: %+v %v", p, err)
	}
	_, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543212"}})
	wantCode(t, err, ops.ECONFLICT, `staff message "thanks"`, "archived", ops.SettingIntakeMessage)
	_, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543212"}, SavedMessage: "thanks"})
	wantCode(t, err, ops.ECONFLICT, "archived", "/message restore thanks")
	if _, err := r.svc.SetMessageState(ctx, operator, "thanks", ops.SavedActive); err != nil {
		t.Fatal(err)
	}
	queued(ops.IntakeRequest{Phones: []string{"9876543212"}})

	// Deleted: final, and the name is free again.
	if _, err := r.svc.SetMessageState(ctx, operator, "Diwali offer", ops.SavedDeleted); err != nil {
		t.Fatal(err)
	}
	_, err = r.svc.SetMessageState(ctx, operator, "Diwali offer", ops.SavedActive)
	wantCode(t, err, ops.ECONFLICT, "deleted already")
	_, err = r.svc.PreviewMessage(ctx, operator, "Diwali offer")
	wantCode(t, err, ops.ENOTFOUND, "was deleted")
	_, err = r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543213"}, SavedMessage: "Diwali offer"})
	wantCode(t, err, ops.ECONFLICT, "deleted")
	r.save(t, "Diwali offer", "25% off now", nil)
	_, err = r.svc.SetMessageState(ctx, operator, "missing", ops.SavedArchived)
	wantCode(t, err, ops.ENOTFOUND, `no saved message called "missing"`)
	_, err = r.svc.Messages(ctx, staff, false)
	wantCode(t, err, ops.EFORBIDDEN)
}

// After a replace the old file goes only after the grace period and only
// when nothing uses it; a queued send keeps its file alive, also for a
// deleted message and for a file sent once with /send.
func TestReplaceAndCleanup(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, r *mediaRig) {
		ctx := context.Background()
		a, b, c, d := jpegFile(t, 1), jpegFile(t, 2), jpegFile(t, 3), mp4File("isom", 100)
		objectOf := func(name string) ops.MediaObject {
			t.Helper()
			obj, _ := r.stored(t, name)
			return obj
		}
		exists := func(obj ops.MediaObject) bool {
			t.Helper()
			_, err := r.media.Stat(ctx, obj.StorageKey)
			if err != nil && !errors.Is(err, media.ErrNotFound) {
				t.Fatal(err)
			}
			_, rowErr := r.db.MediaObject(ctx, obj.ID)
			if (err == nil) != (rowErr == nil) {
				t.Fatalf("object %d: file there %v, row there %v", obj.ID, err == nil, rowErr == nil)
			}
			return err == nil
		}
		cleanup := func(wantDeleted int) ops.CleanupResult {
			t.Helper()
			res, err := r.svc.CleanupMedia(ctx, admin, 0)
			if err != nil || res.Deleted != wantDeleted || res.Failed != 0 {
				t.Fatalf("cleanup: %+v %v, want %d deleted", res, err, wantDeleted)
			}
			return res
		}

		// Replace: the name and caption stay, the file changes.
		r.save(t, "offer", "Diwali offer", upload("a.jpg", "image/jpeg", a))
		old := objectOf("offer")
		m, err := r.svc.ReplaceMedia(ctx, operator, "offer", *upload("b.mp4", "video/mp4", d))
		if err != nil || m.Name != "offer" || m.Body != "Diwali offer" || m.Kind != ops.KindVideo || m.MediaID.Int64 == old.ID {
			t.Fatalf("replace: %+v %v", m, err)
		}
		_, err = r.svc.ReplaceMedia(ctx, operator, "offer", *upload("x.txt", "", []byte("words, not a picture")))
		wantCode(t, err, ops.EINVALID, "Nothing was saved")
		r.save(t, "note", "just text", nil)
		_, err = r.svc.ReplaceMedia(ctx, operator, "note", *upload("b.jpg", "image/jpeg", b))
		wantCode(t, err, ops.ECONFLICT, "text message")
		current := objectOf("offer")

		// A file sent once with /send, and a message deleted while a send of
		// it is queued.
		res, err := r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543210"}, Attachment: upload("photo.jpg", "image/jpeg", b), Caption: "Your bill"})
		if err != nil || len(res.Queued) != 1 {
			t.Fatalf("send with attachment: %+v %v", res, err)
		}
		it, _ := r.db.QueueItem(ctx, res.Queued[0].ID)
		sent, err := r.db.SavedMessageByID(ctx, it.Content.SavedMessageID)
		if err != nil || sent.Name != "" || sent.Kind != ops.KindImage || sent.Body != "Your bill" {
			t.Fatalf("attachment message %+v %v", sent, err)
		}
		attached, _ := r.db.MediaObject(ctx, sent.MediaID.Int64)
		r.save(t, "promo", "", upload("c.jpg", "image/jpeg", c))
		promo := objectOf("promo")
		if _, err := r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"9876543211"}, SavedMessage: "promo"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.SetMessageState(ctx, operator, "promo", ops.SavedDeleted); err != nil {
			t.Fatal(err)
		}
		// An attachment with no number to send to is not stored.
		keys := len(r.keys(t))
		if res, err := r.svc.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{"12345"}, Attachment: upload("d.jpg", "image/jpeg", jpegFile(t, 4))}); err != nil || len(res.Queued) != 0 {
			t.Fatalf("attachment without a valid number: %+v %v", res, err)
		}
		if len(r.keys(t)) != keys {
			t.Fatal("an attachment sent to no one was stored")
		}

		// Within the grace nothing goes.
		r.clock.Advance(23 * time.Hour)
		cleanup(0)
		if !exists(old) {
			t.Fatal("the replaced file went within the grace period")
		}
		// After it, only the replaced file: the others are in use.
		r.clock.Advance(2 * time.Hour)
		cleanup(1)
		if exists(old) || !exists(current) || !exists(attached) || !exists(promo) {
			t.Fatalf("after the grace: old %v current %v attached %v promo %v", exists(old), exists(current), exists(attached), exists(promo))
		}
		// Once the queued sends are done, their files go too.
		if n := sendAll(t, r.db); n != 2 {
			t.Fatalf("sent %d", n)
		}
		cleanup(2)
		if exists(attached) || exists(promo) || !exists(current) {
			t.Fatal("after the sends: the files of finished sends should go, the offer's stay")
		}
		cleanup(0)

		// A deleted file saved again is stored again.
		r.save(t, "offer again", "", upload("a.jpg", "image/jpeg", a))
		if again := objectOf("offer again"); again.ID != old.ID || !exists(again) {
			t.Fatalf("saved again: %+v", again)
		}
		_, err = r.svc.CleanupMedia(ctx, operator, 0)
		wantCode(t, err, ops.EFORBIDDEN)
	})
}

// A gateway that cannot send media refuses an attachment before anything
// is stored.
func TestAttachmentNeedsAMediaGateway(t *testing.T) {
	t.Parallel()
	st, storage := backends()["local"](t)
	r := newMediaRig(t, st, storage, []ops.Gateway{{Name: "textonly", Caps: queue.Capabilities{Text: true}}})
	_, err := r.svc.Intake(context.Background(), staff, ops.IntakeRequest{Phones: []string{"9876543210"}, Attachment: upload("a.jpg", "image/jpeg", jpegFile(t, 5))})
	wantCode(t, err, ops.ECONFLICT, "cannot send images or videos")
	if len(r.keys(t)) != 0 {
		t.Fatal("a refused attachment was stored")
	}
}
