package queue

import (
	"slices"
	"strings"
	"sync"
)

// GatewayPace is a gateway's send rate now, as the provider's rate-limit
// answers left it, and the rate configured for it (sends per second; 0:
// unlimited).
type GatewayPace struct {
	Gateway string
	Rate    float64
	Target  float64
}

// paceView keeps the pacer's targets in step with the configured rates and
// lists the paces for operators.
type paceView struct {
	pacer   *Pacer
	mu      sync.Mutex
	targets map[string]float64
}

func newPaceView(p *Pacer) *paceView {
	return &paceView{pacer: p, targets: map[string]float64{}}
}

// apply makes the pacer's targets follow the configured rates: a gateway
// with a new rate gets it as its target, one whose rate is gone loses its
// target.
func (v *paceView) apply(rates map[string]float64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for name, perSec := range rates {
		if v.targets[name] != perSec {
			v.pacer.SetTarget(name, perSec)
			v.targets[name] = perSec
		}
	}
	for name := range v.targets {
		if _, ok := rates[name]; !ok {
			v.pacer.SetTarget(name, 0)
			delete(v.targets, name)
		}
	}
}

// list is the pace of every gateway that has a configured rate or was
// slowed down, by name.
func (v *paceView) list() []GatewayPace {
	rates := v.pacer.Rates()
	v.mu.Lock()
	for name := range v.targets {
		if _, ok := rates[name]; !ok {
			rates[name] = v.pacer.Rate(name)
		}
	}
	out := make([]GatewayPace, 0, len(rates))
	for name, r := range rates {
		t := v.targets[name]
		if r == 0 && t == 0 {
			continue
		}
		out = append(out, GatewayPace{Gateway: name, Rate: r, Target: t})
	}
	v.mu.Unlock()
	slices.SortFunc(out, func(a, b GatewayPace) int { return strings.Compare(a.Gateway, b.Gateway) })
	return out
}

// Paces lists the pace of every gateway that has a configured rate or was
// slowed down, by name.
func (l *Loop) Paces() []GatewayPace { return l.paces.list() }
