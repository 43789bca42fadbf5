package session

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestPacerSpacesSends(t *testing.T) {
	t.Parallel()
	p := NewPacer(20*time.Millisecond, 30*time.Millisecond)
	ctx := context.Background()
	begin := time.Now()
	var starts []time.Time
	for range 3 {
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, time.Now())
	}
	// Slots are at least 20ms apart, each counted from the slot before,
	// not from when Wait returned: a busy machine may return one Wait
	// late and the next on time. So send i starts no earlier than
	// begin + i×20ms, however late any return was.
	for i, at := range starts {
		if want := time.Duration(i) * 20 * time.Millisecond; at.Sub(begin) < want {
			t.Errorf("send %d started %s after the first call, want at least %s", i, at.Sub(begin), want)
		}
	}
}

func TestPacerFirstSendDoesNotWait(t *testing.T) {
	t.Parallel()
	p := NewPacer(time.Hour, time.Hour)
	start := time.Now()
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("first Wait took %s", d)
	}
}

func TestPacerConcurrentCallersGetDistinctSlots(t *testing.T) {
	t.Parallel()
	p := NewPacer(15*time.Millisecond, 15*time.Millisecond)
	var mu sync.Mutex
	var starts []time.Time
	var wg sync.WaitGroup
	begin := time.Now()
	for range 4 {
		wg.Go(func() {
			if err := p.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
		})
	}
	wg.Wait()
	// Four distinct slots 15ms apart: the last starts no earlier than
	// 45ms after the first call (counted from the calls, not from when the
	// first Wait returned, which a busy machine may delay).
	last := starts[0]
	for _, s := range starts {
		if s.After(last) {
			last = s
		}
	}
	if span := last.Sub(begin); span < 45*time.Millisecond {
		t.Errorf("4 sends spanned %s, want at least 3 gaps of 15ms", span)
	}
}

func TestPacerRefusesSlotPastDeadline(t *testing.T) {
	t.Parallel()
	p := NewPacer(time.Hour, time.Hour)
	p.reserve = 0
	if err := p.Wait(context.Background()); err != nil { // takes the free slot
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := p.Wait(ctx)
	var pe *PaceError
	if !errors.As(err, &pe) {
		t.Fatalf("Wait = %v, want *PaceError", err)
	}
	if pe.Wait < 59*time.Minute {
		t.Errorf("PaceError.Wait = %s, want about an hour", pe.Wait)
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Error("a refused slot must not be waited for")
	}
	// The refused slot was not taken: a caller without deadline gets it.
	p.mu.Lock()
	next := p.next
	p.mu.Unlock()
	if next.Sub(start) > 61*time.Minute {
		t.Error("the refused caller took a slot")
	}
}

func TestPacerReserveCountsAgainstDeadline(t *testing.T) {
	t.Parallel()
	p := NewPacer(50*time.Millisecond, 50*time.Millisecond)
	p.reserve = time.Second
	_ = p.Wait(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var pe *PaceError
	if err := p.Wait(ctx); !errors.As(err, &pe) {
		t.Fatalf("Wait = %v, want *PaceError: 50ms slot + 1s reserve is past a 500ms deadline", err)
	}
}

func TestPacerRespectsCancel(t *testing.T) {
	t.Parallel()
	p := NewPacer(time.Hour, time.Hour)
	_ = p.Wait(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
}

func TestPacerGapsAreRandomWithinBounds(t *testing.T) {
	t.Parallel()
	lo, hi := 3*time.Second, 8*time.Second
	seen := map[time.Duration]bool{}
	for range 200 {
		g := randomGap(lo, hi)
		if g < lo || g > hi {
			t.Fatalf("gap %s outside [%s, %s]", g, lo, hi)
		}
		seen[g] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct gaps in 200 draws", len(seen))
	}
	if g := randomGap(time.Second, time.Second); g != time.Second {
		t.Errorf("randomGap(1s, 1s) = %s", g)
	}
	if p := NewPacer(5*time.Second, time.Second); p.max != 5*time.Second {
		t.Errorf("max below min: max = %s, want 5s", p.max)
	}
	if p := NewPacer(-time.Second, -time.Second); p.min != 0 || p.max != 0 {
		t.Errorf("negative gaps: %s..%s, want 0", p.min, p.max)
	}
}
