package webadmin

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/commands/ops"
)

//go:embed templates/*.html static/*
var assets embed.FS

// templates holds one parsed set per page: the layout and the page's own
// file, which defines "title" and "content".
type templates struct {
	pages map[string]*template.Template
}

func mustParseTemplates() *templates {
	funcs := template.FuncMap{"dict": dict}
	// The layout and the partials (files named _*.html) are in every set.
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/_*.html"))
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t.pages[name] = template.Must(template.Must(base.Clone()).ParseFS(assets, f))
	}
	return t
}

// dict builds a map for passing several values to a template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// page is what every template gets: the layout's parts and the page's
// own data.
type page struct {
	Title string
	// Nav names the menu entry to highlight.
	Nav string
	// Admin is the signed-in account's name; empty on the login page.
	Admin string
	Flash *flash
	// Errors are a form's problems, shown above it.
	Errors []string
	Data   any
	// Loc is the time zone times are shown in (campaign.timezone).
	Loc *time.Location
}

// timeLayout is how the pages write a time: with its zone.
const timeLayout = "02 Jan 15:04 MST"

// Time shows t in the page's time zone, labelled with the zone.
func (p page) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	loc := p.Loc
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(timeLayout)
}

// render writes the page with status code.
func (s *server) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	t, ok := s.tmpl.pages[name]
	if !ok {
		s.log.Error("no such template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if a, ok := accountFrom(r.Context()); ok {
		p.Admin = a.Username
	}
	if p.Flash == nil {
		p.Flash = takeFlash(w, r)
	}
	if p.Loc == nil && s.ops != nil && p.Admin != "" {
		p.Loc = s.ops.Location(r.Context())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// flash is a one-time message shown on the page a POST redirects to.
type flash struct {
	// Kind is "ok" or "error".
	Kind, Message string
}

const flashCookie = "mb_flash"

func setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(kind + "|" + msg)),
		Path: "/admin/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isTLS(r),
	})
}

func takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/admin/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isTLS(r)})
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(string(raw), "|")
	if !ok || (kind != "ok" && kind != "error") || len(msg) > 2000 {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}

// done redirects to back with a message saying what happened.
func (s *server) done(w http.ResponseWriter, r *http.Request, back, format string, args ...any) {
	setFlash(w, r, "ok", fmt.Sprintf(format, args...))
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// fail redirects to back with the operation's message. Internal errors
// are logged; the person sees a generic apology.
func (s *server) fail(w http.ResponseWriter, r *http.Request, back string, err error) {
	if ops.ErrorCode(err) == ops.EINTERNAL {
		s.log.ErrorContext(r.Context(), "admin page", "path", r.URL.Path, "err", err)
	}
	setFlash(w, r, "error", ops.ErrorMessage(err))
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// failPage answers a GET whose data could not be read.
func (s *server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "admin page", "path", r.URL.Path, "err", err)
	code := http.StatusInternalServerError
	if ops.ErrorCode(err) != ops.EINTERNAL {
		code = http.StatusBadRequest
	}
	s.render(w, r, code, "error", page{Title: "Something went wrong", Errors: []string{ops.ErrorMessage(err)}})
}

// localPath returns p when it is a path on this site under /admin/, else
// "/admin/": redirects never leave the page.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/admin/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/admin/"
	}
	return u.RequestURI()
}

func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// cspWith is the admin pages' Content-Security-Policy, letting scripts
// also connect to origin when it is not empty (the S3 endpoint that takes
// direct uploads).
func cspWith(origin string) string {
	connect := "'self'"
	if origin != "" {
		connect += " " + origin
	}
	return "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; " +
		"connect-src " + connect + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// secureHeaders keeps the admin pages out of frames and caches and limits
// what they may load.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", cspWith(""))
		if !strings.HasPrefix(r.URL.Path, "/admin/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// staticFiles serves the embedded CSS and JS.
func staticFiles(fsys fs.FS) http.Handler {
	fileServer := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}
