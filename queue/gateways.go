package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/store"
)

// StaticGateways is a fixed set of named senders with one active. Settings-
// driven selection replaces it once admins can switch gateways at run time.
type StaticGateways struct {
	Active  string
	Senders map[string]Sender
}

// Resolve implements Gateways.
func (g StaticGateways) Resolve(_ context.Context, name string) (string, Sender, error) {
	if name == "" {
		name = g.Active
	}
	s, ok := g.Senders[name]
	if !ok {
		return name, nil, fmt.Errorf("gateway %q is not configured", name)
	}
	return name, s, nil
}

// SettingReader reads one runtime setting; *store.DB satisfies it.
type SettingReader interface {
	Setting(ctx context.Context, name string) (store.Setting, error)
}

// SettingsGateways resolves "" to the gateway named by the gateway.active
// setting, so an admin's switch takes effect while the loop runs; sends in
// flight finish on the gateway they started on. The setting is read at most
// once per TTL.
type SettingsGateways struct {
	settings SettingReader
	senders  map[string]Sender
	fallback string
	ttl      time.Duration
	now      func() time.Time

	mu      sync.Mutex
	active  string
	readAt  time.Time
	hasRead bool
}

// NewSettingsGateways returns gateways switched by the gateway.active
// setting, with fallback active while it is unset.
func NewSettingsGateways(settings SettingReader, senders map[string]Sender, fallback string) *SettingsGateways {
	return &SettingsGateways{settings: settings, senders: senders, fallback: fallback, ttl: 2 * time.Second, now: time.Now}
}

// Active returns the active gateway's name.
func (g *SettingsGateways) Active(ctx context.Context) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hasRead && g.now().Sub(g.readAt) < g.ttl {
		return g.active
	}
	active := g.fallback
	s, err := g.settings.Setting(ctx, SettingActiveGateway)
	switch {
	case err == nil && s.Value != "":
		active = s.Value
	case err != nil && !errors.Is(err, store.ErrNotFound) && g.hasRead:
		active = g.active // keep the last known choice while the database is away
	}
	g.active, g.readAt, g.hasRead = active, g.now(), true
	return active
}

// Resolve implements Gateways.
func (g *SettingsGateways) Resolve(ctx context.Context, name string) (string, Sender, error) {
	if name == "" {
		name = g.Active(ctx)
	}
	s, ok := g.senders[name]
	if !ok {
		return name, nil, fmt.Errorf("gateway %q is not configured", name)
	}
	return name, s, nil
}
