package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"

	"github.com/messagebridge/messagebridge/migrations"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// libraryEpoch is the store clock's start in the library tests.
var libraryEpoch = time.Date(2026, 10, 20, 8, 30, 0, 654321000, time.UTC)

// forEachDialectParallel runs fn on a fresh database of each dialect, in
// parallel subtests, with a manual clock.
func forEachDialectParallel(t *testing.T, fn func(t *testing.T, db *store.DB, clock *storetest.Clock)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(libraryEpoch)
			fn(t, storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now}), clock)
		})
	}
}

func newMedia(t *testing.T, db *store.DB, sha string) int64 {
	t.Helper()
	id, err := db.CreateMediaObject(context.Background(), store.MediaObject{SHA256: sha, MIME: "image/jpeg", Size: 3,
		Storage: "local", StorageKey: sha + ".jpg", OriginalName: sha + ".jpg"}, "telegram:1")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func names(ms []store.SavedMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// Saved messages: create, list, archive, restore, delete, and a deleted
// name given to a new message.
func TestSavedMessageLifecycle(t *testing.T) {
	t.Parallel()
	forEachDialectParallel(t, func(t *testing.T, db *store.DB, clock *storetest.Clock) {
		ctx := context.Background()
		img := newMedia(t, db, "aa01")
		thanks, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "thank you", Kind: "text", Body: "Thanks!", Actor: "telegram:1"})
		if err != nil {
			t.Fatal(err)
		}
		offer, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "diwali offer", Kind: "image", Body: "20% off", MediaID: img, Actor: "telegram:1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "thank you", Kind: "text", Body: "again", Actor: "t"}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("duplicate name: %v, want ErrExists", err)
		}
		for _, bad := range []store.NewSavedMessage{
			{Name: "", Kind: "text", Body: "x"},
			{Name: " padded", Kind: "text", Body: "x"},
			{Name: "tab\there", Kind: "text", Body: "x"},
			{Name: "no body", Kind: "text", Body: " "},
			{Name: "text with media", Kind: "text", Body: "x", MediaID: img},
			{Name: "image without media", Kind: "image", Body: "x"},
			{Name: "audio", Kind: "audio", Body: "x"},
		} {
			if _, err := db.AddSavedMessage(ctx, bad); err == nil {
				t.Errorf("%+v was accepted", bad)
			}
		}
		if _, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "ghost", Kind: "image", MediaID: 9999}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown media: %v, want ErrNotFound", err)
		}

		m, err := db.SavedMessageByName(ctx, "diwali offer")
		if err != nil {
			t.Fatal(err)
		}
		if m.ID != offer || m.State != store.SavedActive || !m.Usable() || m.Kind != "image" || m.MediaID.Int64 != img ||
			m.Body != "20% off" || m.CreatedBy != "telegram:1" || !m.CreatedAt.Equal(libraryEpoch) || !m.DeletedAt.IsZero() {
			t.Fatalf("saved message = %+v", m)
		}
		list, err := db.SavedMessages(ctx, false)
		if err != nil || !slices.Equal(names(list), []string{"diwali offer", "thank you"}) {
			t.Fatalf("list = %v, %v", names(list), err)
		}

		// Archive: still reserved, listed only on request, found with its state.
		clock.Advance(time.Minute)
		got, err := db.SetSavedMessageState(ctx, "thank you", store.SavedArchived, "telegram:2")
		if err != nil || got.State != store.SavedArchived || got.UpdatedBy != "telegram:2" || !got.UpdatedAt.Equal(clock.Now()) {
			t.Fatalf("archive: %+v, %v", got, err)
		}
		if _, err := db.SetSavedMessageState(ctx, "thank you", store.SavedArchived, "t"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("archive twice: %v, want ErrConflict", err)
		}
		if list, _ := db.SavedMessages(ctx, false); !slices.Equal(names(list), []string{"diwali offer"}) {
			t.Fatalf("active list = %v", names(list))
		}
		if list, _ := db.SavedMessages(ctx, true); !slices.Equal(names(list), []string{"diwali offer", "thank you"}) {
			t.Fatalf("list with archived = %v", names(list))
		}
		if m, err := db.SavedMessageByName(ctx, "thank you"); err != nil || m.State != store.SavedArchived || m.Usable() {
			t.Fatalf("archived by name: %+v, %v", m, err)
		}
		if _, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "thank you", Kind: "text", Body: "x"}); !errors.Is(err, store.ErrExists) {
			t.Fatalf("an archived message's name was given again: %v", err)
		}
		if m, err := db.SetSavedMessageState(ctx, "thank you", store.SavedActive, "t"); err != nil || m.State != store.SavedActive {
			t.Fatalf("restore: %+v, %v", m, err)
		}

		// Delete: the name is free; by name the deleted message is found
		// until a new one takes the name; by id it stays readable.
		clock.Advance(time.Minute)
		got, err = db.SetSavedMessageState(ctx, "thank you", store.SavedDeleted, "telegram:3")
		if err != nil || got.State != store.SavedDeleted || !got.DeletedAt.Equal(clock.Now()) {
			t.Fatalf("delete: %+v, %v", got, err)
		}
		if m, err := db.SavedMessageByName(ctx, "thank you"); err != nil || m.State != store.SavedDeleted || m.ID != thanks {
			t.Fatalf("deleted by name: %+v, %v", m, err)
		}
		for _, st := range []store.SavedMessageState{store.SavedActive, store.SavedArchived, store.SavedDeleted} {
			if _, err := db.SetSavedMessageState(ctx, "thank you", st, "t"); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("set %s on a deleted message: %v, want ErrConflict", st, err)
			}
		}
		if _, err := db.SetSavedMessageState(ctx, "nobody", store.SavedArchived, "t"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown name: %v, want ErrNotFound", err)
		}
		if list, _ := db.SavedMessages(ctx, true); !slices.Equal(names(list), []string{"diwali offer"}) {
			t.Fatalf("list after delete = %v", names(list))
		}
		again, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "thank you", Kind: "text", Body: "Thanks again!", Actor: "t"})
		if err != nil {
			t.Fatalf("reuse of a deleted name: %v", err)
		}
		if m, err := db.SavedMessageByName(ctx, "thank you"); err != nil || m.ID != again || m.State != store.SavedActive {
			t.Fatalf("reused name: %+v, %v", m, err)
		}
		if m, err := db.SavedMessageByID(ctx, thanks); err != nil || m.State != store.SavedDeleted || m.Body != "Thanks!" {
			t.Fatalf("deleted by id: %+v, %v", m, err)
		}
		// Deleted again and reused again: names repeat among deleted rows.
		if _, err := db.SetSavedMessageState(ctx, "thank you", store.SavedDeleted, "t"); err != nil {
			t.Fatal(err)
		}
		third, err := db.CreateSavedMessage(ctx, "thank you", "text", "Third", 0, "t")
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := db.SavedMessageByName(ctx, "thank you"); m.ID != third {
			t.Fatalf("by name after two deletes: %+v", m)
		}
		if _, err := db.SavedMessageByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown name: %v", err)
		}
	})
}

// Media objects are stored once per content: the same SHA-256 gives the
// same object, and a deleted one comes back when stored again.
func TestMediaObjectsByContent(t *testing.T) {
	t.Parallel()
	forEachDialectParallel(t, func(t *testing.T, db *store.DB, clock *storetest.Clock) {
		ctx := context.Background()
		id := newMedia(t, db, "bb01")
		again, err := db.CreateMediaObject(ctx, store.MediaObject{SHA256: "bb01", MIME: "image/png", Size: 3, Storage: "s3", StorageKey: "other"}, "t")
		if err != nil || again != id {
			t.Fatalf("same content: id %d, want %d (%v)", again, id, err)
		}
		m, err := db.MediaObjectBySHA(ctx, "bb01")
		if err != nil || m.ID != id || m.StorageKey != "bb01.jpg" || m.Storage != "local" || m.CreatedBy != "telegram:1" {
			t.Fatalf("by sha: %+v, %v", m, err)
		}
		if _, err := db.MediaObjectBySHA(ctx, "ffff"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown sha: %v", err)
		}
		if _, err := db.CreateMediaObject(ctx, store.MediaObject{SHA256: "bb02", Storage: "ftp", StorageKey: "k"}, "t"); err == nil {
			t.Fatal("unknown storage accepted")
		}

		clock.Advance(time.Hour)
		if ok, err := db.MarkMediaDeleted(ctx, id, clock.Now()); err != nil || !ok {
			t.Fatalf("mark deleted: %v %v", ok, err)
		}
		if ok, err := db.MarkMediaDeleted(ctx, id, clock.Now()); err != nil || ok {
			t.Fatalf("mark deleted twice: %v %v", ok, err)
		}
		if _, err := db.MarkMediaDeleted(ctx, 9999, clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown object: %v", err)
		}
		if _, err := db.MediaObjectBySHA(ctx, "bb01"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted by sha: %v", err)
		}
		if _, err := db.MediaObject(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted by id: %v", err)
		}
		if _, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "late", Kind: "image", MediaID: id}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a deleted object was referenced: %v", err)
		}
		back, err := db.CreateMediaObject(ctx, store.MediaObject{SHA256: "bb01", MIME: "image/jpeg", Size: 3, Storage: "s3", StorageKey: "media/bb01-2"}, "t")
		if err != nil || back != id {
			t.Fatalf("stored again: id %d, want %d (%v)", back, id, err)
		}
		m, err = db.MediaObject(ctx, id)
		if err != nil || m.Storage != "s3" || m.StorageKey != "media/bb01-2" {
			t.Fatalf("undeleted object: %+v, %v", m, err)
		}
		// Stored again, its grace period starts over.
		if got, _ := db.UnreferencedMedia(ctx, clock.Now(), 10); len(got) != 0 {
			t.Fatalf("a re-stored object is unreferenced at once: %+v", got)
		}
	})
}

// Cleanup finds exactly the objects that no active or archived saved
// message and no queued or processing item references, stored before the
// grace period; replacing a message's media leaves the old object to it.
func TestUnreferencedMedia(t *testing.T) {
	t.Parallel()
	forEachDialectParallel(t, func(t *testing.T, db *store.DB, clock *storetest.Clock) {
		ctx := context.Background()
		media := map[string]int64{}
		for _, name := range []string{"active", "archived", "deleted", "old", "new", "queued", "sent", "processing", "deleted-queued"} {
			media[name] = newMedia(t, db, "cc-"+name)
		}
		add := func(name, key string) {
			t.Helper()
			if _, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: name, Kind: "image", Body: name, MediaID: media[key], Actor: "t"}); err != nil {
				t.Fatal(err)
			}
		}
		setState := func(name string, st store.SavedMessageState) {
			t.Helper()
			if _, err := db.SetSavedMessageState(ctx, name, st, "t"); err != nil {
				t.Fatal(err)
			}
		}
		add("a", "active")
		add("b", "archived")
		setState("b", store.SavedArchived)
		add("c", "deleted")
		setState("c", store.SavedDeleted)
		add("r", "old")
		prev, err := db.ReplaceSavedMessageMedia(ctx, "r", media["new"], "video", "telegram:4")
		if err != nil || prev != media["old"] {
			t.Fatalf("replace: previous %d, want %d (%v)", prev, media["old"], err)
		}
		if m, _ := db.SavedMessageByName(ctx, "r"); m.Kind != "video" || m.MediaID.Int64 != media["new"] || m.Body != "r" || m.UpdatedBy != "telegram:4" {
			t.Fatalf("replaced message: %+v", m)
		}
		if _, err := db.ReplaceSavedMessageMedia(ctx, "c", media["new"], "image", "t"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("replace on a deleted message: %v, want ErrConflict", err)
		}
		if _, err := db.ReplaceSavedMessageMedia(ctx, "zz", media["new"], "image", "t"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("replace on an unknown message: %v, want ErrNotFound", err)
		}
		// Attachments sent with /send: unnamed messages, referenced by items.
		attach := func(key, phone string) int64 {
			t.Helper()
			msg, ids, err := db.EnqueueAttachment(ctx, store.NewSavedMessage{Kind: "image", Body: "see this", MediaID: media[key], Actor: "telegram:5"},
				[]store.NewQueueItem{{Phone: phone, MaxAttempts: 3, Priority: store.PriorityIntake, CreatedBy: "telegram:5"}})
			if err != nil || len(ids) != 1 {
				t.Fatalf("attachment: %v %v", ids, err)
			}
			it, err := db.QueueItem(ctx, ids[0])
			if err != nil || it.Content.Kind != store.ContentSavedMessage || it.Content.SavedMessageID != msg {
				t.Fatalf("attachment item: %+v, %v", it, err)
			}
			return ids[0]
		}
		attach("queued", "+919800000001")
		sentID := attach("sent", "+919800000002")
		procID := attach("processing", "+919800000003")
		// A queued item of a message deleted since keeps its media.
		add("d", "deleted-queued")
		dq, _ := db.SavedMessageByName(ctx, "d")
		if _, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919800000004", MaxAttempts: 3, Priority: 9,
			Content: store.QueueContent{Kind: store.ContentSavedMessage, SavedMessageID: dq.ID}}}); err != nil {
			t.Fatal(err)
		}
		setState("d", store.SavedDeleted)
		if list, _ := db.SavedMessages(ctx, true); !slices.Equal(names(list), []string{"a", "b", "r"}) {
			t.Fatalf("attachments or deleted messages listed: %v", names(list))
		}

		// Claim the first two intake items ("queued" and "sent"): "sent" is
		// sent, "queued" stays processing, "processing" stays queued.
		claimed, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 2, Owner: "p", Token: "tok"})
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claim: %+v, %v", claimed, err)
		}
		var out []store.Outcome
		for _, it := range claimed {
			if it.ID == sentID {
				out = append(out, store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusSent, ProviderMessageID: "p1", Gateway: "g"})
			}
		}
		if len(out) != 1 {
			t.Fatalf("claimed %+v, want the sent item among them", claimed)
		}
		if _, err := db.CompleteQueueItems(ctx, out); err != nil {
			t.Fatal(err)
		}
		if it, _ := db.QueueItem(ctx, procID); it.Status != store.StatusProcessing && it.Status != store.StatusQueued {
			t.Fatalf("item %d is %s", procID, it.Status)
		}

		unreferenced := func(olderThan time.Time) []string {
			t.Helper()
			got, err := db.UnreferencedMedia(ctx, olderThan, 100)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, m := range got {
				for k, id := range media {
					if id == m.ID {
						keys = append(keys, k)
					}
				}
			}
			slices.Sort(keys)
			return keys
		}
		// Within the grace period nothing goes.
		if got := unreferenced(clock.Now()); len(got) != 0 {
			t.Fatalf("within the grace period: %v", got)
		}
		clock.Advance(time.Hour)
		want := []string{"deleted", "old", "sent"}
		if got := unreferenced(clock.Now()); !slices.Equal(got, want) {
			t.Fatalf("unreferenced = %v, want %v", got, want)
		}
		// An object stored after the grace period began stays.
		fresh := newMedia(t, db, "cc-fresh")
		if got := unreferenced(clock.Now().Add(-time.Second)); !slices.Equal(got, want) {
			t.Fatalf("with a fresh object: %v, want %v", got, want)
		}
		if ok, err := db.MarkMediaDeleted(ctx, fresh, clock.Now().Add(-time.Second)); err != nil || ok {
			t.Fatalf("a fresh object was marked: %v %v", ok, err)
		}
		if got, _ := db.UnreferencedMedia(ctx, clock.Now(), 2); len(got) != 2 {
			t.Fatalf("limit 2 gave %d", len(got))
		}

		// A reference that appears after the listing keeps the object.
		if _, err := db.AddSavedMessage(ctx, store.NewSavedMessage{Name: "revived", Kind: "image", MediaID: media["old"]}); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.MarkMediaDeleted(ctx, media["old"], clock.Now()); err != nil || ok {
			t.Fatalf("a referenced object was marked: %v %v", ok, err)
		}
		// So does an attachment sent again, and a queued item.
		if ok, err := db.MarkMediaDeleted(ctx, media["queued"], clock.Now()); err != nil || ok {
			t.Fatalf("an object of a queued item was marked: %v %v", ok, err)
		}
		if ok, err := db.MarkMediaDeleted(ctx, media["deleted-queued"], clock.Now()); err != nil || ok {
			t.Fatalf("an object of a queued item of a deleted message was marked: %v %v", ok, err)
		}
		attach("sent", "+919800000009")
		if ok, err := db.MarkMediaDeleted(ctx, media["sent"], clock.Now()); err != nil || ok {
			t.Fatalf("an object sent again was marked: %v %v", ok, err)
		}
		if ok, err := db.MarkMediaDeleted(ctx, media["deleted"], clock.Now()); err != nil || !ok {
			t.Fatalf("an unreferenced object was not marked: %v %v", ok, err)
		}
		if got := unreferenced(clock.Now()); len(got) != 0 {
			t.Fatalf("after marking: %v", got)
		}
		if _, _, err := db.EnqueueAttachment(ctx, store.NewSavedMessage{Kind: "image", MediaID: media["deleted"]},
			[]store.NewQueueItem{{Phone: "+919800000010", MaxAttempts: 1}}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("attachment of a deleted object: %v, want ErrNotFound", err)
		}
		if _, _, err := db.EnqueueAttachment(ctx, store.NewSavedMessage{Name: "named", Kind: "image", MediaID: media["new"]},
			[]store.NewQueueItem{{Phone: "+919800000010", MaxAttempts: 1}}); err == nil {
			t.Fatal("a named attachment was accepted")
		}
	})
}

// A saved message made while cleanup marks its media object either keeps
// the object or is refused: never a message whose media is deleted.
func TestMarkMediaDeletedRacesReferences(t *testing.T) {
	t.Parallel()
	forEachDialectParallel(t, func(t *testing.T, db *store.DB, clock *storetest.Clock) {
		ctx := context.Background()
		const rounds = 20
		ids := make([]int64, rounds)
		for i := range ids {
			ids[i] = newMedia(t, db, fmt.Sprintf("dd%02d", i))
		}
		clock.Advance(time.Hour)
		for i, id := range ids {
			var wg sync.WaitGroup
			var marked bool
			var markErr, addErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				marked, markErr = db.MarkMediaDeleted(ctx, id, clock.Now())
			}()
			go func() {
				defer wg.Done()
				_, addErr = db.AddSavedMessage(ctx, store.NewSavedMessage{Name: fmt.Sprintf("m%d", i), Kind: "image", MediaID: id})
			}()
			wg.Wait()
			if markErr != nil || (addErr != nil && !errors.Is(addErr, store.ErrNotFound)) {
				t.Fatalf("round %d: mark %v, add %v", i, markErr, addErr)
			}
			if marked == (addErr == nil) {
				t.Fatalf("round %d: marked %v, message added %v", i, marked, addErr == nil)
			}
		}
	})
}

// Migration 00003 keeps existing saved messages, deleted ones deleted, and
// the queue items and campaigns that reference them; foreign keys hold
// afterwards. Its Down migration gives the names their UNIQUE back.
func TestSavedMessageStatesMigration(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := store.Config{DataDir: t.TempDir()}
			gooseDialect := goose.DialectSQLite3
			if d == store.MySQL {
				cfg = store.Config{URL: storetest.FreshMySQLDatabase(t)}
				gooseDialect = goose.DialectMySQL
			}
			tgt, err := store.ParseURL(cfg.URL, cfg.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			dsn := tgt.DSN
			if d == store.MySQL {
				// Without the session settings, which MySQL and MariaDB
				// name differently.
				mc, err := mysql.ParseDSN(dsn)
				if err != nil {
					t.Fatal(err)
				}
				mc.Params = nil
				dsn = mc.FormatDSN()
			}
			raw, err := sql.Open(string(d), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if d == store.SQLite {
				raw.SetMaxOpenConns(1)
			}
			fsys, err := migrations.FS(string(d))
			if err != nil {
				t.Fatal(err)
			}
			p, err := goose.NewProvider(gooseDialect, raw, fsys, goose.WithTableName("schema_migrations"), goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 2); err != nil {
				t.Fatal(err)
			}
			now := libraryEpoch
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO media_objects (id, sha256, mime_type, size_bytes, storage, storage_key, created_at) VALUES (1, 'ee', 'image/jpeg', 1, 'local', 'ee', ?)`, []any{now}},
				{`INSERT INTO saved_messages (id, name, kind, body, media_id, created_at, updated_at) VALUES (1, 'offer', 'image', 'x', 1, ?, ?)`, []any{now, now}},
				{`INSERT INTO saved_messages (id, name, kind, body, created_at, updated_at, deleted_at) VALUES (2, 'old news', 'text', 'y', ?, ?, ?)`, []any{now, now, now}},
				{`INSERT INTO campaigns (id, name, status, content_kind, saved_message_id, created_at, updated_at) VALUES (1, 'c', 'draft', 'saved_message', 2, ?, ?)`, []any{now, now}},
				{`INSERT INTO queue_items (id, phone, content_kind, saved_message_id, status, max_attempts, next_attempt_at, created_at, updated_at)
VALUES (1, '+919800000001', 'saved_message', 2, 'queued', 3, ?, ?, ?)`, []any{now, now, now}},
			} {
				if _, err := raw.ExecContext(ctx, q.sql, q.args...); err != nil {
					t.Fatal(err)
				}
			}

			check := func(db *store.DB) {
				t.Helper()
				if m, err := db.SavedMessageByName(ctx, "offer"); err != nil || m.State != store.SavedActive || m.MediaID.Int64 != 1 {
					t.Fatalf("migrated active message: %+v, %v", m, err)
				}
				if m, err := db.SavedMessageByName(ctx, "old news"); err != nil || m.State != store.SavedDeleted || m.DeletedAt.IsZero() {
					t.Fatalf("migrated deleted message: %+v, %v", m, err)
				}
				if it, err := db.QueueItem(ctx, 1); err != nil || it.Content.SavedMessageID != 2 {
					t.Fatalf("queue item: %+v, %v", it, err)
				}
				if _, err := db.CreateSavedMessage(ctx, "offer", "text", "z", 0, "t"); !errors.Is(err, store.ErrExists) {
					t.Fatalf("migrated name not reserved: %v", err)
				}
				// Foreign keys are enforced on the store's connections.
				if _, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919800000002", MaxAttempts: 1,
					Content: store.QueueContent{Kind: store.ContentSavedMessage, SavedMessageID: 999}}}); err == nil {
					t.Fatal("an item referencing no saved message was enqueued")
				}
			}
			db := storetest.Open(t, cfg, storetest.Options{Now: storetest.NewClock(libraryEpoch).Now})
			check(db)
			if _, err := db.CreateSavedMessage(ctx, "old news", "text", "reused", 0, "t"); err != nil {
				t.Fatalf("a name deleted before the migration: %v", err)
			}
			var fkProblems int
			if d == store.SQLite {
				if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&fkProblems); err != nil || fkProblems != 0 {
					t.Fatalf("foreign key check: %d, %v", fkProblems, err)
				}
			}

			// Down to 2 and up again.
			if _, err := p.DownTo(ctx, 2); err != nil {
				t.Fatalf("down: %v", err)
			}
			var n int
			if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM saved_messages WHERE name = 'old news (#2)'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("down: the deleted message's name: %d, %v", n, err)
			}
			if _, err := raw.ExecContext(ctx, `INSERT INTO saved_messages (name, kind, body, created_at, updated_at) VALUES ('offer', 'text', '', ?, ?)`, now, now); err == nil {
				t.Fatal("down: names are not unique")
			}
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatalf("up again: %v", err)
			}
			if m, err := db.SavedMessageByName(ctx, "old news"); err != nil || m.State != store.SavedActive || m.Body != "reused" {
				t.Fatalf("after down and up: %+v, %v", m, err)
			}
			if m, err := db.SavedMessageByID(ctx, 2); err != nil || m.State != store.SavedDeleted {
				t.Fatalf("after down and up: %+v, %v", m, err)
			}
		})
	}
}
