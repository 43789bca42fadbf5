package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/words"
)

// The saved-message library: reusable text, image and video messages kept
// once by name, their media files in the media store (a local folder or
// S3), the files sent once with /send, and the cleanup of files nothing
// uses any more. The rows live in the store (saved_messages,
// media_objects); the bytes in a media.Store.

// Keys of the media library's settings (declared in SettingDefs).
const (
	SettingMediaMaxImageMB      = "media.max_image_mb"
	SettingMediaMaxVideoMB      = "media.max_video_mb"
	SettingMediaCleanupGrace    = "media.cleanup_grace"
	SettingMediaCleanupSchedule = "media.cleanup_schedule"
)

// The library's types, as the faces see them.
type (
	SavedMessage      = store.SavedMessage
	SavedMessageState = store.SavedMessageState
	MediaObject       = store.MediaObject
)

// Saved message states and kinds.
const (
	SavedActive   = store.SavedActive
	SavedArchived = store.SavedArchived
	SavedDeleted  = store.SavedDeleted

	KindText  = store.SavedKindText
	KindImage = store.SavedKindImage
	KindVideo = store.SavedKindVideo
)

// Longest texts WhatsApp accepts: a text message and a media caption, in
// characters.
const (
	MaxTextLen    = 4096
	MaxCaptionLen = 1024
)

// mediaType is a file type the library accepts.
type mediaType struct {
	mime, kind, ext, label string
}

// mediaTypes are the accepted types, as WhatsApp takes them.
func mediaTypes() []mediaType {
	return []mediaType{
		{"image/jpeg", KindImage, "jpg", "a JPEG image"},
		{"image/png", KindImage, "png", "a PNG image"},
		{"video/mp4", KindVideo, "mp4", "an MP4 video"},
		{"video/3gpp", KindVideo, "3gp", "a 3GP video"},
	}
}

const acceptedTypes = "a JPEG or PNG image, or an MP4 or 3GP video"

// Upload is a file a person sent: an image or video for the library or
// for one send.
type Upload struct {
	// Name is the file name as sent ("photo.jpg"); it may be empty.
	Name string
	// MIME is the declared type, which may be wrong: the bytes decide.
	MIME string
	// Size is the declared size in bytes, -1 when unknown.
	Size int64
	// Body reads the file.
	Body io.Reader
}

// MediaLimits are the largest files accepted, in bytes.
type MediaLimits struct {
	Image, Video int64
}

// MediaLimits reads the size limits from the settings.
func (s *Service) MediaLimits(ctx context.Context) MediaLimits {
	return MediaLimits{
		Image: int64(s.settings.Int(ctx, SettingMediaMaxImageMB)) << 20,
		Video: int64(s.settings.Int(ctx, SettingMediaMaxVideoMB)) << 20,
	}
}

// storedFile is an upload that passed validation and is in the media store.
type storedFile struct {
	ID   int64
	Kind string
	MIME string
	Size int64
}

// spoolMemory is how much of an upload is kept in memory before the rest
// goes to a temporary file.
const spoolMemory = 4 << 20

// sniffLen is how many leading bytes decide a file's type.
const sniffLen = 4096

// storeUpload validates an upload from its bytes (type sniffed, size within
// the limit for its kind) and keeps it in the media store once per content,
// recording its media object. Nothing is stored when it is refused.
func (s *Service) storeUpload(ctx context.Context, a Actor, up Upload) (storedFile, error) {
	if s.cfg.Media == nil {
		return storedFile{}, errNoMediaStore()
	}
	if up.Body == nil {
		return storedFile{}, Errorf(EINVALID, "No file came with the command.")
	}
	if err := s.checkUploadSize(ctx, up); err != nil {
		return storedFile{}, err
	}
	limits := s.MediaLimits(ctx)
	largest := max(limits.Image, limits.Video)
	what := describeUpload(up)
	sp := &spool{dir: s.cfg.TempDir}
	defer sp.close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, sp), io.LimitReader(up.Body, largest+1))
	if err != nil {
		return storedFile{}, fmt.Errorf("read upload: %w", err)
	}
	if n == 0 {
		return storedFile{}, Errorf(EINVALID, "%s is empty. Nothing was saved.", what)
	}
	if n > largest {
		return storedFile{}, Errorf(EINVALID, "%s is larger than %s: too large. Images can be at most %s (%s), videos %s (%s). Nothing was saved.",
			what, words.SizeLimit(largest), words.SizeLimit(limits.Image), SettingMediaMaxImageMB, words.SizeLimit(limits.Video), SettingMediaMaxVideoMB)
	}
	head, err := sp.head(sniffLen)
	if err != nil {
		return storedFile{}, err
	}
	t, err := checkType(what, up, mimetype.Detect(head))
	if err != nil {
		return storedFile{}, err
	}
	limit, setting := limits.Image, SettingMediaMaxImageMB
	if t.kind == KindVideo {
		limit, setting = limits.Video, SettingMediaMaxVideoMB
	}
	if n > limit {
		return storedFile{}, Errorf(EINVALID, "%s is %s; %ss can be at most %s (%s). Nothing was saved.",
			what, words.Size(n), t.kind, words.SizeLimit(limit), setting)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	key := media.Key(sum, t.ext)

	// Cleanup (same process) waits while a file is put and recorded, so
	// it cannot delete the file between the two.
	s.mediaMu.RLock()
	defer s.mediaMu.RUnlock()
	have := false
	if obj, err := s.st.MediaObjectBySHA(ctx, sum); err == nil && obj.Storage == s.storage && obj.StorageKey == key {
		_, serr := s.cfg.Media.Stat(ctx, key)
		have = serr == nil
	}
	if !have {
		r, err := sp.reader()
		if err != nil {
			return storedFile{}, err
		}
		if err := s.cfg.Media.Put(ctx, key, r, n, t.mime); err != nil {
			return storedFile{}, fmt.Errorf("store media: %w", err)
		}
	}
	id, err := s.st.CreateMediaObject(ctx, store.MediaObject{SHA256: sum, MIME: t.mime, Size: n, Storage: s.storage,
		StorageKey: key, OriginalName: words.Cut(strings.TrimSpace(up.Name), 200)}, a.Identity)
	if err != nil {
		return storedFile{}, err
	}
	return storedFile{ID: id, Kind: t.kind, MIME: t.mime, Size: n}, nil
}

// checkUploadSize refuses an upload whose declared size is beyond the
// largest file of any kind, before a byte of it is read.
func (s *Service) checkUploadSize(ctx context.Context, up Upload) error {
	limits := s.MediaLimits(ctx)
	if up.Size > max(limits.Image, limits.Video) {
		return Errorf(EINVALID, "%s is %s: too large. Images can be at most %s (%s), videos %s (%s). Nothing was saved.",
			describeUpload(up), words.Size(up.Size), words.SizeLimit(limits.Image), SettingMediaMaxImageMB, words.SizeLimit(limits.Video), SettingMediaMaxVideoMB)
	}
	return nil
}

// checkType refuses a file whose bytes are not an accepted type, or do not
// match the type its name or declared type claim.
func checkType(what string, up Upload, got *mimetype.MIME) (mediaType, error) {
	claimed := declaredType(up)
	var found, claimedType *mediaType
	types := mediaTypes()
	for i := range types {
		if got.Is(types[i].mime) {
			found = &types[i]
		}
		if claimed != "" && claimed == types[i].mime {
			claimedType = &types[i]
		}
	}
	real := describeMIME(got)
	switch {
	case found == nil && claimedType != nil:
		return mediaType{}, Errorf(EINVALID, "%s claims to be %s, but its content is %s. Send %s. Nothing was saved.",
			what, claimedType.label, real, acceptedTypes)
	case found == nil:
		return mediaType{}, Errorf(EINVALID, "%s is %s, which cannot be sent. Send %s. Nothing was saved.", what, real, acceptedTypes)
	case claimed != "" && !got.Is(claimed):
		claim := claimed
		if claimedType != nil {
			claim = claimedType.label
		}
		return mediaType{}, Errorf(EINVALID, "%s claims to be %s, but its content is %s. Send it with its real name or type. Nothing was saved.",
			what, claim, found.label)
	}
	return *found, nil
}

// declaredType is the type a file claims: its declared MIME type, or the
// one its name's extension stands for; "" when it claims none.
func declaredType(up Upload) string {
	if mt, _, err := mime.ParseMediaType(up.MIME); err == nil && mt != "application/octet-stream" && mt != "" {
		return normalizeMIME(mt)
	}
	ext := strings.ToLower(filepath.Ext(up.Name))
	switch ext {
	case "":
		return ""
	case ".3gp", ".3gpp":
		return "video/3gpp"
	case ".jpg", ".jpeg", ".jpe", ".jfif":
		return "image/jpeg"
	}
	if mt, _, err := mime.ParseMediaType(mime.TypeByExtension(ext)); err == nil {
		return normalizeMIME(mt)
	}
	return ""
}

func normalizeMIME(mt string) string {
	switch mt = strings.ToLower(mt); mt {
	case "image/jpg", "image/pjpeg":
		return "image/jpeg"
	case "audio/3gpp":
		return "video/3gpp"
	}
	return mt
}

// describeMIME names a sniffed type for a person.
func describeMIME(m *mimetype.MIME) string {
	mt, _, _ := strings.Cut(m.String(), ";")
	for _, t := range mediaTypes() {
		if m.Is(t.mime) {
			return t.label
		}
	}
	switch {
	case mt == "application/octet-stream":
		return "of a type I do not recognise"
	case mt == "application/pdf":
		return "a PDF document"
	case strings.HasPrefix(mt, "text/"):
		return "text (" + mt + ")"
	}
	return mt
}

func describeUpload(up Upload) string {
	if n := strings.TrimSpace(up.Name); n != "" {
		return "The file " + words.Cut(n, 60)
	}
	return "The file"
}

// spool keeps an upload while it is checked: in memory up to spoolMemory,
// the rest in a temporary file removed by close.
type spool struct {
	dir string
	mem bytes.Buffer
	f   *os.File
	n   int64
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && s.mem.Len()+len(p) > spoolMemory {
		f, err := os.CreateTemp(s.dir, "messagebridge-upload-*")
		if err != nil {
			return 0, err
		}
		s.f = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, err
		}
		s.mem = bytes.Buffer{}
	}
	var n int
	var err error
	if s.f != nil {
		n, err = s.f.Write(p)
	} else {
		n, err = s.mem.Write(p)
	}
	s.n += int64(n)
	return n, err
}

// head returns up to n leading bytes.
func (s *spool) head(n int) ([]byte, error) {
	if s.f == nil {
		b := s.mem.Bytes()
		return b[:min(n, len(b))], nil
	}
	b := make([]byte, min(int64(n), s.n))
	if _, err := s.f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

// reader reads everything written, from the start.
func (s *spool) reader() (io.Reader, error) {
	if s.f == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	return io.NewSectionReader(s.f, 0, s.n), nil
}

func (s *spool) close() {
	if s.f != nil {
		name := s.f.Name()
		_ = s.f.Close()
		_ = os.Remove(name)
	}
}

// SaveRequest is a saved message to create: a text (File nil), or an image
// or video with Text as its caption.
type SaveRequest struct {
	Name string
	Text string
	File *Upload
}

// SaveMessage adds a message to the library under a new name. An image or
// video is checked from its bytes and stored once per content; a refused
// file leaves nothing behind.
func (s *Service) SaveMessage(ctx context.Context, a Actor, req SaveRequest) (SavedMessage, error) {
	if err := s.require(a, RoleOperator, "saving messages"); err != nil {
		return SavedMessage{}, err
	}
	name := strings.TrimSpace(req.Name)
	if err := store.ValidateSavedMessageName(name); err != nil {
		return SavedMessage{}, Errorf(EINVALID, "That name cannot be used: %s.", err)
	}
	if err := s.nameFree(ctx, name); err != nil {
		return SavedMessage{}, err
	}
	text := strings.TrimSpace(req.Text)
	m := store.NewSavedMessage{Name: name, Body: text, Actor: a.Identity}
	if req.File == nil {
		if text == "" {
			return SavedMessage{}, Errorf(EINVALID, "The message %q needs a text.", name)
		}
		if n := utf8.RuneCountInString(text); n > MaxTextLen {
			return SavedMessage{}, Errorf(EINVALID, "The text has %d characters; WhatsApp takes at most %d.", n, MaxTextLen)
		}
		m.Kind = KindText
	} else {
		if n := utf8.RuneCountInString(text); n > MaxCaptionLen {
			return SavedMessage{}, Errorf(EINVALID, "The caption has %d characters; WhatsApp takes at most %d.", n, MaxCaptionLen)
		}
		f, err := s.storeUpload(ctx, a, *req.File)
		if err != nil {
			return SavedMessage{}, err
		}
		m.Kind, m.MediaID = f.Kind, f.ID
	}
	id, err := s.st.AddSavedMessage(ctx, m)
	if errors.Is(err, store.ErrExists) {
		return SavedMessage{}, s.nameTaken(ctx, name)
	}
	if err != nil {
		return SavedMessage{}, err
	}
	saved, err := s.st.SavedMessageByID(ctx, id)
	if err != nil {
		return SavedMessage{}, err
	}
	s.audit(ctx, a, "message save", fmt.Sprintf("%q (%s)", name, m.Kind), "ok")
	return saved, nil
}

// nameFree refuses a name an active or archived message holds.
func (s *Service) nameFree(ctx context.Context, name string) error {
	m, err := s.st.SavedMessageByName(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case m.State == SavedDeleted:
		return nil
	}
	return s.nameTaken(ctx, name)
}

func (s *Service) nameTaken(ctx context.Context, name string) error {
	m, err := s.st.SavedMessageByName(ctx, name)
	if err == nil && m.State == SavedArchived {
		return Errorf(ECONFLICT, "There is already an archived message called %q: /message restore %s brings it back, or choose another name.", name, quoteName(name))
	}
	return Errorf(ECONFLICT, "There is already a saved message called %q: choose another name, /message replace %s with a new file, or /message delete %s first.",
		name, quoteName(name), quoteName(name))
}

// quoteName writes a name as the chat takes it: in quotes when it holds
// spaces.
func quoteName(name string) string {
	if strings.ContainsAny(name, " \t") {
		return `"` + name + `"`
	}
	return name
}

// Messages lists the library by name: the active messages, and with all
// the archived ones too.
func (s *Service) Messages(ctx context.Context, a Actor, all bool) ([]SavedMessage, error) {
	if err := s.require(a, RoleOperator, "the saved messages"); err != nil {
		return nil, err
	}
	return s.st.SavedMessages(ctx, all)
}

// Preview is a saved message as it would be sent: its text or caption and,
// for an image or video, its file.
type Preview struct {
	Message SavedMessage
	// Media is the file of an image or video; nil for text.
	Media *MediaObject
}

// PreviewMessage returns the message called name, active or archived, with
// its file's description; read the file with OpenMedia.
func (s *Service) PreviewMessage(ctx context.Context, a Actor, name string) (Preview, error) {
	if err := s.require(a, RoleOperator, "the saved messages"); err != nil {
		return Preview{}, err
	}
	m, err := s.messageByName(ctx, name)
	if err != nil {
		return Preview{}, err
	}
	if m.State == SavedDeleted {
		return Preview{}, Errorf(ENOTFOUND, "The saved message %q was deleted.", m.Name)
	}
	p := Preview{Message: m}
	if m.MediaID.Valid {
		obj, err := s.st.MediaObject(ctx, m.MediaID.Int64)
		if err != nil {
			return Preview{}, err
		}
		p.Media = &obj
	}
	return p, nil
}

// OpenMedia reads a media object's file from the media store.
func (s *Service) OpenMedia(ctx context.Context, obj MediaObject) (io.ReadCloser, error) {
	if s.cfg.Media == nil {
		return nil, Errorf(ECONFLICT, "No media store is set up; the file cannot be read.")
	}
	if obj.Storage != s.storage {
		return nil, Errorf(ECONFLICT, "The file is kept in the %s media store, and this bot now uses %s (media.store).", obj.Storage, s.storage)
	}
	return s.cfg.Media.Open(ctx, obj.StorageKey)
}

// messageByName is the message called name in any state, or ENOTFOUND.
func (s *Service) messageByName(ctx context.Context, name string) (SavedMessage, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return SavedMessage{}, Errorf(EINVALID, "Which saved message? /messages lists them.")
	}
	m, err := s.st.SavedMessageByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return SavedMessage{}, Errorf(ENOTFOUND, "There is no saved message called %q; /messages lists them.", Echo(name))
	}
	return m, err
}

// StateChange is what archiving, restoring or deleting a message did.
type StateChange struct {
	Message SavedMessage
	// StaffMessage is set when intake.message names the message: staff
	// sends are refused while it is archived or deleted.
	StaffMessage bool
}

// SetMessageState archives (not offered for new sends, kept), restores or
// deletes (final; the name is free again) the message called name. Sends
// queued before keep going out.
func (s *Service) SetMessageState(ctx context.Context, a Actor, name string, state SavedMessageState) (StateChange, error) {
	if err := s.require(a, RoleOperator, "changing saved messages"); err != nil {
		return StateChange{}, err
	}
	m, err := s.messageByName(ctx, name)
	if err != nil {
		return StateChange{}, err
	}
	switch {
	case m.State == SavedDeleted:
		return StateChange{}, Errorf(ECONFLICT, "The saved message %q was deleted already.", m.Name)
	case m.State == state:
		return StateChange{}, Errorf(ECONFLICT, "The saved message %q is %s already.", m.Name, state)
	}
	out, err := s.st.SetSavedMessageState(ctx, m.Name, state, a.Identity)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return StateChange{}, Errorf(ECONFLICT, "The saved message %q changed meanwhile; look again with /message %s.", m.Name, quoteName(m.Name))
	}
	if err != nil {
		return StateChange{}, err
	}
	s.audit(ctx, a, "message "+string(state), fmt.Sprintf("%q", m.Name), "ok")
	staff := strings.TrimSpace(s.settings.String(ctx, SettingIntakeMessage))
	return StateChange{Message: out, StaffMessage: state != SavedActive && staff == m.Name}, nil
}

// ReplaceMedia gives the image or video message called name a new file;
// the name and caption stay. The old file is no longer used by the message
// and goes at a later cleanup, once no queued send needs it.
func (s *Service) ReplaceMedia(ctx context.Context, a Actor, name string, up Upload) (SavedMessage, error) {
	if err := s.require(a, RoleOperator, "changing saved messages"); err != nil {
		return SavedMessage{}, err
	}
	m, err := s.messageByName(ctx, name)
	if err != nil {
		return SavedMessage{}, err
	}
	switch {
	case m.State == SavedDeleted:
		return SavedMessage{}, Errorf(ECONFLICT, "The saved message %q was deleted; save a new one with /save.", m.Name)
	case m.Kind == KindText:
		return SavedMessage{}, Errorf(ECONFLICT, "%q is a text message: it has no file to replace.", m.Name)
	}
	f, err := s.storeUpload(ctx, a, up)
	if err != nil {
		return SavedMessage{}, err
	}
	old, err := s.st.ReplaceSavedMessageMedia(ctx, m.Name, f.ID, f.Kind, a.Identity)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return SavedMessage{}, Errorf(ECONFLICT, "The saved message %q changed meanwhile; look again with /message %s.", m.Name, quoteName(m.Name))
	}
	if err != nil {
		return SavedMessage{}, err
	}
	s.audit(ctx, a, "message replace", fmt.Sprintf("%q: media %d → %d", m.Name, old, f.ID), "ok")
	return s.st.SavedMessageByID(ctx, m.ID)
}

// CleanupResult counts what a media cleanup did.
type CleanupResult struct {
	// Candidates met the three conditions when listed.
	Candidates int
	// Deleted files, and their bytes.
	Deleted int
	Bytes   int64
	// Kept were found in use again when checked in their transaction.
	Kept int
	// Skipped are kept in another media store than this process uses.
	Skipped int
	// Failed were marked deleted but their file could not be removed, or
	// were staged uploads that could not be removed.
	Failed int
	// Staged are browser uploads (staging/) never saved as a message and
	// older than stagingMaxAge, deleted.
	Staged int
}

// cleanupBatch is how many candidates one pass lists.
const cleanupBatch = 500

// CleanupMedia deletes the media files that meet all three conditions: no
// saved message uses them (active or archived), no queued or processing
// send uses them, and they have been unused longer than grace (≤0: the
// media.cleanup_grace setting). Each is checked again, under a lock, as it
// is marked deleted, so a file in use is never deleted. Browser uploads
// left in staging/ for longer than an hour go too.
func (s *Service) CleanupMedia(ctx context.Context, a Actor, grace time.Duration) (CleanupResult, error) {
	if err := s.require(a, RoleAdmin, "cleaning up media"); err != nil {
		return CleanupResult{}, err
	}
	if grace <= 0 {
		grace = s.settings.Duration(ctx, SettingMediaCleanupGrace)
	}
	var res CleanupResult
	if s.cfg.Media == nil {
		return res, nil
	}
	olderThan := s.cfg.Now().Add(-grace)
	// Candidates left in place (another store's) are listed again: ask
	// for that many more each pass, and stop when a pass brings no new one.
	seen := map[int64]bool{}
	for {
		limit := cleanupBatch + len(seen)
		objs, err := s.st.UnreferencedMedia(ctx, olderThan, limit)
		if err != nil {
			return res, err
		}
		fresh := 0
		for _, obj := range objs {
			if seen[obj.ID] {
				continue
			}
			seen[obj.ID] = true
			fresh++
			res.Candidates++
			if obj.Storage != s.storage {
				res.Skipped++
				continue
			}
			deleted, err := s.deleteMedia(ctx, obj, olderThan)
			switch {
			case err != nil && ctx.Err() != nil:
				return res, err
			case err != nil:
				res.Failed++
				s.log.Error("media cleanup: delete file", "media", obj.ID, "key", obj.StorageKey, "err", err)
			case deleted:
				res.Deleted++
				res.Bytes += obj.Size
			default:
				res.Kept++
			}
		}
		if fresh == 0 || len(objs) < limit {
			break
		}
	}
	if err := s.sweepStaging(ctx, &res); err != nil {
		return res, err
	}
	s.audit(ctx, a, "media cleanup", fmt.Sprintf("grace %s: %d deleted (%s), %d kept, %d skipped, %d failed, %s removed",
		DurationText(grace), res.Deleted, words.Size(res.Bytes), res.Kept, res.Skipped, res.Failed, words.Count(res.Staged, "staged upload")), "ok")
	return res, nil
}

// deleteMedia marks one object deleted when it is still unused, then
// removes its file.
func (s *Service) deleteMedia(ctx context.Context, obj MediaObject, olderThan time.Time) (bool, error) {
	s.mediaMu.Lock()
	defer s.mediaMu.Unlock()
	marked, err := s.st.MarkMediaDeleted(ctx, obj.ID, olderThan)
	if err != nil || !marked {
		return false, err
	}
	if err := s.cfg.Media.Delete(ctx, obj.StorageKey); err != nil {
		return false, err
	}
	return true, nil
}

// enqueueAttachment stores a file sent with /send and queues items that
// send it (an unnamed saved message), returning their ids.
func (s *Service) enqueueAttachment(ctx context.Context, a Actor, g Gateway, up Upload, caption string, items []store.NewQueueItem) ([]int64, error) {
	if n := utf8.RuneCountInString(caption); n > MaxCaptionLen {
		return nil, Errorf(EINVALID, "The caption has %d characters; WhatsApp takes at most %d.", n, MaxCaptionLen)
	}
	f, err := s.storeUpload(ctx, a, up)
	if err != nil {
		return nil, err
	}
	if ok, why := g.Caps.CanSend(queue.Kind(f.Kind)); !ok && g.Name != "" {
		return nil, Errorf(ECONFLICT, "Nothing was queued: %s cannot send this %s: %s.", g.Name, f.Kind, why)
	}
	_, ids, err := s.st.EnqueueAttachment(ctx, store.NewSavedMessage{Kind: f.Kind, Body: caption, MediaID: f.ID, Actor: a.Identity}, items)
	if err != nil {
		return nil, fmt.Errorf("intake attachment: %w", err)
	}
	return ids, nil
}

// errNoMediaStore refuses to keep images and videos when no media store is
// set up.
func errNoMediaStore() error {
	return Errorf(ECONFLICT, "Images and videos cannot be kept: no media store is set up. Ask an admin.")
}
