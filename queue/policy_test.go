package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
)

func TestBackoffGrowsToItsCap(t *testing.T) {
	t.Parallel()
	b := queue.Backoff{Base: 30 * time.Second, Cap: 10 * time.Minute}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i, w := range want {
		if got := b.Delay(i + 1); got != w {
			t.Errorf("delay after attempt %d = %v, want %v", i+1, got, w)
		}
	}
	if got := b.Delay(500); got != 10*time.Minute {
		t.Errorf("delay after attempt 500 = %v, want the cap", got)
	}
}

func TestBackoffJitterStaysInBounds(t *testing.T) {
	t.Parallel()
	for _, r := range []float64{0, 0.25, 0.5, 0.999} {
		b := queue.Backoff{Base: time.Minute, Cap: time.Hour, Jitter: 0.2, Rand: func() float64 { return r }}
		got := b.Delay(3) // 4m ± 20%
		lo, hi := time.Duration(float64(4*time.Minute)*0.8), time.Duration(float64(4*time.Minute)*1.2)
		if got < lo || got > hi {
			t.Errorf("rand %v: delay %v outside [%v, %v]", r, got, lo, hi)
		}
	}
	spread := map[time.Duration]bool{}
	b := queue.Backoff{Base: time.Minute, Cap: time.Hour, Jitter: 0.2}
	for range 20 {
		spread[b.Delay(2)] = true
	}
	if len(spread) < 2 {
		t.Error("jitter produced the same delay 20 times")
	}
}

func TestClassOf(t *testing.T) {
	t.Parallel()
	base := errors.New("boom")
	for _, tc := range []struct {
		err  error
		want queue.Class
	}{
		{base, queue.Retry},
		{queue.Classify(queue.Permanent, "131026", base), queue.Permanent},
		{fmt.Errorf("send: %w", queue.Classify(queue.SenderBlocked, "190", base)), queue.SenderBlocked},
		{queue.RateLimitedFor(time.Minute, "130429", base), queue.RateLimited},
	} {
		got, _ := queue.ClassOf(tc.err)
		if got != tc.want {
			t.Errorf("ClassOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if !errors.Is(tc.err, base) {
			t.Errorf("%v does not unwrap to its cause", tc.err)
		}
	}
	if _, se := queue.ClassOf(queue.RateLimitedFor(42*time.Second, "4", base)); se == nil || se.RetryAfter != 42*time.Second {
		t.Errorf("retry hint lost: %+v", se)
	}
}

func TestSanitizeError(t *testing.T) {
	t.Parallel()
	secrets := []string{"EAAGm0PX4ZCpsBAKZBsecrettoken1234567890", "s3cr3tP@ss", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlc2ln", "bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "whapi-key-998877"}
	for _, msg := range []string{
		"GET https://graph.facebook.com/v23.0/me?access_token=" + secrets[0] + " failed",
		`Authorization: Bearer ` + secrets[0],
		"dial mysql://mb:" + secrets[1] + "@db:3306/x: refused",
		"shiprocket login: token " + secrets[2] + " expired",
		"POST https://api.telegram.org/" + secrets[3] + "/sendMessage: 429",
		`{"error":"unauthorized","api_key":"` + secrets[4] + `"}`,
		`password=` + secrets[1] + `&user=x`,
	} {
		got := queue.SanitizeError(msg)
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Errorf("SanitizeError(%q) = %q keeps a secret", msg, got)
			}
		}
		if !strings.Contains(got, "[redacted]") {
			t.Errorf("SanitizeError(%q) = %q, want a [redacted] mark", msg, got)
		}
	}
	long := strings.Repeat("é", 1000)
	if got := queue.SanitizeError(long); utf8.RuneCountInString(got) > queue.MaxErrorLen || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("long error not bounded: %d characters", utf8.RuneCountInString(got))
	}
	if got := queue.SanitizeError("template   missing\n\tfor   en"); got != "template missing for en" {
		t.Errorf("whitespace not folded: %q", got)
	}
}

type settingsMap map[string]string

func (m settingsMap) active(context.Context) string { return m["gateway.active"] }

// The active gateway follows the setting; items naming a gateway keep it.
func TestSettingsGatewaysFollowTheSetting(t *testing.T) {
	t.Parallel()
	a, b := &fake.Sender{}, &fake.Sender{}
	settings := settingsMap{}
	g := queue.NewSettingsGateways(settings.active, map[string]queue.Sender{"dryrun": a, "meta": b}, "dryrun")
	ctx := context.Background()
	if name, s, err := g.Resolve(ctx, ""); err != nil || name != "dryrun" || s != a {
		t.Fatalf("unset setting: %s %v %v", name, s, err)
	}
	settings["gateway.active"] = "meta"
	g = queue.NewSettingsGateways(settings.active, map[string]queue.Sender{"dryrun": a, "meta": b}, "dryrun")
	if name, s, err := g.Resolve(ctx, ""); err != nil || name != "meta" || s != b {
		t.Fatalf("setting meta: %s %v %v", name, s, err)
	}
	if name, s, err := g.Resolve(ctx, "dryrun"); err != nil || name != "dryrun" || s != a {
		t.Fatalf("explicit dryrun: %s %v %v", name, s, err)
	}
	if _, _, err := g.Resolve(ctx, "whapi"); err == nil {
		t.Fatal("an unconfigured gateway resolved")
	}
}
