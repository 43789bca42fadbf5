package gateways_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":  0,
		"7": 7 * time.Second, " 30 ": 30 * time.Second, "-5": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := gateways.RetryAfter(v, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+919876543210": "+91•••••••210",
		"919876543210":  "91•••••••210",
		"+123":          "•••",
	} {
		if got := gateways.MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
