package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// The fake Cloud API's fixed credentials.
const (
	pacingToken   = "bench-pacing-token"
	pacingPhoneID = "106540352242922"
	pacingVersion = meta.DefaultGraphVersion
	// pacingSkip is the start-up time left out of the steady figures.
	pacingSkip = 5 * time.Second
)

// benchPacing measures the delivery loop against a provider that accepts a
// fixed number of sends per second: an in-process fake of Meta's Cloud API
// answers beyond -accept sends in any one second with error 130429, as
// Meta does. The real meta gateway sends -items text messages through a
// queue.Loop on a throwaway SQLite store, with the gateway's configured
// rate at -rate. It prints the request and accepted rates after the first
// 5 s, the share of rate-limit answers, and checks that no item failed and
// that rate-limited tries spent no attempt.
func benchPacing(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("messagebridge bench pacing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	accept := fs.Int("accept", 20, "sends per second the fake Cloud API accepts (sliding one-second window)")
	items := fs.Int("items", 1000, "items to send")
	deadline := fs.Duration("duration", 5*time.Minute, "give up when the items are not all sent by then")
	workers := fs.Int("workers", 8, "send workers")
	perSec := fs.Float64("rate", 80, "the meta gateway's configured send rate, per second")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: bench pacing takes no arguments, only flags", errUsage)
	}
	if *accept < 1 || *items < 1 || *workers < 1 || *deadline <= 0 || !(*perSec > 0) {
		return fmt.Errorf("%w: accept, items, workers, duration and rate must be positive", errUsage)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	dir, err := os.MkdirTemp("", "messagebridge-bench-pacing-")
	if err != nil {
		return fmt.Errorf("bench pacing: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, store.Config{DataDir: dir}, store.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("bench pacing: %w", err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("bench pacing: %w", err)
	}

	fake := newPacingFake(*accept)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *workers
	gw := meta.New(meta.Options{
		Credentials: func(context.Context) (meta.Credentials, error) {
			return meta.Credentials{AccessToken: pacingToken, PhoneNumberID: pacingPhoneID,
				GraphVersion: pacingVersion, BaseURL: srv.URL}, nil
		},
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		Logger:     log,
	})

	ids, err := pacingEnqueue(ctx, db, *items)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench pacing: %d items, %d workers, meta rate %g/s, the fake Cloud API accepts %d/s (sliding 1 s window)\n",
		*items, *workers, *perSec, *accept)

	tuning := queue.Tuning{Workers: *workers, GatewayRates: map[string]float64{meta.Name: *perSec}}
	loop := queue.New(queue.Config{
		Workers:      *workers,
		PollInterval: 50 * time.Millisecond,
		Tuning:       func(context.Context) queue.Tuning { return tuning },
	}, db, queue.StaticGateways{Active: meta.Name, Senders: map[string]queue.Sender{meta.Name: gw}}, log)

	runCtx, stop := context.WithTimeout(ctx, *deadline)
	defer stop()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- loop.Run(runCtx) }()
	waitErr := waitRecorded(runCtx, db, int64(*items), 50*time.Millisecond)
	end := time.Now()
	stop()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("bench pacing: delivery loop: %w", err)
	}
	if waitErr != nil && ctx.Err() != nil {
		return ctx.Err()
	}

	fake.report(stdout, start, end)
	// The loop has stopped: every outcome is written.
	failures, err := pacingCheck(ctx, stdout, db, fake, ids)
	if err != nil {
		return err
	}
	if waitErr != nil {
		failures = append([]string{fmt.Sprintf("the items were not all sent or failed within %s", *deadline)}, failures...)
	}
	if len(failures) > 0 {
		for _, f := range failures {
			fmt.Fprintf(stdout, "FAIL:      %s\n", f)
		}
		return fmt.Errorf("bench pacing: %d check(s) failed: %s", len(failures), failures[0])
	}
	return nil
}

// pacingEnqueue enqueues n text items for the meta gateway, one phone each,
// and returns their ids.
func pacingEnqueue(ctx context.Context, db *store.DB, n int) ([]int64, error) {
	const batch = 500
	ids := make([]int64, 0, n)
	for len(ids) < n {
		b := make([]store.NewQueueItem, min(batch, n-len(ids)))
		for i := range b {
			b[i] = store.NewQueueItem{Phone: fmt.Sprintf("+91%010d", 9000000000+len(ids)+i),
				Content: store.QueueContent{Kind: store.ContentText, Body: "bench pacing"},
				Gateway: meta.Name, MaxAttempts: 5, CreatedBy: "bench-pacing"}
		}
		got, err := db.EnqueueQueueItems(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("bench pacing: enqueue: %w", err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// pacingCheck checks every item: sent, not failed, with as many attempts
// as tries the fake did not answer with a rate limit, and with one
// rate_limited event per rate-limit answer. It returns what failed.
func pacingCheck(ctx context.Context, out io.Writer, db *store.DB, fake *pacingFake, ids []int64) ([]string, error) {
	tries := fake.byPhone()
	var sent, failed, badAttempts, badEvents, dups int
	var failures []string
	for _, id := range ids {
		it, err := db.QueueItem(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("bench pacing: read item %d: %w", id, err)
		}
		switch it.Status {
		case store.StatusSent:
			sent++
		case store.StatusFailed:
			failed++
		}
		t := tries[strings.TrimPrefix(it.Phone, "+")]
		if t.accepted > 1 {
			dups++
		}
		if it.Attempts != t.accepted+t.other {
			if badAttempts == 0 {
				failures = append(failures, fmt.Sprintf("item %d: %d attempts after %d accepted, %d rate-limited and %d other tries",
					id, it.Attempts, t.accepted, t.limited, t.other))
			}
			badAttempts++
		}
		evs, err := db.QueueItemEvents(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("bench pacing: read events of item %d: %w", id, err)
		}
		limited := 0
		for _, e := range evs {
			if e.Event == queue.OutcomeRateLimited.String() {
				limited++
			}
		}
		if limited != t.limited {
			badEvents++
		}
	}
	if failed > 0 {
		failures = append(failures, fmt.Sprintf("%d item(s) failed", failed))
	}
	if badAttempts > 0 {
		failures = append(failures, fmt.Sprintf("%d item(s) spent attempts on rate-limited tries (attempts ≠ non-rate-limited tries)", badAttempts))
	}
	if dups > 0 {
		failures = append(failures, fmt.Sprintf("%d item(s) were accepted more than once", dups))
	}
	fmt.Fprintf(out, "check:     %d sent, %d failed, %d unfinished; attempts = non-rate-limited tries for %d of %d items; rate_limited events = 130429 answers for %d of %d\n",
		sent, failed, len(ids)-sent-failed, len(ids)-badAttempts, len(ids), len(ids)-badEvents, len(ids))
	return failures, nil
}

// pacingFake is an in-process Cloud API: POST /{version}/{phone-number-id}/messages
// with the bearer token answers as Meta does, accepting at most accept
// sends in any one second (accepted sends only count) and answering the
// rest with HTTP 429 and error 130429.
type pacingFake struct {
	accept int
	now    func() time.Time

	mu     sync.Mutex
	window []time.Time // accepted sends in the last second, oldest first
	hits   []pacingHit
	tries  map[string]pacingTries // by the digits of "to"
	seq    int
}

type pacingHit struct {
	at      time.Time
	limited bool
}

type pacingTries struct{ accepted, limited, other int }

func newPacingFake(accept int) *pacingFake {
	return &pacingFake{accept: accept, now: time.Now, tries: map[string]pacingTries{}}
}

func (f *pacingFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.URL.Path != "/"+pacingVersion+"/"+pacingPhoneID+"/messages" {
		pacingGraphError(w, http.StatusNotFound, 100, 0, "Unsupported post request", "")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+pacingToken {
		pacingGraphError(w, http.StatusUnauthorized, 190, 463, "Invalid OAuth access token", "")
		return
	}
	var msg struct {
		MessagingProduct string `json:"messaging_product"`
		To               string `json:"to"`
		Type             string `json:"type"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &msg) != nil || msg.MessagingProduct != "whatsapp" || msg.To == "" || msg.Type == "" {
		f.count(msg.To, func(t *pacingTries) { t.other++ }, false)
		pacingGraphError(w, http.StatusBadRequest, 100, 0, "(#100) Invalid parameter", "")
		return
	}
	to := strings.TrimPrefix(msg.To, "+")

	f.mu.Lock()
	now := f.now()
	cut := now.Add(-time.Second)
	i := 0
	for i < len(f.window) && !f.window[i].After(cut) {
		i++
	}
	f.window = f.window[i:]
	limited := len(f.window) >= f.accept
	t := f.tries[to]
	if limited {
		t.limited++
	} else {
		t.accepted++
		f.window = append(f.window, now)
		f.seq++
	}
	f.tries[to] = t
	f.hits = append(f.hits, pacingHit{at: now, limited: limited})
	seq := f.seq
	f.mu.Unlock()

	if limited {
		pacingGraphError(w, http.StatusTooManyRequests, 130429, 2494055, "(#130429) Rate limit hit",
			"Message failed to send because there were too many messages sent from this phone number in a short period of time")
		return
	}
	out, _ := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": msg.To, "wa_id": to}},
		"messages":          []map[string]string{{"id": fmt.Sprintf("wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgS%012d", seq)}},
	})
	_, _ = w.Write(out)
}

func (f *pacingFake) count(to string, add func(*pacingTries), limited bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	to = strings.TrimPrefix(to, "+")
	t := f.tries[to]
	add(&t)
	f.tries[to] = t
	f.hits = append(f.hits, pacingHit{at: f.now(), limited: limited})
}

// pacingGraphError writes a Graph API error as Meta sends it
// (providers.md §1.4).
func pacingGraphError(w http.ResponseWriter, status, code, subcode int, message, details string) {
	e := map[string]any{"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	if details != "" {
		e["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	out, _ := json.Marshal(map[string]any{"error": e})
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (f *pacingFake) byPhone() map[string]pacingTries {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]pacingTries, len(f.tries))
	for k, v := range f.tries {
		out[k] = v
	}
	return out
}

// report prints the rates after the first pacingSkip of the run (the
// whole run when it was shorter) and the totals.
func (f *pacingFake) report(w io.Writer, start, end time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from, label := start.Add(pacingSkip), fmt.Sprintf("after %s:", pacingSkip)
	if end.Sub(from) < time.Second {
		from, label = start, "whole run:"
	}
	var reqs, limited, all, allLimited int
	for _, h := range f.hits {
		all++
		if h.limited {
			allLimited++
		}
		if h.at.Before(from) || h.at.After(end) {
			continue
		}
		reqs++
		if h.limited {
			limited++
		}
	}
	secs := end.Sub(from).Seconds()
	accepted := reqs - limited
	fmt.Fprintf(w, "%-10s requests %.1f/s, accepted %.1f/s (%.2f× the provider's %d/s in requests); rate-limit answers %.1f%% of requests, %.2f per message sent\n",
		label, float64(reqs)/secs, float64(accepted)/secs, float64(reqs)/secs/float64(f.accept), f.accept,
		pacingPct(limited, reqs), pacingRatio(limited, accepted))
	fmt.Fprintf(w, "total:     %d requests, %d accepted, %d rate-limited (130429) in %s\n",
		all, all-allLimited, allLimited, end.Sub(start).Round(time.Millisecond))
}

func pacingPct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func pacingRatio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}
