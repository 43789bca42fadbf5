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
