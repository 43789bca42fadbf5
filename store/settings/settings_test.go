package settings_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/settings"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		def  settings.Def
		in   string
		want string // "" with err
		err  string
	}{
		{settings.Def{Key: "a.b", Type: settings.Bool}, " Yes ", "true", ""},
		{settings.Def{Key: "a.b", Type: settings.Bool}, "maybe", "", "true or false"},
		{settings.Def{Key: "a.b", Type: settings.Int, Min: 1, Max: 100}, "050", "50", ""},
		{settings.Def{Key: "a.b", Type: settings.Int, Min: 1, Max: 100}, "0", "", "from 1 to 100"},
		{settings.Def{Key: "a.b", Type: settings.Int}, "1.5", "", "whole number"},
		{settings.Def{Key: "a.b", Type: settings.Float, Min: 0.1, Max: 1000}, "80", "80", ""},
		{settings.Def{Key: "a.b", Type: settings.Float}, "NaN", "", "a number"},
		{settings.Def{Key: "a.b", Type: settings.Duration, Min: float64(10 * time.Second)}, "90s", "1m30s", ""},
		{settings.Def{Key: "a.b", Type: settings.Duration}, "1440m", "24h", ""},
		{settings.Def{Key: "a.b", Type: settings.Duration, Max: float64(24 * time.Hour)}, "25h", "", "from 0s to 24h"},
		{settings.Def{Key: "a.b", Type: settings.Duration, Min: float64(10 * time.Second)}, "5s", "", "at least 10s"},
		{settings.Def{Key: "a.b", Type: settings.Duration}, "soon", "", "30s, 5m or 1h"},
		{settings.Def{Key: "a.b", Type: settings.URL}, "https://x.example/", "https://x.example", ""},
		{settings.Def{Key: "a.b", Type: settings.URL}, "ftp://x.example", "", "http:// or https://"},
		{settings.Def{Key: "a.b", Type: settings.List}, " a, ,b ,", "a,b", ""},
		{settings.Def{Key: "a.b", Choices: []string{"dryrun", "meta"}}, "META", "meta", ""},
		{settings.Def{Key: "a.b", Choices: []string{"dryrun", "meta"}}, "smoke", "", "one of dryrun, meta"},
		{settings.Def{Key: "a.b", Check: func(v string) error { return errors.New("no odd ones") }}, "x", "", "no odd ones"},
		{settings.Def{Key: "a.b", Default: "5"}, "", "", "a value is needed"},
		{settings.Def{Key: "a.b"}, "  ", "", ""},
		{settings.Def{Key: "a.b"}, strings.Repeat("x", 4001), "", "too long"},
	} {
		got, err := tc.def.Normalize(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%s %q: %q, %v; want %q", tc.def.Type, tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "a.b: ")):
			t.Errorf("%s %q: error %v, want one naming a.b and saying %q", tc.def.Type, tc.in, err, tc.err)
		}
	}
}

func TestRegistryRefusesBadDeclarations(t *testing.T) {
	t.Parallel()
	for name, groups := range map[string][][]settings.Def{
		"duplicate key":   {{{Key: "a.b"}}, {{Key: "a.b"}}},
		"shared variable": {{{Key: "a.b", Env: "MB_X"}, {Key: "a.c", Env: "MB_X"}}},
		"bad default":     {{{Key: "a.b", Type: settings.Int, Default: "many"}}},
		"key without dot": {{{Key: "ab"}}},
	} {
		if _, err := settings.NewRegistry(groups...); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	reg, err := settings.NewRegistry([]settings.Def{{Key: "meta.access_token", Secret: true}, {Key: "queue.workers", Env: "MB_WORKERS", Role: settings.RoleOperator}, {Key: "x.y", Env: "-"}})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := reg.Def("meta.access_token")
	if d.EnvVar() != "MB_META_ACCESS_TOKEN" || d.MayChange("operator") || !d.MayChange("admin") {
		t.Fatalf("meta.access_token: env %s", d.EnvVar())
	}
	if d, _ := reg.Def("queue.workers"); d.EnvVar() != "MB_WORKERS" || !d.MayChange("operator") || d.MayChange("staff") {
		t.Fatal("queue.workers")
	}
	if d, _ := reg.Def("x.y"); d.EnvVar() != "" {
		t.Fatal("x.y has a variable")
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "short": "••••", "12345678": "••••", "EAAGsecret-token-a1b2": "••••a1b2", "ключ-секрет-тест": "••••тест"} {
		if got := settings.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// memStore is a settings table in memory that can be made to fail.
type memStore struct {
	mu    sync.Mutex
	rows  map[string]store.Setting
	reads int
	down  bool
}

func (m *memStore) Settings(context.Context) ([]store.Setting, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.down {
		return nil, errors.New("dial tcp: connection refused")
	}
	var out []store.Setting
	for _, s := range m.rows {
		out = append(out, s)
	}
	return out, nil
}

func (m *memStore) Setting(_ context.Context, name string) (store.Setting, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.rows[name]
	if !ok {
		return store.Setting{}, store.ErrNotFound
	}
	return s, nil
}

func (m *memStore) PutSetting(_ context.Context, name, value string, secret bool, actor string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows[name] = store.Setting{Name: name, Value: value, Secret: secret, UpdatedBy: actor, UpdatedAt: time.Now()}
	return nil
}

func (m *memStore) DeleteSetting(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.rows, name)
	return nil
}

func TestReaderCachesFollowsChangesAndSurvivesAnOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, err := settings.NewRegistry([]settings.Def{
		{Key: "queue.workers", Type: settings.Int, Default: "8", Min: 1, Max: 64},
		{Key: "meta.access_token", Secret: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{rows: map[string]store.Setting{}}
	r := settings.NewReader(reg, st, time.Hour, nil)
	if got := r.Int(ctx, "queue.workers"); got != 8 {
		t.Fatalf("default workers = %d", got)
	}
	// Another process changes the table: within the cache's life this one
	// keeps the value it read, without asking the database again.
	_ = st.PutSetting(ctx, "queue.workers", "4", false, "telegram:3")
	reads := st.reads
	if got := r.Int(ctx, "queue.workers"); got != 8 || st.reads != reads {
		t.Fatalf("cached read = %d after %d reads", got, st.reads-reads)
	}
	// A change through the reader applies at once.
	if _, err := r.Set(ctx, "queue.workers", "16", "telegram:3"); err != nil {
		t.Fatal(err)
	}
	if got := r.Int(ctx, "queue.workers"); got != 16 {
		t.Fatalf("after Set workers = %d", got)
	}
	if _, err := r.Set(ctx, "queue.workers", "0", "telegram:3"); err == nil {
		t.Fatal("an invalid value was stored")
	}
	if _, err := r.Set(ctx, "queue.nope", "1", "telegram:3"); !errors.Is(err, settings.ErrUnknown) {
		t.Fatalf("unknown key: %v", err)
	}
	_, _ = r.Set(ctx, "meta.access_token", "EAAG-token-abcdef", "web:owner")
	// The database goes away: the last values stay in use.
	st.mu.Lock()
	st.down = true
	st.mu.Unlock()
	r.Invalidate()
	get, err := r.Getter(ctx)
	if err != nil || get("queue.workers") != "16" || get("meta.access_token") != "EAAG-token-abcdef" {
		t.Fatalf("during an outage: %v", err)
	}
	if secrets := r.Secrets(ctx); len(secrets) != 1 || secrets[0] != "EAAG-token-abcdef" {
		t.Fatalf("secrets = %q", secrets)
	}
	// A stored value that no longer validates reads as the default.
	st.mu.Lock()
	st.down = false
	st.rows["queue.workers"] = store.Setting{Name: "queue.workers", Value: "9999"}
	st.mu.Unlock()
	r.Invalidate()
	if got := r.Int(ctx, "queue.workers"); got != 8 {
		t.Fatalf("invalid stored value read as %d, want the default 8", got)
	}
	// A reader that never read anything reports the outage.
	st.mu.Lock()
	st.down = true
	st.mu.Unlock()
	if _, err := settings.NewReader(reg, st, time.Hour, nil).Getter(ctx); err == nil {
		t.Fatal("a reader with nothing read served values during an outage")
	}
}
