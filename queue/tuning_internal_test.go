package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimitersFollowRates(t *testing.T) {
	var ls limiters
	ls.set(map[string]float64{"meta": 80, "whapi": 0})
	meta := ls.get("meta")
	if meta == nil || meta.Limit() != 80 || meta.Burst() != 8 {
		t.Fatalf("meta limiter = %+v", meta)
	}
	if ls.get("whapi") != nil {
		t.Fatal("a 0 rate got a limiter")
	}

	ls.set(map[string]float64{"meta": 5, "whapi": 20})
	if got := ls.get("meta"); got != meta || got.Limit() != 5 || got.Burst() != 1 {
		t.Fatalf("after a rate change: %p (was %p), limit %v, burst %d; want the same limiter at 5/s, burst 1",
			got, meta, got.Limit(), got.Burst())
	}
	if w := ls.get("whapi"); w == nil || w.Limit() != 20 || w.Burst() != 2 {
		t.Fatalf("whapi limiter = %+v", w)
	}

	ls.set(map[string]float64{"whapi": 0})
	if ls.get("meta") != nil || ls.get("whapi") != nil {
		t.Fatal("limits stayed after their rates were removed")
	}
	if meta.Limit() != rate.Inf {
		t.Fatalf("a removed limiter still limits sends holding it: %v", meta.Limit())
	}
}

// The loop applies the rates and spacing of the tuning it reads each cycle.
func TestLoopAppliesTuning(t *testing.T) {
	var mu sync.Mutex
	tun := Tuning{Workers: 3, RecipientSpacing: time.Minute, GatewayRates: map[string]float64{"meta": 50}}
	l := New(Config{Tuning: func(context.Context) Tuning {
		mu.Lock()
		defer mu.Unlock()
		return tun
	}}, nil, nil, nil)
	ctx := context.Background()

	if got := l.refreshTuning(ctx); got.Workers != 3 || got.RetryBase != defaultRetryBase || got.LockTimeout != defaultLockTimeout {
		t.Fatalf("tuning = %+v; want the given workers and default durations", got)
	}
	if lim := l.limiters.get("meta"); lim == nil || lim.Limit() != 50 {
		t.Fatalf("meta limiter = %+v", lim)
	}
	if _, ok := l.reserveRecipient("+919876500000"); !ok {
		t.Fatal("first send to a phone held")
	}
	if wait, ok := l.reserveRecipient("+919876500000"); ok || wait <= 0 {
		t.Fatalf("second send within the spacing: wait %v, ok %v", wait, ok)
	}
	if p, ok := l.retryPolicy().(Backoff); !ok || p.Base != defaultRetryBase || p.Cap != defaultRetryMaxDelay || p.Jitter != retryJitter {
		t.Fatalf("retry policy = %+v", l.retryPolicy())
	}

	mu.Lock()
	tun = Tuning{Workers: 3, RetryBase: 2 * time.Second, RetryMaxDelay: time.Minute, GatewayRates: map[string]float64{"meta": 10}}
	mu.Unlock()
	l.refreshTuning(ctx)
	if lim := l.limiters.get("meta"); lim == nil || lim.Limit() != 10 || lim.Burst() != 1 {
		t.Fatalf("meta limiter after the change = %+v", lim)
	}
	if _, ok := l.reserveRecipient("+919876500000"); !ok {
		t.Fatal("spacing removed but the send is still held")
	}
	if p, ok := l.retryPolicy().(Backoff); !ok || p.Base != 2*time.Second || p.Cap != time.Minute {
		t.Fatalf("retry policy after the change = %+v", l.retryPolicy())
	}

	// Without Tuning, the static fields are the tuning.
	l = New(Config{Workers: 2, RecipientSpacing: time.Second, GatewayRates: map[string]float64{"meta": 30}}, nil, nil, nil)
	if got := l.refreshTuning(ctx); got.Workers != 2 || got.RecipientSpacing != time.Second || got.LockTimeout != defaultLockTimeout {
		t.Fatalf("static tuning = %+v", got)
	}
	if lim := l.limiters.get("meta"); lim == nil || lim.Limit() != 30 {
		t.Fatalf("static meta limiter = %+v", lim)
	}
}
