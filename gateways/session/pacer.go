package session

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// The default gap between two sends from a linked number. WhatsApp bans
// numbers that send in bursts; a person cannot type faster than this.
const (
	DefaultMinGap = 3 * time.Second
	DefaultMaxGap = 8 * time.Second
)

// Pacer spaces sends: each one starts a random gap, uniform in [min, max],
// after the one before. It is safe for concurrent use; concurrent callers
// get successive slots.
type Pacer struct {
	min, max time.Duration
	// reserve is the time a send needs after its slot: a slot that would
	// leave less than this before the caller's deadline is refused.
	reserve time.Duration
	now     func() time.Time
	gap     func(lo, hi time.Duration) time.Duration

	mu   sync.Mutex
	next time.Time // earliest start of the next send
}

// NewPacer returns a pacer with gaps between minGap and maxGap; a maxGap
// below minGap means minGap. NewPacer(0, 0) does not pace at all.
func NewPacer(minGap, maxGap time.Duration) *Pacer {
	minGap = max(minGap, 0)
	maxGap = max(maxGap, minGap)
	return &Pacer{min: minGap, max: maxGap, reserve: 10 * time.Second, now: time.Now, gap: randomGap}
}

func randomGap(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}

// PaceError says a send was not started because its turn would come too
// close to the caller's deadline.
type PaceError struct {
	// Wait is how long until the turn the send would have had.
	Wait time.Duration
}

func (e *PaceError) Error() string {
	return fmt.Sprintf("pacing: the next send slot is %s away, past this send's deadline", e.Wait.Round(time.Millisecond))
}

// Wait takes the next send slot and sleeps until it. It returns ctx.Err()
// if ctx ends first (the slot stays used), and a *PaceError without taking
// a slot if the slot would leave less than the send's reserve before ctx's
// deadline.
func (p *Pacer) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	now := p.now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	if deadline, ok := ctx.Deadline(); ok && at.After(now) && at.Add(p.reserve).After(deadline) {
		p.mu.Unlock()
		return &PaceError{Wait: at.Sub(now)}
	}
	p.next = at.Add(p.gap(p.min, p.max))
	p.mu.Unlock()

	wait := at.Sub(now)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
