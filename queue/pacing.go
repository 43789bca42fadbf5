package queue

import (
	"context"
	"math"
	"sync"
	"time"
)

// Defaults of PacerConfig fields left zero.
const (
	defaultPaceDecrease    = 0.5
	defaultPaceIncrease    = 0.05
	defaultPaceMinIncrease = 0.5
	defaultPaceMinRate     = 0.5
	defaultPaceBurst       = 100 * time.Millisecond
	defaultPaceHold        = time.Second
	defaultPaceMaxPause    = time.Hour
	// ceilingRelease: a gateway without a target rate goes back to
	// unlimited once its rate has climbed to this multiple of the ceiling
	// its first rate limit revealed.
	ceilingRelease = 2
)

// PacerConfig tunes a Pacer. Zero (or out-of-range) values take the
// defaults shown.
type PacerConfig struct {
	// Now is the clock (time.Now). Reserve is pure arithmetic on it; Wait
	// sleeps in real time, so use a real clock with Wait.
	Now func() time.Time
	// Decrease multiplies a gateway's rate on a rate-limit answer (0.5);
	// it must be in (0, 1).
	Decrease float64
	// IncreasePerSecond is the share of the target rate that comes back
	// per second without a rate-limit answer (0.05: from half the target
	// to all of it in 10 s).
	IncreasePerSecond float64
	// MinIncrease is the least increase, in sends per second gained per
	// second (0.5).
	MinIncrease float64
	// MinRate is the floor of the rate in sends per second (0.5); a
	// target below it is its own floor.
	MinRate float64
	// Burst is how much sending time a gateway may bank while it is idle
	// (100ms: a tenth of a second's sends, at least one), as the loop's
	// rate limiter allows.
	Burst time.Duration
	// DecreaseHold is how long after a decrease further rate-limit
	// answers do not decrease again (1s). The requests in flight when the
	// provider began refusing, sent at the old rate, are answered within
	// it, so a burst of concurrent 429s from one overload halves the rate
	// once, not once per answer. Their Retry-After pauses still apply.
	DecreaseHold time.Duration
	// MaxPause bounds a Retry-After pause (1h).
	MaxPause time.Duration
}

func (c *PacerConfig) setDefaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if !(c.Decrease > 0 && c.Decrease < 1) {
		c.Decrease = defaultPaceDecrease
	}
	if !(c.IncreasePerSecond > 0) || math.IsInf(c.IncreasePerSecond, 1) {
		c.IncreasePerSecond = defaultPaceIncrease
	}
	if !(c.MinIncrease > 0) || math.IsInf(c.MinIncrease, 1) {
		c.MinIncrease = defaultPaceMinIncrease
	}
	if !(c.MinRate > 0) || math.IsInf(c.MinRate, 1) {
		c.MinRate = defaultPaceMinRate
	}
	if c.Burst <= 0 {
		c.Burst = defaultPaceBurst
	}
	if c.DecreaseHold <= 0 {
		c.DecreaseHold = defaultPaceHold
	}
	if c.MaxPause <= 0 {
		c.MaxPause = defaultPaceMaxPause
	}
}

// Pacer paces sends per gateway and adapts each gateway's rate to the
// provider's rate-limit answers, as TCP does its window (AIMD): a
// gateway-scoped rate limit multiplies the rate by Decrease for every
// worker at once, and each second without one adds IncreasePerSecond of
// the target back, up to the target and never above it. A Retry-After
// pause holds every send through the gateway until it ends.
//
// SetTarget gives a gateway its configured rate. A gateway without one
// (0, or never set) is unlimited until its first rate limit, which
// reveals a ceiling: the rate it was sending at (sends booked in the last
// second, at least MinRate). From then on the rate starts at
// Decrease×ceiling and runs AIMD with no cap, gaining
// IncreasePerSecond×ceiling per second; once it has climbed to twice the
// ceiling without another rate limit the gateway is unlimited again.
//
// A decrease starts from the lower of the current rate and the rate
// actually seen (sends booked in the last second), so that it bites at
// once when the gateway sends below its target.
//
// Slots are booked as a token bucket (GCRA) at the current rate with a
// burst of Burst's worth of sends. Pacer is safe for concurrent use.
type Pacer struct {
	cfg PacerConfig

	mu  sync.Mutex
	gws map[string]*pace
}

// NewPacer returns a pacer with no gateway limited yet.
func NewPacer(cfg PacerConfig) *Pacer {
	cfg.setDefaults()
	return &Pacer{cfg: cfg, gws: map[string]*pace{}}
}

// pace is one gateway's controller.
type pace struct {
	target float64 // configured rate; 0: none
	// ceiling is, without a target, the rate seen at the first rate
	// limit; 0 while unlimited.
	ceiling float64
	// reduced is true while the rate is below the target (or, without a
	// target, while a ceiling holds): it is then base plus the increase
	// since since.
	reduced bool
	base    float64
	since   time.Time
	held    time.Time // no decrease before this
	pause   time.Time // no slot before this
	tat     time.Time // GCRA: theoretical arrival time of the next send

	// Sends booked in the current and the previous whole second from
	// winStart, for the rate seen.
	winStart  time.Time
	cur, prev float64
}

// booking is one reservation, so that Wait can give it back.
type booking struct {
	before, after time.Time // tat before and after it
}

func (p *Pacer) get(gateway string) *pace {
	g, ok := p.gws[gateway]
	if !ok {
		g = &pace{}
		p.gws[gateway] = g
	}
	return g
}

// SetTarget sets gateway's configured rate in sends per second; 0 (or
// not a positive finite number) means none. Lowering the target caps the
// rate at once; raising it lets a gateway at its old target send at the
// new one at once, and one slowed by rate limits climb on toward it.
// Removing the target of a slowed gateway keeps its rate, with the old
// target as its ceiling.
func (p *Pacer) SetTarget(gateway string, perSecond float64) {
	if !(perSecond > 0) || math.IsInf(perSecond, 1) {
		perSecond = 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.get(gateway)
	if g.target == perSecond {
		return
	}
	now := p.cfg.Now()
	cur := g.rate(now, &p.cfg)
	old := g.target
	g.target = perSecond
	if !g.reduced {
		return
	}
	switch {
	case perSecond == 0:
		if old > 0 {
			g.ceiling = old
		}
	case cur >= perSecond:
		g.reduced, g.ceiling = false, 0
		return
	default:
		g.ceiling = 0
	}
	// Carry on from the rate reached, at the new target's pace.
	g.base, g.since = cur, laterOf(now, g.pause)
}

// Reserve books gateway's next send slot and returns how long the caller
// must wait before sending (0: now). It does not sleep.
func (p *Pacer) Reserve(gateway string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, _ := p.get(gateway).reserve(p.cfg.Now(), &p.cfg)
	return d
}

// Wait books gateway's next send slot and sleeps until it, or until a
// Retry-After pause that began meanwhile ends. If ctx ends first it
// returns ctx.Err() and gives the slot back when no later slot was booked
// after it; otherwise that one slot stays used, a leak of at most one
// send per cancelled wait (they happen at shutdown).
func (p *Pacer) Wait(ctx context.Context, gateway string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	g := p.get(gateway)
	d, b := g.reserve(p.cfg.Now(), &p.cfg)
	p.mu.Unlock()
	for d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			p.mu.Lock()
			if !b.after.IsZero() && g.tat.Equal(b.after) {
				g.tat = b.before
			}
			p.mu.Unlock()
			return ctx.Err()
		case <-t.C:
		}
		p.mu.Lock()
		d = g.pause.Sub(p.cfg.Now())
		p.mu.Unlock()
	}
	return nil
}

// RateLimited records a gateway-scoped rate-limit answer: it multiplies
// the gateway's rate by Decrease (at most once per DecreaseHold, never
// below MinRate) and, when retryAfter > 0, hands out no slot before
// now+retryAfter (bounded by MaxPause). The increase starts again when
// the pause ends.
func (p *Pacer) RateLimited(gateway string, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.cfg
	g := p.get(gateway)
	now := c.Now()
	if retryAfter > 0 {
		if until := now.Add(min(retryAfter, c.MaxPause)); until.After(g.pause) {
			g.pause = until
		}
	}
	if now.Before(g.held) {
		if g.reduced && g.pause.After(g.since) {
			g.since = g.pause
		}
		return
	}
	cur := g.rate(now, c)
	seen := g.seen(now)
	from := cur
	switch {
	case cur == 0: // unlimited: this rate limit reveals the ceiling
		g.ceiling = max(c.MinRate, seen)
		from = g.ceiling
	case seen > 0 && seen < from:
		from = seen
	}
	floor := c.MinRate
	if g.target > 0 {
		floor = min(floor, g.target)
	}
	g.base = max(floor, from*c.Decrease)
	g.reduced = true
	g.since = laterOf(now, g.pause)
	g.held = now.Add(c.DecreaseHold)
}

// Rate is gateway's send rate now, in sends per second; 0 means
// unlimited.
func (p *Pacer) Rate(gateway string) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.gws[gateway]
	if !ok {
		return 0
	}
	return g.rate(p.cfg.Now(), &p.cfg)
}

// Rates is every known gateway's send rate now (0: unlimited).
func (p *Pacer) Rates() map[string]float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	out := make(map[string]float64, len(p.gws))
	for name, g := range p.gws {
		out[name] = g.rate(now, &p.cfg)
	}
	return out
}

// rate is the rate at now (0: unlimited). A rate that has climbed back to
// the target, or without a target to twice the ceiling, stops being
// reduced.
func (g *pace) rate(now time.Time, c *PacerConfig) float64 {
	if !g.reduced {
		return g.target
	}
	ref := g.target
	if ref == 0 {
		ref = g.ceiling
	}
	r := g.base
	if d := now.Sub(g.since); d > 0 {
		r += max(c.MinIncrease, c.IncreasePerSecond*ref) * d.Seconds()
	}
	switch {
	case g.target > 0 && r >= g.target:
		g.reduced = false
		return g.target
	case g.target == 0 && r >= ceilingRelease*g.ceiling:
		g.reduced, g.ceiling = false, 0
		return 0
	}
	return r
}

// reserve books the next slot at now and returns the wait for it.
func (g *pace) reserve(now time.Time, c *PacerConfig) (time.Duration, booking) {
	g.roll(now)
	g.cur++
	at := laterOf(now, g.pause)
	r := g.rate(now, c)
	if r <= 0 {
		return at.Sub(now), booking{}
	}
	interval := time.Duration(float64(time.Second) / r)
	burst := max(1, math.Floor(r*c.Burst.Seconds()))
	tolerance := time.Duration((burst - 1) * float64(interval))
	at = laterOf(at, g.tat.Add(-tolerance))
	b := booking{before: g.tat}
	g.tat = laterOf(g.tat, at).Add(interval)
	b.after = g.tat
	return at.Sub(now), b
}

// roll moves the one-second booking windows up to now.
func (g *pace) roll(now time.Time) {
	el := now.Sub(g.winStart)
	switch {
	case g.winStart.IsZero() || el >= 2*time.Second || el < 0:
		g.winStart, g.cur, g.prev = now, 0, 0
	case el >= time.Second:
		g.winStart, g.prev, g.cur = g.winStart.Add(time.Second), g.cur, 0
	}
}

// seen estimates the sends booked in the last second: the current
// window's and the part of the previous one still within the second.
func (g *pace) seen(now time.Time) float64 {
	g.roll(now)
	frac := now.Sub(g.winStart).Seconds()
	return g.prev*(1-frac) + g.cur
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
