package library

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/store/media"
	"github.com/messagebridge/messagebridge/store/settings"
)

// Keys of the media library's storage settings.
const (
	// SettingPublicBaseURL is the public URL of our HTTP server, under which
	// files of the local media folder are served at /media/<token>, so
	// providers can fetch them by link.
	SettingPublicBaseURL = "media.public_base_url"
	// SettingStore chooses where media files are kept: local or s3. It is
	// read at start.
	SettingStore = "media.store"

	SettingS3Endpoint  = "s3.endpoint"
	SettingS3Bucket    = "s3.bucket"
	SettingS3Region    = "s3.region"
	SettingS3AccessKey = "s3.access_key"
	SettingS3SecretKey = "s3.secret_key"
	SettingS3Prefix    = "s3.prefix"
	SettingS3PathStyle = "s3.path_style"
)

// The media stores media.store chooses.
const (
	StoreLocal = "local"
	StoreS3    = "s3"
)

// SettingDefs declares the library's settings.
func SettingDefs() []settings.Def {
	return []settings.Def{
		{Key: SettingPublicBaseURL, Type: settings.URL,
			Help: "public URL of this server (e.g. https://bot.example.com); with it, files of the local media folder get signed, expiring links at /media/<token>, and gateways set to send media by link do so"},
		{Key: SettingStore, Default: StoreLocal, Choices: []string{StoreLocal, StoreS3},
			Help: "where image and video files are kept: local (a folder in the data dir) or s3 (any S3-compatible storage, see s3.*); takes effect at the next start"},
		{Key: SettingS3Endpoint, Type: settings.URL, Check: checkEndpoint,
			Help: "S3 service URL without a path, e.g. https://s3.ap-south-1.amazonaws.com or http://127.0.0.1:9000 (MinIO)"},
		{Key: SettingS3Bucket, Help: "S3 bucket for media files; it must exist"},
		{Key: SettingS3Region, Help: "S3 region, e.g. ap-south-1 (empty: asked from the service)"},
		{Key: SettingS3AccessKey, Help: "S3 access key id"},
		{Key: SettingS3SecretKey, Secret: true, Help: "S3 secret access key"},
		{Key: SettingS3Prefix, Help: "folder inside the bucket for this installation's files (empty: the bucket's root)"},
		{Key: SettingS3PathStyle, Type: settings.Bool, Default: "false",
			Help: "address the bucket as <endpoint>/<bucket> (MinIO and most self-hosted services) instead of <bucket>.<host>"},
	}
}

func checkEndpoint(v string) error {
	u, err := url.Parse(v)
	if err != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
		return errors.New("use the service's URL without a path, query or credentials, e.g. http://127.0.0.1:9000")
	}
	return nil
}

// StoreOptions are what OpenStore needs besides the settings.
type StoreOptions struct {
	// LocalDir is the local media folder (the data dir's media folder).
	LocalDir string
	// LinkSecret signs the local folder's links (at least
	// media.MinSecretLen bytes); it must stay the same across restarts for
	// links handed out to keep working.
	LinkSecret []byte
	Logger     *slog.Logger
}

// OpenStore builds the media store media.store names: the local folder,
// whose links follow media.public_base_url as it changes, or S3, whose
// s3.* settings are read again on each use so a changed credential applies
// without a restart. It returns the store and its name (local or s3), as
// recorded in media objects.
func OpenStore(ctx context.Context, r *settings.Reader, opts StoreOptions) (media.Store, string, error) {
	switch kind := r.String(ctx, SettingStore); kind {
	case StoreS3:
		s := &liveS3{r: r}
		if _, err := s.store(ctx); err != nil {
			return nil, "", fmt.Errorf("media.store is s3: %w", err)
		}
		return s, StoreS3, nil
	case StoreLocal, "":
		l, err := media.NewLocal(opts.LocalDir, media.LocalOptions{
			PublicBase: func(ctx context.Context) string { return r.String(ctx, SettingPublicBaseURL) },
			Secret:     opts.LinkSecret,
			Logger:     opts.Logger,
		})
		if err != nil {
			return nil, "", err
		}
		return l, StoreLocal, nil
	default:
		return nil, "", fmt.Errorf("media.store %q: use local or s3", kind)
	}
}

// S3Config reads the S3 settings.
func S3Config(ctx context.Context, r *settings.Reader) (media.S3Config, error) {
	get, err := r.Getter(ctx)
	if err != nil {
		return media.S3Config{}, err
	}
	pathStyle, _ := strconv.ParseBool(get(SettingS3PathStyle))
	cfg := media.S3Config{
		Endpoint: get(SettingS3Endpoint), Bucket: get(SettingS3Bucket), Region: get(SettingS3Region),
		AccessKey: get(SettingS3AccessKey), SecretKey: get(SettingS3SecretKey), Prefix: get(SettingS3Prefix), PathStyle: pathStyle,
	}
	var missing []string
	for key, v := range map[string]string{SettingS3Endpoint: cfg.Endpoint, SettingS3Bucket: cfg.Bucket,
		SettingS3AccessKey: cfg.AccessKey, SettingS3SecretKey: cfg.SecretKey} {
		if v == "" {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		vars := make([]string, len(missing))
		for i, k := range missing {
			vars[i] = "MB_" + strings.ToUpper(strings.ReplaceAll(k, ".", "_"))
		}
		return media.S3Config{}, fmt.Errorf("%s not set (variables %s)", strings.Join(missing, ", "), strings.Join(vars, ", "))
	}
	return cfg, nil
}

// liveS3 is an S3 store that follows the s3.* settings: the client is
// built again when they change.
type liveS3 struct {
	r   *settings.Reader
	mu  sync.Mutex
	cfg media.S3Config
	s3  *media.S3
}

var _ media.Store = (*liveS3)(nil)

func (l *liveS3) store(ctx context.Context) (*media.S3, error) {
	cfg, err := S3Config(ctx, l.r)
	if err != nil {
		return nil, fmt.Errorf("media s3: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s3 != nil && cfg == l.cfg {
		return l.s3, nil
	}
	s, err := media.NewS3(cfg)
	if err != nil {
		return nil, err
	}
	l.cfg, l.s3 = cfg, s
	return s, nil
}

func (l *liveS3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	s, err := l.store(ctx)
	if err != nil {
		return err
	}
	return s.Put(ctx, key, r, size, contentType)
}

func (l *liveS3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s, err := l.store(ctx)
	if err != nil {
		return nil, err
	}
	return s.Open(ctx, key)
}

func (l *liveS3) Stat(ctx context.Context, key string) (media.Info, error) {
	s, err := l.store(ctx)
	if err != nil {
		return media.Info{}, err
	}
	return s.Stat(ctx, key)
}

func (l *liveS3) Delete(ctx context.Context, key string) error {
	s, err := l.store(ctx)
	if err != nil {
		return err
	}
	return s.Delete(ctx, key)
}

func (l *liveS3) List(ctx context.Context, prefix string, fn func(media.Info) error) error {
	s, err := l.store(ctx)
	if err != nil {
		return err
	}
	return s.List(ctx, prefix, fn)
}

func (l *liveS3) URL(ctx context.Context, key string, ttl time.Duration) (string, error) {
	s, err := l.store(ctx)
	if err != nil {
		return "", err
	}
	return s.URL(ctx, key, ttl)
}

func (l *liveS3) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	s, err := l.store(ctx)
	if err != nil {
		return "", err
	}
	return s.PresignPut(ctx, key, ttl)
}
