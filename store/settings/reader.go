package settings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// Store is the settings table; *store.DB satisfies it.
type Store interface {
	Settings(ctx context.Context) ([]store.Setting, error)
	Setting(ctx context.Context, name string) (store.Setting, error)
	PutSetting(ctx context.Context, name, value string, secret bool, actor string) error
	DeleteSetting(ctx context.Context, name string) error
}

// EnvActorPrefix marks a value written from an MB_* variable: its
// updated_by is "env:MB_…". Any other writer is an admin.
const EnvActorPrefix = "env:"

// Value is a setting's current value with where it came from.
type Value struct {
	Def
	// Value is the current value: the stored one, or the default.
	Value string
	// Set says the value is stored (not the default).
	Set bool
	// UpdatedBy and UpdatedAt say who stored it and when.
	UpdatedBy string
	UpdatedAt time.Time
}

// FromEnv reports whether the stored value came from its MB_* variable.
func (v Value) FromEnv() bool { return strings.HasPrefix(v.UpdatedBy, EnvActorPrefix) }

// Shown is the value as it may be shown to a person: masked when secret.
func (v Value) Shown() string {
	if v.Secret {
		return Mask(v.Value)
	}
	return v.Value
}

// Reader reads settings through a short cache, so code on hot paths (each
// send, each chat message) can read them freely, and every change takes
// effect within the cache's lifetime without a restart. When the database
// does not answer, the last values read stay in use.
type Reader struct {
	reg *Registry
	st  Store
	ttl time.Duration
	now func() time.Time
	log *slog.Logger

	mu     sync.Mutex
	values map[string]store.Setting
	readAt time.Time
	warned map[string]string // key → invalid stored value already logged
}

// NewReader returns a reader over st whose values are at most ttl old
// (default 2s).
func NewReader(reg *Registry, st Store, ttl time.Duration, log *slog.Logger) *Reader {
	if ttl <= 0 {
		ttl = 2 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{reg: reg, st: st, ttl: ttl, now: time.Now, log: log.With("component", "settings"), warned: map[string]string{}}
}

// Registry returns the declarations the reader reads.
func (r *Reader) Registry() *Registry { return r.reg }

// Invalidate makes the next read go to the database: call it after a
// change so this process sees it at once.
func (r *Reader) Invalidate() {
	r.mu.Lock()
	r.readAt = time.Time{}
	r.mu.Unlock()
}

// load returns the stored settings, read at most ttl ago. On a database
// error it returns the last values read, with the error only when there
// are none.
func (r *Reader) load(ctx context.Context) (map[string]store.Setting, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.values != nil && r.now().Sub(r.readAt) < r.ttl {
		return r.values, nil
	}
	all, err := r.st.Settings(ctx)
	if err != nil {
		if r.values != nil {
			// Keep sending with the last settings known to be good.
			r.readAt = r.now().Add(-r.ttl / 2)
			return r.values, nil
		}
		return nil, fmt.Errorf("read settings: %w", err)
	}
	values := make(map[string]store.Setting, len(all))
	for _, s := range all {
		values[s.Name] = s
	}
	r.values, r.readAt = values, r.now()
	return values, nil
}

// Lookup returns a declared setting's value. A stored value that no longer
// passes validation (an older release wrote it, or someone edited the
// table) reads as the default, with one warning in the log.
func (r *Reader) Lookup(ctx context.Context, key string) (Value, error) {
	d, ok := r.reg.Def(key)
	if !ok {
		return Value{}, fmt.Errorf("setting %q: %w", key, ErrUnknown)
	}
	values, err := r.load(ctx)
	if err != nil {
		return Value{Def: d, Value: d.Default}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.value(d, values), nil
}

// value reads d from values; r.mu must be held (it records warnings).
func (r *Reader) value(d Def, values map[string]store.Setting) Value {
	v := Value{Def: d, Value: d.Default}
	s, ok := values[d.Key]
	if !ok {
		return v
	}
	norm, err := d.Normalize(s.Value)
	if err != nil {
		if r.warned[d.Key] != s.Value {
			r.warned[d.Key] = s.Value
			r.log.Warn("stored setting is not valid; using its default", "setting", d.Key, "rule", ruleOf(err))
		}
		return v
	}
	v.Set, v.UpdatedBy, v.UpdatedAt = true, s.UpdatedBy, s.UpdatedAt
	if norm != "" {
		v.Value = norm
	}
	return v
}

func ruleOf(err error) string {
	var ie *InvalidError
	if errors.As(err, &ie) {
		return ie.Message
	}
	return err.Error()
}

// Values returns every declared setting's value, in declaration order.
func (r *Reader) Values(ctx context.Context) ([]Value, error) {
	values, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Value, 0, len(r.reg.defs))
	for _, d := range r.reg.defs {
		out = append(out, r.value(d, values))
	}
	return out, nil
}

// Secrets returns the current values of every secret setting that is set,
// so text from providers can be scrubbed of them.
func (r *Reader) Secrets(ctx context.Context) []string {
	values, err := r.load(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range r.reg.defs {
		if s, ok := values[d.Key]; ok && d.Secret && s.Value != "" {
			out = append(out, s.Value)
		}
	}
	return out
}

// String returns the value of key, or its default when unset or when the
// settings cannot be read.
func (r *Reader) String(ctx context.Context, key string) string {
	v, _ := r.Lookup(ctx, key)
	return v.Value
}

// Bool returns a Bool setting.
func (r *Reader) Bool(ctx context.Context, key string) bool {
	b, _ := strconv.ParseBool(r.String(ctx, key))
	return b
}

// Int returns an Int setting (0 when unset without a default).
func (r *Reader) Int(ctx context.Context, key string) int {
	n, _ := strconv.Atoi(r.String(ctx, key))
	return n
}

// Float returns a Float setting.
func (r *Reader) Float(ctx context.Context, key string) float64 {
	f, _ := strconv.ParseFloat(r.String(ctx, key), 64)
	return f
}

// Duration returns a Duration setting.
func (r *Reader) Duration(ctx context.Context, key string) time.Duration {
	d, _ := time.ParseDuration(r.String(ctx, key))
	return d
}

// List returns a List setting's words.
func (r *Reader) List(ctx context.Context, key string) []string {
	v := r.String(ctx, key)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// ErrUnknown means no setting has that key.
var ErrUnknown = errors.New("no such setting")

// Set validates and stores a value for key as actor, or unsets it when
// value is empty and the setting has no default. It does not check who may
// change what: that is the caller's rule.
func (r *Reader) Set(ctx context.Context, key, value, actor string) (Value, error) {
	d, ok := r.reg.Def(key)
	if !ok {
		return Value{}, fmt.Errorf("setting %q: %w", key, ErrUnknown)
	}
	norm, err := d.Normalize(value)
	if err != nil {
		return Value{}, err
	}
	if norm == "" {
		err = r.st.DeleteSetting(ctx, d.Key)
	} else {
		err = r.st.PutSetting(ctx, d.Key, norm, d.Secret, actor)
	}
	if err != nil {
		return Value{}, fmt.Errorf("set %s: %w", d.Key, err)
	}
	r.Invalidate()
	return r.Lookup(ctx, d.Key)
}

// Reset removes a stored value, so the default (or, at the next start, the
// MB_* variable) applies again.
func (r *Reader) Reset(ctx context.Context, key string) error {
	d, ok := r.reg.Def(key)
	if !ok {
		return fmt.Errorf("setting %q: %w", key, ErrUnknown)
	}
	if err := r.st.DeleteSetting(ctx, d.Key); err != nil {
		return fmt.Errorf("reset %s: %w", d.Key, err)
	}
	r.Invalidate()
	return nil
}

// Getter returns one consistent view of every setting (values or
// defaults), for code that reads several settings together, such as a
// gateway's credentials. It fails only when the settings have never been
// readable; during a database outage it serves the last values read.
func (r *Reader) Getter(ctx context.Context) (func(key string) string, error) {
	values, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	return func(key string) string {
		d, ok := r.reg.Def(key)
		if !ok {
			return ""
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.value(d, values).Value
	}, nil
}
