package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// benchQueue measures the queue end to end on the configured database:
// enqueue rate, drain rate and enqueue-to-sent latency, with an in-process
// fake gateway. It needs an empty database; with no MB_DATABASE_URL it uses
// a throwaway SQLite file.
func benchQueue(ctx context.Context, args []string, getenv func(string) string, out, logw io.Writer) error {
	fs := flag.NewFlagSet("messagebridge bench queue", flag.ContinueOnError)
	fs.SetOutput(logw)
	items := fs.Int("items", 100_000, "items to enqueue and drain")
	workers := fs.Int("workers", 32, "send workers in all")
	procs := fs.Int("processes", 1, "delivery loops, each with its own connection pool, sharing the workers")
	latency := fs.Duration("latency", 0, "fake gateway latency per send")
	batch := fs.Int("batch", 500, "items per enqueue transaction")
	latItems := fs.Int("latency-items", 5000, "items enqueued at a steady rate after the drain to measure latency (0: skip)")
	latRate := fs.Int("latency-rate", 1000, "items per second offered while measuring latency")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if *items < 1 || *workers < 1 || *procs < 1 || *procs > *workers || *batch < 1 {
		return fmt.Errorf("%w: items, workers, processes and batch must be positive, processes at most workers", errUsage)
	}
	cfg, err := parseConfig("messagebridge bench", nil, getenv, logw)
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		dir, err := os.MkdirTemp("", "messagebridge-bench-")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	errs := &countingHandler{Handler: slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}), n: &atomic.Int64{}}
	log := slog.New(errs)
	open := func() (*store.DB, error) {
		return store.Open(ctx, store.Config{URL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxOpenConns: cfg.DBMaxConns}, store.Options{Logger: log})
	}
	db, err := open()
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	counts, err := db.QueueStatusCounts(ctx, time.Time{})
	if err != nil {
		return err
	}
	for _, n := range counts {
		if n > 0 {
			return fmt.Errorf("bench needs an empty queue; %s already holds items (point MB_DATABASE_URL at a scratch database)", db.Where())
		}
	}

	// Phase 1: enqueue everything with no loop running.
	fmt.Fprintf(out, "bench queue: %d items, %d workers in %d loop(s), gateway latency %s, on %s\n", *items, *workers, *procs, *latency, db.Where())
	start := time.Now()
	if _, _, err := benchEnqueue(ctx, db, *items, *batch, "bench"); err != nil {
		return err
	}
	enqueued := time.Since(start)
	fmt.Fprintf(out, "enqueue: %8.0f items/s (%d items in %s, %d per transaction)\n", float64(*items)/enqueued.Seconds(), *items, enqueued.Round(time.Millisecond), *batch)

	// Phase 2: start the loops and drain the backlog.
	gw := &fake.Sender{Latency: *latency}
	gws := queue.StaticGateways{Active: "bench", Senders: map[string]queue.Sender{"bench": gw}}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, *procs)
	loops := make([]*queue.Loop, *procs)
	start = time.Now()
	for p := range *procs {
		h := db
		if p > 0 {
			if h, err = open(); err != nil {
				stop()
				return err
			}
			defer h.Close()
		}
		n := *workers / *procs
		if p < *workers%*procs {
			n++
		}
		loops[p] = queue.New(queue.Config{Workers: n, PollInterval: 50 * time.Millisecond}, h, gws, log)
		go func(l *queue.Loop) { done <- l.Run(runCtx) }(loops[p])
	}
	defer func() {
		stop()
		for range *procs {
			<-done
		}
	}()
	if err := benchWait(ctx, db, gw, int64(*items)); err != nil {
		return err
	}
	drained := time.Since(start)
	fmt.Fprintf(out, "drain:   %8.0f items/s end to end (claim, send, mark sent: %s for the backlog)\n", float64(*items)/drained.Seconds(), drained.Round(time.Millisecond))

	// Phase 3: latency at a steady load the loops can carry.
	if *latItems > 0 {
		var firstID, lastID int64
		tick := time.NewTicker(10 * time.Millisecond)
		per := max(1, *latRate/100)
		for n := 0; n < *latItems; n += per {
			<-tick.C
			f, l, err := benchEnqueue(ctx, db, min(per, *latItems-n), per, "bench-latency")
			if err != nil {
				tick.Stop()
				return err
			}
			if firstID == 0 {
				firstID = f
			}
			lastID = l
			for _, lp := range loops {
				lp.Notify()
			}
		}
		tick.Stop()
		if err := benchWait(ctx, db, gw, int64(*items+*latItems)); err != nil {
			return err
		}
		lat, err := db.QueueLatencies(ctx, firstID, lastID)
		if err != nil {
			return err
		}
		slices.Sort(lat)
		fmt.Fprintf(out, "latency: p50 %s, p99 %s enqueue-to-sent at %d items/s offered (%d items)\n", percentile(lat, 0.50), percentile(lat, 0.99), *latRate, *latItems)
	}

	byItem := gw.CountByItem()
	dups := 0
	for _, c := range byItem {
		dups += c - 1
	}
	fmt.Fprintf(out, "sends:   %d distinct items, %d duplicates; errors surfaced: %d\n", len(byItem), dups, errs.n.Load())
	return nil
}

// benchEnqueue enqueues n text items in transactions of batch and returns
// the first and last ids.
func benchEnqueue(ctx context.Context, db *store.DB, n, batch int, by string) (first, last int64, err error) {
	for done := 0; done < n; {
		b := make([]store.NewQueueItem, min(batch, n-done))
		for i := range b {
			b[i] = store.NewQueueItem{Phone: fmt.Sprintf("+91%010d", 9000000000+done+i),
				Content:     store.QueueContent{Kind: store.ContentText, Body: "bench"},
				MaxAttempts: 5, CreatedBy: by}
		}
		ids, err := db.EnqueueQueueItems(ctx, b)
		if err != nil {
			return 0, 0, err
		}
		if first == 0 {
			first = ids[0]
		}
		last = ids[len(ids)-1]
		done += len(b)
	}
	return first, last, nil
}

// benchWait waits until the gateway has accepted total sends and the
// database has recorded them. It watches the in-process gateway, so the
// waiting does not load the database it measures.
func benchWait(ctx context.Context, db *store.DB, gw *fake.Sender, total int64) error {
	for int64(gw.Distinct()) < total {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	for {
		c, err := db.QueueStatusCounts(ctx, time.Time{})
		if err != nil {
			return err
		}
		if c[store.StatusSent]+c[store.StatusFailed] >= total {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Round(time.Millisecond)
}

// countingHandler counts error records (a deadlock that surfaced would be
// one) while passing everything on.
type countingHandler struct {
	slog.Handler
	n *atomic.Int64
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.n.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithAttrs(as), n: h.n}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{Handler: h.Handler.WithGroup(name), n: h.n}
}
