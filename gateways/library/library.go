// Package library resolves saved messages, and the media files they carry,
// into what gateways send. Media stored in the local folder is read from the
// data dir; S3 storage arrives with the media library.
package library

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

var _ queue.Library = (*Library)(nil)

// Store reads saved messages and media objects; *store.DB satisfies it.
type Store interface {
	SavedMessageByID(ctx context.Context, id int64) (store.SavedMessage, error)
	MediaObject(ctx context.Context, id int64) (store.MediaObject, error)
}

// Library resolves saved messages for the delivery loop.
type Library struct {
	store    Store
	localDir string
	// publicBase returns, when set, a public URL under which local media
	// keys are served, so providers can fetch media by link. It is read on
	// each delivery, so a change applies without a restart.
	publicBase func(ctx context.Context) string
}

// New returns a library reading local media from localDir.
// publicBase may be nil.
func New(st Store, localDir string, publicBase func(ctx context.Context) string) *Library {
	if publicBase == nil {
		publicBase = func(context.Context) string { return "" }
	}
	return &Library{store: st, localDir: localDir, publicBase: publicBase}
}

// SavedMessage implements queue.Library.
func (l *Library) SavedMessage(ctx context.Context, id int64) (string, queue.Kind, *queue.Media, error) {
	m, err := l.store.SavedMessageByID(ctx, id)
	if err != nil {
		return "", "", nil, err
	}
	switch m.Kind {
	case "text":
		return m.Body, queue.KindText, nil, nil
	case "image", "video":
	default:
		return "", "", nil, fmt.Errorf("saved message %d has unknown kind %q", id, m.Kind)
	}
	if !m.MediaID.Valid {
		return "", "", nil, fmt.Errorf("saved message %d is a %s without media", id, m.Kind)
	}
	obj, err := l.store.MediaObject(ctx, m.MediaID.Int64)
	if err != nil {
		return "", "", nil, err
	}
	if obj.Storage != "local" {
		return "", "", nil, fmt.Errorf("media %d is stored in %s, which this process cannot read", obj.ID, obj.Storage)
	}
	path, err := l.localPath(obj.StorageKey)
	if err != nil {
		return "", "", nil, err
	}
	media := &queue.Media{
		ID: obj.ID, SHA256: obj.SHA256, MIME: obj.MIME, Name: obj.OriginalName, Size: obj.Size,
		Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) },
	}
	if base := strings.TrimRight(l.publicBase(ctx), "/"); base != "" {
		media.PublicURL = base + "/" + url.PathEscape(obj.StorageKey)
	}
	kind := queue.KindImage
	if m.Kind == "video" {
		kind = queue.KindVideo
	}
	return m.Body, kind, media, nil
}

// localPath maps a storage key to a file under the media folder, refusing
// keys that would leave it.
func (l *Library) localPath(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if clean == "/" || strings.Contains(key, "..") {
		return "", fmt.Errorf("media key %q is not a file name", key)
	}
	return filepath.Join(l.localDir, clean), nil
}
