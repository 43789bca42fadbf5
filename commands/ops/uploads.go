package ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/store/media"
)

// Browser uploads straight to the media store: when it is S3, the admin
// web page asks BeginUpload for a presigned PUT URL, the browser puts the
// file under a fresh staging key, and SaveStagedMessage (or
// ReplaceStagedMedia) checks and stores it as SaveMessage does an upload
// through the server. Staged objects are removed once used, and by the
// media cleanup when never used.

const (
	// stagingPrefix holds browser uploads not yet checked.
	stagingPrefix = "staging/"
	// stagingKeyBytes is the randomness in a staging key.
	stagingKeyBytes = 16
	// uploadTicketTTL is how long a presigned PUT URL works.
	uploadTicketTTL = 15 * time.Minute
	// stagingMaxAge is how long a staged upload may wait to be saved
	// before the media cleanup removes it.
	stagingMaxAge = time.Hour
	// stagedDeleteTimeout bounds the removal of a used staged object, which
	// runs even when the request's context is done.
	stagedDeleteTimeout = 30 * time.Second
)

// UploadTicket lets a browser put one file straight into the media store.
type UploadTicket struct {
	// URL takes one HTTP PUT of the file's bytes until Expires. The
	// signature does not cover Content-Type.
	URL string
	// Key names the upload to SaveStagedMessage or ReplaceStagedMedia.
	Key     string
	Expires time.Time
}

// DirectUploads reports whether the media store takes presigned PUTs (S3);
// otherwise files go to the server in the request (SaveMessage).
func (s *Service) DirectUploads() bool {
	return s.cfg.Media != nil && s.storage == "s3"
}

// BeginUpload returns a presigned PUT URL for a fresh staging key, valid
// for 15 minutes. It fails with ECONFLICT when the media store cannot take
// direct uploads (a local folder, or none).
func (s *Service) BeginUpload(ctx context.Context, a Actor) (UploadTicket, error) {
	if err := s.require(a, RoleOperator, "uploading files"); err != nil {
		return UploadTicket{}, err
	}
	if s.cfg.Media == nil {
		return UploadTicket{}, errNoMediaStore()
	}
	notSupported := Errorf(ECONFLICT, "The %s media store does not take uploads straight from the browser; send the file to the server instead.", s.storage)
	if !s.DirectUploads() {
		return UploadTicket{}, notSupported
	}
	b := make([]byte, stagingKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return UploadTicket{}, fmt.Errorf("staging key: %w", err)
	}
	key := stagingPrefix + hex.EncodeToString(b)
	expires := s.cfg.Now().Add(uploadTicketTTL)
	u, err := s.cfg.Media.PresignPut(ctx, key, uploadTicketTTL)
	if errors.Is(err, media.ErrNotSupported) {
		return UploadTicket{}, notSupported
	}
	if err != nil {
		return UploadTicket{}, fmt.Errorf("begin upload: %w", err)
	}
	return UploadTicket{URL: u, Key: key, Expires: expires}, nil
}

// stagingKey reports whether key is one BeginUpload makes: the staging
// prefix and lower-case hex of the right length, nothing else.
func stagingKey(key string) bool {
	h, ok := strings.CutPrefix(key, stagingPrefix)
	if !ok || len(h) != 2*stagingKeyBytes {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// SaveStagedMessage saves the message name, an image or video with caption,
// whose file a browser put under key with an UploadTicket; fileName is the
// file's name as the person chose it, which the bytes must match. The
// staged object is removed afterwards, whether the file was accepted or
// refused.
func (s *Service) SaveStagedMessage(ctx context.Context, a Actor, name, caption, key, fileName string) (SavedMessage, error) {
	return s.withStaged(ctx, a, key, fileName, func(up *Upload) (SavedMessage, error) {
		return s.SaveMessage(ctx, a, SaveRequest{Name: name, Text: caption, File: up})
	})
}

// ReplaceStagedMedia gives the image or video message called name the file
// a browser put under key, as ReplaceMedia does; the staged object is
// removed afterwards either way.
func (s *Service) ReplaceStagedMedia(ctx context.Context, a Actor, name, key, fileName string) (SavedMessage, error) {
	return s.withStaged(ctx, a, key, fileName, func(up *Upload) (SavedMessage, error) {
		return s.ReplaceMedia(ctx, a, name, *up)
	})
}

// withStaged opens the staged upload under key for use, checking the key
// and the size first, and removes the staged object once use returns.
func (s *Service) withStaged(ctx context.Context, a Actor, key, fileName string, use func(*Upload) (SavedMessage, error)) (SavedMessage, error) {
	if err := s.require(a, RoleOperator, "uploading files"); err != nil {
		return SavedMessage{}, err
	}
	if s.cfg.Media == nil {
		return SavedMessage{}, errNoMediaStore()
	}
	// Never touch a key this scheme did not make: it could name a stored
	// file of the library.
	if !stagingKey(key) {
		return SavedMessage{}, Errorf(EINVALID, "That is not an upload this page made; upload the file again.")
	}
	defer s.removeStaged(ctx, key)
	info, err := s.cfg.Media.Stat(ctx, key)
	if errors.Is(err, media.ErrNotFound) {
		return SavedMessage{}, Errorf(EINVALID, "The uploaded file is not there: the upload did not finish, or it expired. Upload it again.")
	}
	if err != nil {
		return SavedMessage{}, fmt.Errorf("staged upload: %w", err)
	}
	// The bytes decide the type; the name chosen is the claim. The
	// Content-Type the browser sent is not signed, so it is not used.
	up := Upload{Name: fileName, Size: info.Size}
	if err := s.checkUploadSize(ctx, up); err != nil {
		return SavedMessage{}, err
	}
	rc, err := s.cfg.Media.Open(ctx, key)
	if errors.Is(err, media.ErrNotFound) {
		return SavedMessage{}, Errorf(EINVALID, "The uploaded file is not there any more. Upload it again.")
	}
	if err != nil {
		return SavedMessage{}, fmt.Errorf("staged upload: %w", err)
	}
	defer rc.Close()
	up.Body = rc
	return use(&up)
}

// removeStaged deletes a staged object once used; a failure is logged and
// left to the media cleanup.
func (s *Service) removeStaged(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stagedDeleteTimeout)
	defer cancel()
	if err := s.cfg.Media.Delete(ctx, key); err != nil {
		s.log.Warn("remove staged upload", "key", key, "err", err)
	}
}

// sweepStaging deletes staged uploads older than stagingMaxAge, counting
// them in res.
func (s *Service) sweepStaging(ctx context.Context, res *CleanupResult) error {
	olderThan := s.cfg.Now().Add(-stagingMaxAge)
	var stale []string
	err := s.cfg.Media.List(ctx, stagingPrefix, func(i media.Info) error {
		if i.ModTime.Before(olderThan) {
			stale = append(stale, i.Key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list staged uploads: %w", err)
	}
	for _, key := range stale {
		if err := s.cfg.Media.Delete(ctx, key); err != nil {
			if ctx.Err() != nil {
				return err
			}
			res.Failed++
			s.log.Error("media cleanup: delete staged upload", "key", key, "err", err)
			continue
		}
		res.Staged++
	}
	return nil
}
