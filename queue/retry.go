package queue

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy decides when a failed attempt is tried again.
type RetryPolicy interface {
	// NextRetry returns when to try an item again after its attempt-th
	// attempt failed at now.
	NextRetry(attempt int, now time.Time) time.Time
}

// Backoff is exponential backoff with jitter and a cap: the delay after
// attempt n is Base·2^(n-1), at most Cap, then moved by up to ±Jitter of
// itself so that items failing together do not come back together.
type Backoff struct {
	Base   time.Duration
	Cap    time.Duration
	Jitter float64 // 0..1
	// Rand returns a float in [0,1); nil means math/rand/v2.
	Rand func() float64
}

// NextRetry implements RetryPolicy.
func (b Backoff) NextRetry(attempt int, now time.Time) time.Time {
	return now.Add(b.Delay(attempt))
}

// Delay is the wait after the attempt-th failed attempt.
func (b Backoff) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := b.Base
	for i := 1; i < attempt && d < b.Cap; i++ {
		d *= 2
	}
	if b.Cap > 0 && d > b.Cap {
		d = b.Cap
	}
	if b.Jitter > 0 {
		r := rand.Float64
		if b.Rand != nil {
			r = b.Rand
		}
		d += time.Duration((r()*2 - 1) * b.Jitter * float64(d))
	}
	if d < 0 {
		d = 0
	}
	return d
}
