package media

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names inside the folder that keys can never take, since no key segment
// starts with a dot.
const (
	tmpDir  = ".tmp"  // files being written; safe to empty while the bot is stopped
	metaDir = ".meta" // one small file per object holding its content type
)

// MinSecretLen is the shortest HMAC key NewLocal accepts for signing links.
const MinSecretLen = 32

// Token layout: version byte, expiry (Unix seconds, big-endian), key, then
// the HMAC-SHA256 of "messagebridge media link\x00" and all of the above.
const (
	tokenVersion  = 1
	tokenMACLen   = sha256.Size
	tokenFixedLen = 1 + 8 + tokenMACLen
	maxTokenLen   = 2 * (tokenFixedLen + MaxKeyLen) // base64 text, generous
	tokenContext  = "messagebridge media link\x00"
)

// LocalOptions configures a Local store. The zero value gives a store that
// cannot make URLs.
type LocalOptions struct {
	// PublicBase returns the public base URL of our HTTP server
	// (the media.public_base_url setting), such as "https://bot.example.com";
	// links are <base>/media/<token>. It is asked on every URL call, so a
	// changed setting applies at once. Nil, or "" returned, means no public
	// URL: URL fails with ErrNoPublicURL.
	PublicBase func(ctx context.Context) string
	// Secret is the HMAC-SHA256 key that signs links, at least MinSecretLen
	// bytes; required when PublicBase is set. Changing it voids every link
	// handed out. NewLocal keeps a copy.
	Secret []byte
	// Now is the clock for link expiry; nil means time.Now.
	Now func() time.Time
	// Logger receives errors the link handler cannot show to its client;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Local is a Store in a folder on the local disk, normally under the data
// dir. Objects are files at their key's path, written atomically (temporary
// file, then rename) with 0600 files and 0700 folders; every access goes
// through an os.Root, so neither a key nor a symbolic link can reach outside
// the folder.
type Local struct {
	dir    string
	base   func(context.Context) string
	secret []byte
	now    func() time.Time
	log    *slog.Logger
}

var _ Store = (*Local)(nil)

// NewLocal returns a Local store keeping objects in dir, creating it (0700)
// when missing.
func NewLocal(dir string, opts LocalOptions) (*Local, error) {
	if dir == "" {
		return nil, errors.New("media: local folder not set")
	}
	if opts.PublicBase != nil && len(opts.Secret) < MinSecretLen {
		return nil, fmt.Errorf("media: link secret must be at least %d bytes", MinSecretLen)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("media: create folder: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("media: %s is not a folder", dir)
	}
	l := &Local{
		dir:    dir,
		base:   opts.PublicBase,
		secret: bytes.Clone(opts.Secret),
		now:    opts.Now,
		log:    opts.Logger,
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l, nil
}

// Dir returns the folder the store keeps its objects in.
func (l *Local) Dir() string { return l.dir }

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := l.put(ctx, key, r, size, contentType); err != nil {
		return fmt.Errorf("media put %q: %w", key, err)
	}
	return nil
}

func (l *Local) put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	ct, err := normalizeContentType(contentType)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return err
	}
	defer root.Close()

	if size >= 0 {
		r = io.LimitReader(r, size+1) // one more byte reveals a reader that is too long
	}
	tmp, err := writeTemp(root, ctxReader{ctx, r}, size)
	if err != nil {
		return err
	}
	defer root.Remove(tmp) // a no-op once renamed

	// The content type goes first: an object whose data is in place always
	// has its type; a type left without data is harmless and overwritten by
	// the next Put.
	ctTmp, err := writeTemp(root, strings.NewReader(ct), int64(len(ct)))
	if err != nil {
		return err
	}
	defer root.Remove(ctTmp)
	if err := renameInto(root, ctTmp, path.Join(metaDir, key)); err != nil {
		return err
	}
	return renameInto(root, tmp, key)
}

// writeTemp copies r into a new file under tmpDir, synced to disk, and
// returns its name. When size >= 0 the copy must be exactly that long.
func writeTemp(root *os.Root, r io.Reader, size int64) (string, error) {
	if err := root.MkdirAll(tmpDir, 0o700); err != nil {
		return "", err
	}
	name := path.Join(tmpDir, rand.Text())
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	err = copyExactly(f, r, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		root.Remove(name)
		return "", err
	}
	return name, nil
}

// copyExactly copies r to f and syncs it; when size >= 0 the copy must be
// exactly that long.
func copyExactly(f *os.File, r io.Reader, size int64) error {
	n, err := io.Copy(f, r)
	if err != nil {
		return err
	}
	if size >= 0 && n != size {
		return fmt.Errorf("read %d bytes, expected %d", n, size)
	}
	return f.Sync()
}

// renameInto moves the file from to the path to, creating its folders.
func renameInto(root *os.Root, from, to string) error {
	if err := root.MkdirAll(path.Dir(to), 0o700); err != nil {
		return err
	}
	return root.Rename(from, to)
}

// Open implements Store. The reader is an *os.File, so callers may seek.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f, _, err := l.open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("media open %q: %w", key, err)
	}
	return f, nil
}

// open returns the object's file and its Info.
func (l *Local) open(ctx context.Context, key string) (*os.File, Info, error) {
	if err := CheckKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return nil, Info{}, err
	}
	defer root.Close()
	f, err := root.Open(key)
	if err != nil {
		return nil, Info{}, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, ErrNotFound
	}
	return f, l.info(root, key, fi), nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	info, err := l.stat(ctx, key)
	if err != nil {
		return Info{}, fmt.Errorf("media stat %q: %w", key, err)
	}
	return info, nil
}

func (l *Local) stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return Info{}, err
	}
	defer root.Close()
	fi, err := root.Stat(key)
	if err != nil {
		return Info{}, notFound(err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, ErrNotFound
	}
	return l.info(root, key, fi), nil
}

// info builds the Info of the object at key, reading its content type.
func (l *Local) info(root *os.Root, key string, fi fs.FileInfo) Info {
	ct := ""
	if b, err := root.ReadFile(path.Join(metaDir, key)); err == nil {
		ct, _ = normalizeContentType(string(b))
	}
	if ct == "" {
		// Type file lost (a crash between its rename and ours, or files
		// copied in by hand): guess from the extension.
		ct = mime.TypeByExtension(path.Ext(key))
	}
	if ct == "" {
		ct = DefaultContentType
	}
	return Info{Key: key, Size: fi.Size(), ContentType: ct, ModTime: fi.ModTime()}
}

// notFound maps "no such file" errors, including a path through a file, to
// ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotFound
	}
	return err
}

// Delete implements Store. Folders left empty are kept.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := l.delete(ctx, key); err != nil {
		return fmt.Errorf("media delete %q: %w", key, err)
	}
	return nil
}

func (l *Local) delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Lstat(key)
	if err != nil {
		if notFound(err) == ErrNotFound {
			err = nil
		}
		return err
	}
	if fi.IsDir() {
		return nil // a folder of objects, not an object: nothing to delete
	}
	if err := root.Remove(key); err != nil && notFound(err) != ErrNotFound {
		return err
	}
	if err := root.Remove(path.Join(metaDir, key)); err != nil && notFound(err) != ErrNotFound {
		return err
	}
	return nil
}

// List implements Store. Objects come in lexical order of their folders.
func (l *Local) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := checkPrefix(prefix); err != nil {
		return fmt.Errorf("media list %q: %w", prefix, err)
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return fmt.Errorf("media list %q: %w", prefix, err)
	}
	defer root.Close()

	// Walk only the deepest folder the prefix names whole.
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	var fnErr error
	err = fs.WalkDir(root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(p, prefix) || CheckKey(p) != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted while we walked
			}
			return err
		}
		if err := fn(Info{Key: p, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			fnErr = err
			return fs.SkipAll
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("media list %q: %w", prefix, err)
	}
	return nil
}

// URL implements Store: it returns <base>/media/<token>, where the token
// names the key and the expiry and is signed with the secret. The link is
// served by Handler.
func (l *Local) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	u, err := l.url(ctx, key, ttl)
	if err != nil {
		return "", fmt.Errorf("media url %q: %w", key, err)
	}
	return u, nil
}

func (l *Local) url(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	if l.base == nil {
		return "", ErrNoPublicURL
	}
	base := strings.TrimRight(strings.TrimSpace(l.base(ctx)), "/")
	if base == "" {
		return "", ErrNoPublicURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("public base URL must be an http:// or https:// URL without query")
	}
	return base + "/media/" + l.sign(key, l.now().Add(ttl)), nil
}

// sign makes the token for key, valid until exp.
func (l *Local) sign(key string, exp time.Time) string {
	b := make([]byte, 0, tokenFixedLen+len(key))
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(exp.Unix()))
	b = append(b, key...)
	b = append(b, l.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// mac returns the HMAC-SHA256 of a token's payload under the link secret.
func (l *Local) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, l.secret)
	m.Write([]byte(tokenContext))
	m.Write(payload)
	return m.Sum(nil)
}

// verify returns the key a token names and when it expires, or false when
// the token is malformed, forged, tampered with or expired.
func (l *Local) verify(token string) (key string, exp time.Time, ok bool) {
	if len(l.secret) == 0 || len(token) > maxTokenLen {
		return "", time.Time{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) <= tokenFixedLen || b[0] != tokenVersion {
		return "", time.Time{}, false
	}
	payload, sum := b[:len(b)-tokenMACLen], b[len(b)-tokenMACLen:]
	if !hmac.Equal(sum, l.mac(payload)) {
		return "", time.Time{}, false
	}
	secs := binary.BigEndian.Uint64(payload[1:9])
	if secs > 1<<62 {
		return "", time.Time{}, false
	}
	exp = time.Unix(int64(secs), 0)
	key = string(payload[9:])
	if !l.now().Before(exp) || CheckKey(key) != nil {
		return "", time.Time{}, false
	}
	return key, exp, true
}

// PresignPut implements Store; a local folder has no upload endpoint, so it
// always fails with ErrNotSupported.
func (l *Local) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return "", fmt.Errorf("media presign put %q: %w", key, ErrNotSupported)
}

// Handler serves the links URL makes: GET or HEAD of a path whose last
// segment is a token, such as /media/<token>; mount it with
// mux.Handle("/media/", l.Handler()). A malformed, tampered or expired
// token, or a deleted object, gets a bare 404. Responses carry the stored
// Content-Type, Content-Length, "Cache-Control: private, max-age=<seconds
// until the link expires>", nosniff and a sandboxing Content-Security-Policy,
// and honour Range and conditional requests. Nothing is ever listed.
func (l *Local) Handler() http.Handler {
	return http.HandlerFunc(l.serveLink)
}

func (l *Local) serveLink(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	token := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	key, exp, ok := l.verify(token)
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, info, err := l.open(r.Context(), key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		l.log.ErrorContext(r.Context(), "media link", "key", key, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	maxAge := int64(exp.Sub(l.now()) / time.Second)
	h := w.Header()
	h.Set("Content-Type", info.ContentType)
	h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(maxAge, 0), 10))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", info.ModTime, f)
}
