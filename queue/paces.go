package queue

import (
	"slices"
	"strings"
)

// GatewayPace is a gateway's send rate now, as the provider's rate-limit
// answers left it, and the rate configured for it (sends per second; 0:
// unlimited).
type GatewayPace struct {
	Gateway string
	Rate    float64
	Target  float64
}

// Paces lists the pace of every gateway that has a configured rate or was
// slowed down, by name.
func (l *Loop) Paces() []GatewayPace {
	rates := l.pacer.Rates()
	l.targetsMu.Lock()
	for name := range l.targets {
		if _, ok := rates[name]; !ok {
			rates[name] = l.pacer.Rate(name)
		}
	}
	out := make([]GatewayPace, 0, len(rates))
	for name, r := range rates {
		t := l.targets[name]
		if r == 0 && t == 0 {
			continue
		}
		out = append(out, GatewayPace{Gateway: name, Rate: r, Target: t})
	}
	l.targetsMu.Unlock()
	slices.SortFunc(out, func(a, b GatewayPace) int { return strings.Compare(a.Gateway, b.Gateway) })
	return out
}
