// Package media keeps the bytes of media files, in a local folder or
// S3-compatible storage; the rows about them live in the database.
//
// A [Store] maps keys to objects. Keys are slash-separated relative paths;
// [Key] builds the content-addressed keys the bot uses, so the same file
// saved twice is stored once. Two implementations exist: [Local], a folder
// under the data dir that serves signed, expiring links through its own
// [Local.Handler], and [S3], any S3-compatible service reached through
// minio-go, which hands out presigned URLs.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors returned by every Store, wrapped with the operation and key; test
// for them with errors.Is.
var (
	// ErrNotFound means no object is stored under the key.
	ErrNotFound = errors.New("media object not found")
	// ErrInvalidKey means a key or list prefix is malformed or could escape
	// the store (absolute, "..", backslash, control characters, ...).
	ErrInvalidKey = errors.New("invalid media key")
	// ErrNoPublicURL means the store cannot make a URL reachable from
	// outside: a Local store without a public base URL.
	ErrNoPublicURL = errors.New("media store has no public URL configured")
	// ErrNotSupported means the store cannot do the operation at all, such
	// as PresignPut on a Local store.
	ErrNotSupported = errors.New("operation not supported by this media store")
)

// MaxURLTTL is the longest lifetime URL and PresignPut accept; it is the
// limit S3 puts on presigned URLs.
const MaxURLTTL = 7 * 24 * time.Hour

// MaxKeyLen is the longest key, in bytes, a Store accepts.
const MaxKeyLen = 1024

// DefaultContentType is recorded when Put is given no content type.
const DefaultContentType = "application/octet-stream"

// Store keeps media objects under keys. Implementations are safe for
// concurrent use. Every method checks its key with [CheckKey] first.
type Store interface {
	// Put stores the bytes read from r under key, replacing any object
	// already there. size is the exact length of r, or -1 when unknown; a
	// reader that yields a different number of bytes fails the Put and
	// leaves no object behind. contentType is recorded (canonicalised) and
	// returned by Stat and the URL; empty means DefaultContentType.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error

	// Open returns the object's bytes; the caller must close the reader.
	// It fails with ErrNotFound when the key holds no object.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// Stat describes the object, or fails with ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)

	// Delete removes the object. Deleting a key that holds nothing is not
	// an error.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix (plain
	// string prefix, "" for all). The Info passed has Key, Size and ModTime;
	// ContentType is left empty, as S3 listings do not carry it: use Stat.
	// If fn returns an error, List stops and returns that error unchanged.
	List(ctx context.Context, prefix string, fn func(Info) error) error

	// URL returns an absolute GET URL for the object that anyone holding it
	// can fetch until ttl (1s to MaxURLTTL) has passed: a presigned GET on
	// S3, a signed link served by Local.Handler otherwise. It does not check
	// the object exists. It fails with ErrNoPublicURL when the store has no
	// address reachable from outside.
	URL(ctx context.Context, key string, ttl time.Duration) (string, error)

	// PresignPut returns a URL to which a client can upload the object with
	// a single HTTP PUT until ttl has passed, bypassing the bot for large
	// files. Stores that cannot do that fail with ErrNotSupported.
	PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// Info describes a stored object.
type Info struct {
	Key         string    // the key it is stored under, without any store prefix
	Size        int64     // length in bytes
	ContentType string    // as given to Put; empty in List results
	ModTime     time.Time // when it was last written
}

// Key returns the content-addressed key for a file whose SHA-256 digest is
// sha256hex (64 hex digits, any case), with ext (such as "jpg" or ".jpg";
// 1–16 lower-case letters or digits after folding, or empty for none) as its
// extension: "sha256/ab/cd/abcd….jpg". The two directory levels keep folders
// small on a local disk. It returns "" when either argument is malformed; no
// Store accepts the empty key.
func Key(sha256hex, ext string) string {
	h := strings.ToLower(sha256hex)
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return ""
	}
	ext = strings.ToLower(strings.TrimPrefix(ext, "."))
	if len(ext) > 16 || strings.Trim(ext, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
		return ""
	}
	k := "sha256/" + h[:2] + "/" + h[2:4] + "/" + h
	if ext != "" {
		k += "." + ext
	}
	return k
}

// CheckKey reports, as an error wrapping ErrInvalidKey, why key cannot name
// an object: it must be 1 to MaxKeyLen bytes of UTF-8 without control
// characters or backslashes, made of "/"-separated non-empty segments none of
// which starts with "." (so no "." or "..", and no hidden names, which the
// stores keep for themselves), with no leading or trailing slash.
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLen)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("%w: not UTF-8", ErrInvalidKey)
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: control character", ErrInvalidKey)
		}
		if c == '\\' {
			return fmt.Errorf("%w: backslash", ErrInvalidKey)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: empty path segment", ErrInvalidKey)
		case seg[0] == '.':
			return fmt.Errorf("%w: path segment starts with a dot", ErrInvalidKey)
		}
	}
	return nil
}

// checkPrefix validates a List prefix: empty, or a key, optionally followed
// by a slash.
func checkPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return CheckKey(strings.TrimSuffix(prefix, "/"))
}

// checkTTL validates the lifetime of a URL.
func checkTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > MaxURLTTL {
		return fmt.Errorf("url lifetime %v outside 1s to %v", ttl, MaxURLTTL)
	}
	return nil
}

// normalizeContentType returns the canonical form of a media type, or
// DefaultContentType for "".
func normalizeContentType(ct string) (string, error) {
	if strings.TrimSpace(ct) == "" {
		return DefaultContentType, nil
	}
	if len(ct) > 255 {
		return "", errors.New("content type longer than 255 bytes")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "", fmt.Errorf("invalid content type %q", ct)
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" {
		return "", fmt.Errorf("invalid content type %q", ct)
	}
	return out, nil
}

// ctxReader fails reads once ctx is done, so a long copy can be abandoned.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
