package webadmin

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/messagebridge/messagebridge/commands/ops"
)

type messagesData struct {
	Messages []ops.SavedMessage
	// Direct: files go from the browser straight to S3 (presigned PUT).
	Direct     bool
	ImageLimit string
	VideoLimit string
	Name, Text string
}

// messagesPage lists the saved-message library, active and archived.
func (s *server) messagesPage(w http.ResponseWriter, r *http.Request) {
	s.renderMessages(w, r, http.StatusOK, messagesData{}, nil)
}

func (s *server) renderMessages(w http.ResponseWriter, r *http.Request, code int, d messagesData, errs []string) {
	list, err := s.ops.Messages(r.Context(), actor(r), true)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	lim := s.ops.MediaLimits(r.Context())
	d.Messages, d.Direct = list, s.ops.DirectUploads()
	if d.Direct {
		// The page's script PUTs files to the bucket: allow that origin,
		// and only that one.
		if v, err := s.ops.Setting(r.Context(), "s3.endpoint"); err == nil && v.Value != "" {
			if u, err := url.Parse(v.Value); err == nil && u.Scheme != "" && u.Host != "" {
				// Virtual-hosted buckets live at <bucket>.<endpoint host>.
				w.Header().Set("Content-Security-Policy", cspWith(u.Scheme+"://"+u.Host+" "+u.Scheme+"://*."+u.Host))
			}
		}
	}
	d.ImageLimit, d.VideoLimit = strconv.FormatInt(lim.Image>>20, 10)+" MB", strconv.FormatInt(lim.Video>>20, 10)+" MB"
	s.render(w, r, code, "messages", page{Title: "Saved messages", Nav: "messages", Errors: errs, Data: d})
}

// readUpload reads a multipart form whose file may be as large as the
// largest media limit. It returns the file, or nil when none was chosen.
func (s *server) readUpload(w http.ResponseWriter, r *http.Request) (*ops.Upload, func(), error) {
	lim := s.ops.MediaLimits(r.Context())
	r.Body = http.MaxBytesReader(w, r.Body, max(lim.Image, lim.Video)+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, ops.Errorf(ops.EINVALID, "The file is too large: images may be %d MB and videos %d MB (settings media.max_image_mb, media.max_video_mb).", lim.Image>>20, lim.Video>>20)
		}
		if errors.Is(err, http.ErrNotMultipart) {
			return nil, func() {}, nil
		}
		if errors.Is(err, multipart.ErrMessageTooLarge) || strings.Contains(err.Error(), "too many") {
			return nil, nil, ops.Errorf(ops.EINVALID, "The form had more parts than a saved message needs (a name, a text and one file); nothing was saved.")
		}
		return nil, nil, ops.Errorf(ops.EINVALID, "The upload did not arrive whole; please try again.")
	}
	cleanup := func() { _ = r.MultipartForm.RemoveAll() }
	f, h, err := r.FormFile("file")
	if errors.Is(err, http.ErrMissingFile) {
		return nil, cleanup, nil
	}
	if err != nil {
		cleanup()
		return nil, nil, ops.Errorf(ops.EINVALID, "The upload did not arrive whole; please try again.")
	}
	return uploadOf(f, h), func() { _ = f.Close(); cleanup() }, nil
}

func uploadOf(f multipart.File, h *multipart.FileHeader) *ops.Upload {
	return &ops.Upload{Name: h.Filename, MIME: h.Header.Get("Content-Type"), Size: h.Size, Body: f}
}

// messageCreate saves a text message, or an image or video posted with
// the form (the path when the media store is a local folder, and the
// fallback without JavaScript).
func (s *server) messageCreate(w http.ResponseWriter, r *http.Request) {
	up, done, err := s.readUpload(w, r)
	if err != nil {
		s.fail(w, r, "/admin/messages", err)
		return
	}
	defer done()
	req := ops.SaveRequest{Name: r.FormValue("name"), Text: r.FormValue("text"), File: up}
	if strings.TrimSpace(req.Name) == "" {
		s.renderMessages(w, r, http.StatusUnprocessableEntity, messagesData{Text: req.Text}, []string{"Give the message a name."})
		return
	}
	m, err := s.ops.SaveMessage(r.Context(), actor(r), req)
	if err != nil {
		s.fail(w, r, "/admin/messages", err)
		return
	}
	s.done(w, r, "/admin/messages", "Saved %s message %q.", m.Kind, m.Name)
}

// messageTicket gives the page a presigned URL to PUT a file straight
// into S3.
func (s *server) messageTicket(w http.ResponseWriter, r *http.Request) {
	t, err := s.ops.BeginUpload(r.Context(), actor(r))
	if err != nil {
		if ops.ErrorCode(err) == ops.EINTERNAL {
			s.log.ErrorContext(r.Context(), "upload ticket", "err", err)
		}
		writeJSON(w, http.StatusConflict, map[string]string{"error": ops.ErrorMessage(err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": t.URL, "key": t.Key})
}

// messageStaged saves a message whose file the browser put into S3.
func (s *server) messageStaged(w http.ResponseWriter, r *http.Request) {
	name, key := r.PostFormValue("name"), r.PostFormValue("key")
	var (
		m   ops.SavedMessage
		err error
	)
	if r.PostFormValue("replace") != "" {
		m, err = s.ops.ReplaceStagedMedia(r.Context(), actor(r), name, key, r.PostFormValue("filename"))
	} else {
		m, err = s.ops.SaveStagedMessage(r.Context(), actor(r), name, r.PostFormValue("text"), key, r.PostFormValue("filename"))
	}
	if err != nil {
		s.fail(w, r, "/admin/messages", err)
		return
	}
	s.done(w, r, "/admin/messages", "Saved %s message %q.", m.Kind, m.Name)
}

// messagePreview streams a saved message's image or video.
func (s *server) messagePreview(w http.ResponseWriter, r *http.Request) {
	p, err := s.ops.PreviewMessage(r.Context(), actor(r), r.URL.Query().Get("name"))
	if err != nil || p.Media == nil {
		http.NotFound(w, r)
		return
	}
	rc, err := s.ops.OpenMedia(r.Context(), *p.Media)
	if err != nil {
		s.log.WarnContext(r.Context(), "preview media", "name", p.Message.Name, "err", err)
		http.NotFound(w, r)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", p.Media.MIME)
	h.Set("Content-Length", strconv.FormatInt(p.Media.Size, 10))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=300")
	_, _ = io.Copy(w, rc)
}

func (s *server) messageState(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("name")
	state := ops.SavedMessageState(r.PostFormValue("state"))
	switch state {
	case ops.SavedActive, ops.SavedArchived, ops.SavedDeleted:
	default:
		http.Error(w, "unknown state", http.StatusBadRequest)
		return
	}
	ch, err := s.ops.SetMessageState(r.Context(), actor(r), name, state)
	if err != nil {
		s.fail(w, r, "/admin/messages", err)
		return
	}
	msg := map[ops.SavedMessageState]string{ops.SavedActive: "restored", ops.SavedArchived: "archived", ops.SavedDeleted: "deleted"}[state]
	if ch.StaffMessage {
		s.done(w, r, "/admin/messages", "%q is %s. It is the staff message (intake.message): staff sends are refused until you restore it or pick another.", ch.Message.Name, msg)
		return
	}
	s.done(w, r, "/admin/messages", "%q is %s.", ch.Message.Name, msg)
}

// messageReplace gives an image or video message a new file.
func (s *server) messageReplace(w http.ResponseWriter, r *http.Request) {
	up, done, err := s.readUpload(w, r)
	if err != nil {
		s.fail(w, r, "/admin/messages", err)
		return
	}
	defer done()
	if up == nil {
		s.fail(w, r, "/admin/messages", ops.Errorf(ops.EINVALID, "Choose the new file."))
		return
	}
	m, err := s.ops.ReplaceMedia(r.Context(), actor(r), r.FormValue("name"), *up)
	if err != nil {
		s.fail(w, r, "/admin/messages", err)
		return
	}
	s.done(w, r, "/admin/messages", "%q has its new file.", m.Name)
}
