package commands

import (
	"fmt"
	"testing"
	"time"
)

// The memory of strangers told they are not set up is bounded: when full,
// those whose quiet period is over are forgotten first, and a flood of
// fresh ones never grows it past the bound.
func TestToldUnknownIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := New(nil, Config{Now: func() time.Time { return now }}, nil)
	for i := range maxToldUnknown {
		r.told[fmt.Sprintf("telegram:%d", i)] = now.Add(-2 * time.Hour) // quiet period over
	}
	r.told["telegram:0"] = now.Add(-time.Minute) // still quiet
	if !r.tellUnknown("telegram:new") {
		t.Fatal("a new stranger was not told")
	}
	if len(r.told) != 2 {
		t.Fatalf("%d remembered after pruning, want the quiet one and the new one", len(r.told))
	}
	if r.tellUnknown("telegram:0") {
		t.Fatal("pruning forgot a stranger still in its quiet period")
	}
	for i := range 2 * maxToldUnknown {
		r.tellUnknown(fmt.Sprintf("whatsapp:%d", i))
		if len(r.told) > maxToldUnknown {
			t.Fatalf("%d remembered, more than %d", len(r.told), maxToldUnknown)
		}
	}
}
