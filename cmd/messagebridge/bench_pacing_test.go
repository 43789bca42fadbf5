package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
)

// The fake Cloud API speaks Meta's wire format: the real meta gateway gets
// wamids while the one-second window has room, then 130429 classified as a
// gateway-scoped rate limit with no pause; a second later it accepts again.
func TestPacingFakeSpeaksTheCloudAPI(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	fake := newPacingFake(3)
	fake.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client := func(token string) *meta.Client {
		return meta.New(meta.Options{Credentials: func(context.Context) (meta.Credentials, error) {
			return meta.Credentials{AccessToken: token, PhoneNumberID: pacingPhoneID, BaseURL: srv.URL}, nil
		}, HTTPClient: srv.Client()})
	}
	gw := client(pacingToken)
	send := func() (string, error) {
		return gw.Send(context.Background(), queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "hi"})
	}
	for i := range 3 {
		id, err := send()
		if err != nil || !strings.HasPrefix(id, "wamid.") {
			t.Fatalf("send %d: id %q, err %v", i, id, err)
		}
	}
	_, err := send()
	class, se := queue.ClassOf(err)
	if class != queue.RateLimited || se.Code != "130429" {
		t.Fatalf("send beyond the window: %v", err)
	}
	if pause, ok := queue.GatewayRateLimit(err); !ok || pause != 0 {
		t.Fatalf("GatewayRateLimit = %v, %v; want a gateway-scoped limit without a pause", pause, ok)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if _, err := send(); err != nil {
		t.Fatalf("a second later: %v", err)
	}
	if tr := fake.byPhone()["919876543210"]; tr.accepted != 4 || tr.limited != 1 || tr.other != 0 {
		t.Fatalf("tries = %+v", tr)
	}

	// A wrong token is refused as Meta does.
	_, err = client("wrong").Send(context.Background(), queue.Delivery{ItemID: 2, Phone: "+919876543211", Kind: queue.KindText, Text: "hi"})
	if class, se := queue.ClassOf(err); class != queue.SenderBlocked || se.Code != "190" {
		t.Fatalf("wrong token: %v", err)
	}
	resp, err := srv.Client().Get(srv.URL + "/v23.0/" + pacingPhoneID + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

// A short run end to end: every item is sent, the checks pass and the
// figures are printed.
func TestBenchPacingRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the delivery loop for a few seconds")
	}
	t.Parallel()
	var out, errOut bytes.Buffer
	err := benchPacing(context.Background(), []string{"-items", "40", "-accept", "20", "-workers", "4"},
		func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("bench: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"requests", "accepted", "rate-limit answers", "total:", "check:     40 sent, 0 failed"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "FAIL") {
		t.Fatalf("checks failed:\n%s", out.String())
	}
}

func TestBenchPacingRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-items", "0"}, {"-rate", "-1"}, {"extra"}, {"-nope"}} {
		var out, errOut bytes.Buffer
		if err := benchPacing(context.Background(), args, nil, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}
