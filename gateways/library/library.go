// Package library resolves saved messages, and the media files they carry,
// into what gateways send. Files are read from the media store (a local
// folder or S3-compatible storage, see store/media); a gateway that can
// send by link gets a presigned GET URL on S3, or a signed, expiring
// /media/<token> link of our HTTP server under media.public_base_url for
// the local folder.
package library

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
)

var _ queue.Library = (*Library)(nil)

// LinkTTL is how long a media link handed to a provider stays valid: long
// enough for a provider that fetches it late, and made again at each
// attempt.
const LinkTTL = 24 * time.Hour

// Store reads saved messages and media objects; *store.DB satisfies it.
type Store interface {
	SavedMessageByID(ctx context.Context, id int64) (store.SavedMessage, error)
	MediaObject(ctx context.Context, id int64) (store.MediaObject, error)
}

// Library resolves saved messages for the delivery loop.
type Library struct {
	store   Store
	files   media.Store
	storage string
}

// New returns a library reading media files from files, the media store
// named storage ("local" or "s3") in the media objects' rows. files may be
// nil in a process that sends no media.
func New(st Store, files media.Store, storage string) *Library {
	return &Library{store: st, files: files, storage: storage}
}

// SavedMessage implements queue.Library.
func (l *Library) SavedMessage(ctx context.Context, id int64) (string, queue.Kind, *queue.Media, error) {
	m, err := l.store.SavedMessageByID(ctx, id)
	if err != nil {
		return "", "", nil, err
	}
	var kind queue.Kind
	switch m.Kind {
	case store.SavedKindText:
		return m.Body, queue.KindText, nil, nil
	case store.SavedKindImage:
		kind = queue.KindImage
	case store.SavedKindVideo:
		kind = queue.KindVideo
	default:
		return "", "", nil, fmt.Errorf("saved message %d has unknown kind %q", id, m.Kind)
	}
	if !m.MediaID.Valid {
		return "", "", nil, fmt.Errorf("saved message %d is a %s without media", id, m.Kind)
	}
	md, err := l.Media(ctx, m.MediaID.Int64)
	if err != nil {
		return "", "", nil, err
	}
	return m.Body, kind, md, nil
}

// Media implements queue.MediaLibrary: the media object id, to send.
func (l *Library) Media(ctx context.Context, id int64) (*queue.Media, error) {
	obj, err := l.store.MediaObject(ctx, id)
	if err != nil {
		return nil, err
	}
	if l.files == nil {
		return nil, fmt.Errorf("media %d: no media store in this process", obj.ID)
	}
	if obj.Storage != l.storage {
		return nil, fmt.Errorf("media %d is kept in the %s media store, and this process uses %s (media.store)", obj.ID, obj.Storage, l.storage)
	}
	key, files := obj.StorageKey, l.files
	md := &queue.Media{
		ID: obj.ID, SHA256: obj.SHA256, MIME: obj.MIME, Name: obj.OriginalName, Size: obj.Size,
		Open: func(ctx context.Context) (io.ReadCloser, error) { return files.Open(ctx, key) },
	}
	// Without a link (no public base URL for the local folder) gateways
	// upload the bytes instead.
	if u, err := files.URL(ctx, key, LinkTTL); err == nil {
		md.PublicURL = u
	}
	return md, nil
}
