package queue_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue"
)

// clock is a settable clock for the pacer.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestPacer(c *clock) *queue.Pacer {
	return queue.NewPacer(queue.PacerConfig{Now: c.Now})
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func wantRate(t *testing.T, p *queue.Pacer, gw string, want float64) {
	t.Helper()
	if got := p.Rate(gw); !near(got, want) {
		t.Fatalf("Rate(%q) = %v, want %v", gw, got, want)
	}
}

func TestPacerRateLimitsLowerTheRate(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("meta", 80)
	wantRate(t, p, "meta", 80)

	p.RateLimited("meta", 0)
	wantRate(t, p, "meta", 40) // 80 × 0.5

	prev := p.Rate("meta")
	for i := range 4 {
		c.Add(1500 * time.Millisecond) // past the hold each time
		p.RateLimited("meta", 0)
		got := p.Rate("meta")
		if got >= prev {
			t.Fatalf("answer %d: rate %v, not below %v", i+2, got, prev)
		}
		prev = got
	}
	// 40 → (40+6)/2=23 → (23+6)/2=14.5 → (14.5+6)/2=10.25 → (10.25+6)/2=8.125
	wantRate(t, p, "meta", 8.125)
}

func TestPacerConcurrentRateLimitsCountOnce(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("meta", 80)

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { p.RateLimited("meta", 0) })
	}
	wg.Wait()
	wantRate(t, p, "meta", 40)

	// Still within the hold: late answers from the same overload.
	c.Add(900 * time.Millisecond)
	p.RateLimited("meta", 0)
	wantRate(t, p, "meta", 40+4*0.9)

	// Past it: a new overload halves again.
	c.Add(100 * time.Millisecond)
	p.RateLimited("meta", 0)
	wantRate(t, p, "meta", (40+4)/2)
}

func TestPacerQuietTimeRaisesToTargetNeverAbove(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("meta", 80)
	p.RateLimited("meta", 0)

	c.Add(5 * time.Second)
	wantRate(t, p, "meta", 60) // + 0.05×80 per second
	c.Add(5 * time.Second)
	wantRate(t, p, "meta", 80)
	c.Add(time.Minute)
	wantRate(t, p, "meta", 80)

	// The least increase applies to small targets: 0.05×4 < 0.5.
	p.SetTarget("small", 4)
	p.RateLimited("small", 0)
	wantRate(t, p, "small", 2)
	c.Add(2 * time.Second)
	wantRate(t, p, "small", 3)
	c.Add(time.Hour)
	wantRate(t, p, "small", 4)
}

func TestPacerRetryAfterIsHonoured(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("whapi", 10)
	p.RateLimited("whapi", 3*time.Second)

	if d := p.Reserve("whapi"); d < 3*time.Second {
		t.Fatalf("Reserve during the pause = %v, want ≥ 3s", d)
	}
	c.Add(time.Second)
	if d := p.Reserve("whapi"); d < 2*time.Second {
		t.Fatalf("Reserve 1s into the pause = %v, want ≥ 2s", d)
	}
	// The increase starts when the pause ends.
	c.Add(2 * time.Second)
	wantRate(t, p, "whapi", 5)
	c.Add(2 * time.Second)
	wantRate(t, p, "whapi", 6)

	// An unlimited gateway is paused too.
	p.RateLimited("shiprocket", 30*time.Second)
	if d := p.Reserve("shiprocket"); d != 30*time.Second {
		t.Fatalf("Reserve on a paused gateway = %v, want 30s", d)
	}
	// A later, longer hint within the hold extends the pause.
	c.Add(100 * time.Millisecond)
	p.RateLimited("shiprocket", time.Minute)
	if d := p.Reserve("shiprocket"); d != time.Minute {
		t.Fatalf("Reserve after a longer hint = %v, want 1m", d)
	}
	// The pause is bounded.
	p.SetTarget("meta", 80)
	p.RateLimited("meta", 48*time.Hour)
	if d := p.Reserve("meta"); d != time.Hour {
		t.Fatalf("Reserve after a 48h hint = %v, want the 1h bound", d)
	}
}

func TestPacerFloorHolds(t *testing.T) {
	c := newClock()
	// A short hold lets answers come faster than the rate climbs back
	// (with the default 1s hold a target of 80 settles near 4/s).
	p := queue.NewPacer(queue.PacerConfig{Now: c.Now, DecreaseHold: time.Millisecond})
	p.SetTarget("meta", 80)
	for range 40 {
		p.RateLimited("meta", 0)
		c.Add(time.Millisecond)
	}
	p.RateLimited("meta", 0)
	wantRate(t, p, "meta", 0.5)
	if d := p.Reserve("meta"); d != 0 {
		t.Fatalf("first Reserve at the floor = %v", d)
	}
	if d := p.Reserve("meta"); d != 2*time.Second {
		t.Fatalf("second Reserve at the floor = %v, want 2s", d)
	}

	// A target below the floor is its own floor.
	p.SetTarget("session", 0.2)
	p.RateLimited("session", 0)
	wantRate(t, p, "session", 0.2)
}

func TestPacerSetTarget(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("meta", 80)
	p.SetTarget("meta", 20) // lowering caps at once
	wantRate(t, p, "meta", 20)
	p.SetTarget("meta", 100) // raising a gateway at its target: at once
	wantRate(t, p, "meta", 100)

	p.RateLimited("meta", 0) // 50
	p.SetTarget("meta", 30)  // below the reduced rate: capped
	wantRate(t, p, "meta", 30)
	c.Add(time.Minute)
	wantRate(t, p, "meta", 30)

	p.RateLimited("meta", 0) // 15
	c.Add(2 * time.Second)   // 15 + 2×1.5 = 18
	p.SetTarget("meta", 60)  // raising a slowed gateway: it climbs on
	wantRate(t, p, "meta", 18)
	c.Add(2 * time.Second)
	wantRate(t, p, "meta", 18+2*3)

	// Removing the target of a slowed gateway keeps its rate, with the
	// old target as its ceiling: released at twice it.
	p.SetTarget("meta", 0)
	wantRate(t, p, "meta", 24)
	c.Add(10 * time.Second)
	wantRate(t, p, "meta", 24+10*3)
	c.Add(time.Minute)
	wantRate(t, p, "meta", 0)

	// Nonsense targets mean none.
	p.SetTarget("x", math.NaN())
	p.SetTarget("y", math.Inf(1))
	p.SetTarget("z", -3)
	for _, gw := range []string{"x", "y", "z"} {
		wantRate(t, p, gw, 0)
		if d := p.Reserve(gw); d != 0 {
			t.Fatalf("Reserve(%s) = %v", gw, d)
		}
	}
}

func TestPacerReserveSpacesSlots(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("meta", 80) // burst of 8, then one every 12.5ms
	for i := range 8 {
		if d := p.Reserve("meta"); d != 0 {
			t.Fatalf("burst send %d waits %v", i, d)
		}
	}
	for i := 1; i <= 4; i++ {
		if d, want := p.Reserve("meta"), time.Duration(i)*12500*time.Microsecond; d != want {
			t.Fatalf("send %d waits %v, want %v", 8+i, d, want)
		}
	}
	// Idle time refills the burst, no more.
	c.Add(time.Hour)
	for range 8 {
		if d := p.Reserve("meta"); d != 0 {
			t.Fatalf("after idle time a burst send waits %v", d)
		}
	}
	if d := p.Reserve("meta"); d != 12500*time.Microsecond {
		t.Fatalf("after the burst: %v", d)
	}

	// A burst of one below 20/s.
	p.SetTarget("w", 10) // burst 1: one every 100ms
	for i := range 5 {
		if d, want := p.Reserve("w"), time.Duration(i)*100*time.Millisecond; d != want {
			t.Fatalf("send %d waits %v, want %v", i, d, want)
		}
	}
}

func TestPacerDecreaseStartsFromRateSeen(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("meta", 80)
	for range 10 {
		p.Reserve("meta")
	}
	p.RateLimited("meta", 0)
	wantRate(t, p, "meta", 5) // 10 sends in the last second, halved
}

func TestPacerUnlimitedGatewayDiscoversACeiling(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	for range 20 {
		if d := p.Reserve("shiprocket"); d != 0 {
			t.Fatalf("unlimited Reserve = %v", d)
		}
	}
	wantRate(t, p, "shiprocket", 0)
	p.RateLimited("shiprocket", 0) // 20/s seen: the ceiling
	wantRate(t, p, "shiprocket", 10)
	if d := p.Reserve("shiprocket"); d != 0 {
		t.Fatalf("first paced Reserve = %v", d)
	}
	if d := p.Reserve("shiprocket"); d != 100*time.Millisecond {
		t.Fatalf("second paced Reserve = %v, want 100ms", d)
	}
	c.Add(10 * time.Second) // + 0.05×20 per second
	wantRate(t, p, "shiprocket", 20)
	c.Add(19 * time.Second)
	wantRate(t, p, "shiprocket", 39) // above the ceiling: still probing
	c.Add(time.Second)
	wantRate(t, p, "shiprocket", 0) // twice the ceiling: unlimited again
	if d := p.Reserve("shiprocket"); d != 0 {
		t.Fatalf("Reserve after release = %v", d)
	}

	// A rate limit on the very first send: the floor is the ceiling.
	p.RateLimited("new", 0)
	wantRate(t, p, "new", 0.5)

	rates := p.Rates()
	if len(rates) != 2 || rates["shiprocket"] != 0 || !near(rates["new"], 0.5) {
		t.Fatalf("Rates() = %v", rates)
	}
}

func TestPacerWaitGivesBackACancelledSlot(t *testing.T) {
	c := newClock()
	p := newTestPacer(c)
	p.SetTarget("meta", 1)
	if d := p.Reserve("meta"); d != 0 {
		t.Fatalf("first Reserve = %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Wait(ctx, "meta") }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	// Whether Wait booked before seeing the cancel or not, the next slot
	// is the one a second after the first send.
	if d := p.Reserve("meta"); d != time.Second {
		t.Fatalf("Reserve after a cancelled Wait = %v, want 1s", d)
	}
	// A wait that is due returns at once.
	c.Add(time.Hour)
	if err := p.Wait(context.Background(), "meta"); err != nil {
		t.Fatal(err)
	}
}

func TestPacerConcurrentUse(t *testing.T) {
	p := queue.NewPacer(queue.PacerConfig{})
	p.SetTarget("meta", 1e6)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				switch (i + j) % 5 {
				case 0:
					p.RateLimited("meta", 0)
				case 1:
					p.SetTarget("meta", float64(1e6+j))
				case 2:
					_ = p.Rates()
				default:
					p.Reserve("meta")
				}
			}
		})
	}
	wg.Wait()
	if r := p.Rate("meta"); !(r > 0) {
		t.Fatalf("rate %v", r)
	}
}

// Senders say whether a rate limit is the gateway's or one recipient's;
// both stay RateLimited for the code that only knows classes.
func TestRateLimitScopes(t *testing.T) {
	base := errors.New("too many")
	gw := queue.RateLimitedFor(7*time.Second, "130429", base)
	pair := queue.RecipientRateLimitedFor(6*time.Second, "131056", base)
	for _, err := range []error{gw, pair} {
		if class, se := queue.ClassOf(err); class != queue.RateLimited || se == nil || !errors.Is(err, base) {
			t.Fatalf("ClassOf(%v) = %s", err, class)
		}
	}
	if pause, ok := queue.GatewayRateLimit(gw); !ok || pause != 7*time.Second {
		t.Fatalf("GatewayRateLimit(gateway) = %v, %v", pause, ok)
	}
	if _, se := queue.ClassOf(pair); se.Scope != queue.ScopeRecipient || se.RetryAfter != 6*time.Second || se.Scope.String() != "recipient" {
		t.Fatalf("recipient error = %+v", se)
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{pair, false}, {nil, false}, {base, false},
		{queue.Classify(queue.Retry, "500", base), false},
		{queue.Classify(queue.RateLimited, "429", base), true},
		{fmt.Errorf("send: %w", gw), true},
	} {
		if _, ok := queue.GatewayRateLimit(tc.err); ok != tc.want {
			t.Fatalf("GatewayRateLimit(%v) = %v, want %v", tc.err, ok, tc.want)
		}
	}
	if queue.RecipientRateLimitedFor(time.Second, "131056", nil) != nil {
		t.Fatal("a nil error stays nil")
	}
}
