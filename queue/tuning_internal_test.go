package queue

import (
	"context"
	"sync"
	"testing"
	"time"
)

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
	if r := l.pacer.Rate("meta"); r != 50 {
		t.Fatalf("meta pace = %v, want 50", r)
	}
	if _, ok := l.reserveRecipient("+919876500000"); !ok {
		t.Fatal("first send to a phone held")
	}
	if wait, ok := l.reserveRecipient("+919876500000"); ok || wait <= 0 {
		t.Fatalf("second send within the spacing: wait %v, ok %v", wait, ok)
	}
	if p, ok := l.retryPolicy(l.currentTuning()).(Backoff); !ok || p.Base != defaultRetryBase || p.Cap != defaultRetryMaxDelay || p.Jitter != retryJitter {
		t.Fatalf("retry policy = %+v", l.retryPolicy(l.currentTuning()))
	}

	mu.Lock()
	tun = Tuning{Workers: 3, RetryBase: 2 * time.Second, RetryMaxDelay: time.Minute, GatewayRates: map[string]float64{"meta": 10}}
	mu.Unlock()
	l.refreshTuning(ctx)
	if r := l.pacer.Rate("meta"); r != 10 {
		t.Fatalf("meta pace after the change = %v, want 10", r)
	}
	if _, ok := l.reserveRecipient("+919876500000"); !ok {
		t.Fatal("spacing removed but the send is still held")
	}
	if p, ok := l.retryPolicy(l.currentTuning()).(Backoff); !ok || p.Base != 2*time.Second || p.Cap != time.Minute {
		t.Fatalf("retry policy after the change = %+v", l.retryPolicy(l.currentTuning()))
	}

	// Without Tuning, the static fields are the tuning.
	l = New(Config{Workers: 2, RecipientSpacing: time.Second, GatewayRates: map[string]float64{"meta": 30}}, nil, nil, nil)
	if got := l.refreshTuning(ctx); got.Workers != 2 || got.RecipientSpacing != time.Second || got.LockTimeout != defaultLockTimeout {
		t.Fatalf("static tuning = %+v", got)
	}
	if r := l.pacer.Rate("meta"); r != 30 {
		t.Fatalf("static meta pace = %v, want 30", r)
	}
}
