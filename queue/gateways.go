package queue

import (
	"context"
	"fmt"
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

// SettingsGateways resolves "" to the gateway an admin chose (the
// gateway.active setting, read through the settings reader's cache), so a
// switch takes effect while the loop runs; sends in flight finish on the
// gateway they started on.
type SettingsGateways struct {
	active   func(ctx context.Context) string
	senders  map[string]Sender
	fallback string
}

// NewSettingsGateways returns gateways switched by active (which returns ""
// while nothing is chosen, when fallback applies).
func NewSettingsGateways(active func(ctx context.Context) string, senders map[string]Sender, fallback string) *SettingsGateways {
	return &SettingsGateways{active: active, senders: senders, fallback: fallback}
}

// Active returns the active gateway's name.
func (g *SettingsGateways) Active(ctx context.Context) string {
	if name := g.active(ctx); name != "" {
		return name
	}
	return g.fallback
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
