package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3Config says how to reach an S3-compatible bucket (AWS S3, MinIO,
// Cloudflare R2, Backblaze B2, ...). Its String and LogValue never show the
// secret key.
type S3Config struct {
	// Endpoint is the service's base URL, http:// or https://, without a
	// path: "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000".
	Endpoint string
	// Bucket must exist already.
	Bucket string
	// Region signs requests and presigned URLs; empty lets minio-go ask the
	// service once (GetBucketLocation).
	Region string
	// AccessKey and SecretKey are the static credentials; both required.
	AccessKey string
	SecretKey string
	// Prefix, if set, is prepended (with a slash) to every key, so several
	// installations can share a bucket. Keys given to and returned by the
	// Store never include it.
	Prefix string
	// PathStyle addresses the bucket as <endpoint>/<bucket>/ rather than
	// <bucket>.<host>, as MinIO and most self-hosted services need.
	PathStyle bool
}

// String describes the configuration with the secret key redacted.
func (c S3Config) String() string {
	return fmt.Sprintf("s3 endpoint=%s bucket=%s region=%s prefix=%s path_style=%t access_key=%s secret_key=%s",
		c.Endpoint, c.Bucket, c.Region, c.Prefix, c.PathStyle, c.AccessKey, redact(c.SecretKey))
}

// LogValue implements slog.LogValuer, with the secret key redacted.
func (c S3Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint),
		slog.String("bucket", c.Bucket),
		slog.String("region", c.Region),
		slog.String("prefix", c.Prefix),
		slog.Bool("path_style", c.PathStyle),
		slog.String("access_key", c.AccessKey),
		slog.String("secret_key", redact(c.SecretKey)),
	)
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// S3 is a Store in an S3-compatible bucket, reached through minio-go.
// Nothing is kept on the local disk. Objects are stored under
// <Prefix>/<key> with their content type; URL and PresignPut hand out
// presigned URLs signed with the configured credentials.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

var _ Store = (*S3)(nil)

// NewS3 returns an S3 store for cfg. It checks the configuration but makes
// no request.
func NewS3(cfg S3Config) (*S3, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.Endpoint))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("media s3: endpoint must be an http:// or https:// URL with no path, query or credentials")
	}
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("media s3: bucket %q: %w", cfg.Bucket, err)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("media s3: access key and secret key are required")
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := CheckKey(prefix); err != nil {
			return nil, fmt.Errorf("media s3: prefix %q: %w", cfg.Prefix, err)
		}
		prefix += "/"
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("media s3: %w", err)
	}
	return &S3{client: client, bucket: cfg.Bucket, prefix: prefix}, nil
}

// object returns the bucket object name for a key.
func (s *S3) object(key string) string { return s.prefix + key }

// unknownSizePartSize is the part size for uploads of unknown length: the
// memory one such Put buffers, and a 160 GB limit on the object (10,000
// parts).
const unknownSizePartSize = 16 << 20

// Put implements Store. A size of -1 makes it upload in 16 MiB parts, each
// buffered in memory; pass the size when known.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := s.put(ctx, key, r, size, contentType); err != nil {
		return fmt.Errorf("media put %q: %w", key, err)
	}
	return nil
}

func (s *S3) put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	ct, err := normalizeContentType(contentType)
	if err != nil {
		return err
	}
	if size < -1 {
		return fmt.Errorf("invalid size %d", size)
	}
	opts := minio.PutObjectOptions{ContentType: ct}
	if size < 0 {
		// minio-go would otherwise size parts for a 5 TiB object and
		// buffer ~537 MiB per upload.
		opts.PartSize = unknownSizePartSize
	}
	_, err = s.client.PutObject(ctx, s.bucket, s.object(key), r, size, opts)
	return err
}

// Open implements Store. The GET is sent and its first bytes read before
// Open returns, so a missing key fails here rather than on the first Read.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("media open %q: %w", key, err)
	}
	return rc, nil
}

func (s *S3) open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, mapS3Error(err)
	}
	// Peek rather than obj.Stat: that sends a HEAD, whose bodiless 404
	// cannot tell a missing bucket from a missing key; the GET can.
	br := bufio.NewReader(obj)
	if _, err := br.Peek(1); err != nil && err != io.EOF {
		obj.Close()
		return nil, mapS3Error(err)
	}
	return bufferedObject{br, obj}, nil
}

// bufferedObject reads an object through the buffer Open peeked into.
type bufferedObject struct {
	*bufio.Reader
	io.Closer
}

// Stat implements Store. A missing bucket is reported as ErrNotFound too:
// the HEAD response carries no error code to tell them apart.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := CheckKey(key); err != nil {
		return Info{}, fmt.Errorf("media stat %q: %w", key, err)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("media stat %q: %w", key, mapS3Error(err))
	}
	return Info{Key: key, Size: oi.Size, ContentType: oi.ContentType, ModTime: oi.LastModified}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return fmt.Errorf("media delete %q: %w", key, err)
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(mapS3Error(err), ErrNotFound) {
		return fmt.Errorf("media delete %q: %w", key, err)
	}
	return nil
}

// List implements Store, in the lexical key order S3 lists in. Objects in
// the bucket whose names are not valid keys (folder markers such as "a/")
// are skipped.
func (s *S3) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := checkPrefix(prefix); err != nil {
		return fmt.Errorf("media list %q: %w", prefix, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.object(prefix),
		Recursive: true,
	})
	for oi := range objects {
		if oi.Err != nil {
			return fmt.Errorf("media list %q: %w", prefix, mapS3Error(oi.Err))
		}
		key, ok := strings.CutPrefix(oi.Key, s.prefix)
		if !ok || CheckKey(key) != nil {
			continue
		}
		if err := fn(Info{Key: key, Size: oi.Size, ModTime: oi.LastModified}); err != nil {
			return err
		}
	}
	// minio-go's iterator ends silently when ctx is done.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("media list %q: %w", prefix, err)
	}
	return nil
}

// URL implements Store with a presigned GET URL.
func (s *S3) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", fmt.Errorf("media url %q: %w", key, err)
	}
	if err := checkTTL(ttl); err != nil {
		return "", fmt.Errorf("media url %q: %w", key, err)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.object(key), ttl, nil)
	if err != nil {
		return "", fmt.Errorf("media url %q: %w", key, err)
	}
	return u.String(), nil
}

// PresignPut implements Store with a presigned PUT URL. The signature does
// not cover the Content-Type header; the uploader should send the right
// one, as it is what Stat and GET report afterwards.
func (s *S3) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", fmt.Errorf("media presign put %q: %w", key, err)
	}
	if err := checkTTL(ttl); err != nil {
		return "", fmt.Errorf("media presign put %q: %w", key, err)
	}
	u, err := s.client.PresignedPutObject(ctx, s.bucket, s.object(key), ttl)
	if err != nil {
		return "", fmt.Errorf("media presign put %q: %w", key, err)
	}
	return u.String(), nil
}

// mapS3Error turns a missing-object response into ErrNotFound, keeping the
// service's message. A missing bucket stays an error of its own: it is a
// configuration mistake, not an absent object.
func mapS3Error(err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.Code == minio.NoSuchKey || (resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket) {
		return fmt.Errorf("%w (%s)", ErrNotFound, resp.Code)
	}
	return err
}
