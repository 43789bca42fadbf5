package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

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
	floorDir := fs.String("queuefloor", defaultQueuefloorDir(), "folder of the queuefloor tool, run in the same run on MySQL to report drain as a ratio of the database's own limit (empty: off)")
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
	stopped := false
	stopLoops := func() {
		if !stopped {
			stopped = true
			stop()
			for range *procs {
				<-done
			}
		}
	}
	defer stopLoops()
	if err := benchWait(ctx, db, gw, int64(*items)); err != nil {
		return err
	}
	drained := time.Since(start)
	drainRate := float64(*items) / drained.Seconds()
	fmt.Fprintf(out, "drain:   %8.0f items/s end to end (claim, send, mark sent: %s for the backlog)\n", drainRate, drained.Round(time.Millisecond))

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

	// Phase 4: the database's own limit, measured now on the same server,
	// with the loops stopped so they do not load it.
	stopLoops()
	if db.Dialect() != store.MySQL {
		fmt.Fprintf(out, "ratio:   none: queuefloor measures MySQL/MariaDB only, this run used %s\n", db.Dialect())
		return nil
	}
	if *floorDir == "" {
		fmt.Fprintf(out, "ratio:   none: no queuefloor folder (%s not found; pass -queuefloor DIR)\n", queuefloorRel)
		return nil
	}
	floorItems := max(*items, queuefloorMinItems)
	rate, err := runQueuefloor(ctx, *floorDir, cfg.DatabaseURL, floorItems, logw)
	if err != nil {
		fmt.Fprintf(out, "ratio:   none: queuefloor failed: %s\n", oneLine(err))
		return nil
	}
	fmt.Fprintf(out, "ratio:   drain %s items/s = %.2f × queuefloor %s items/s (floor: %d items, 1 worker, batch 50)\n",
		thousands(drainRate), drainRate/rate, thousands(rate), floorItems)
	return nil
}

// queuefloorRel is where the queuefloor tool sits relative to a checkout
// run from its root; queuefloorMinItems is the least it drains, so that its
// rate is steady even when the bench itself is small.
const (
	queuefloorRel      = "../shared/tools/queuefloor"
	queuefloorMinItems = 30_000
)

// defaultQueuefloorDir is queuefloorRel when it holds the tool, else "".
func defaultQueuefloorDir() string {
	if st, err := os.Stat(filepath.Join(queuefloorRel, "main.go")); err == nil && !st.IsDir() {
		return queuefloorRel
	}
	return ""
}

// runQueuefloor runs the queuefloor tool (go run in dir) in drain mode, one
// fetcher claiming 50 at a time, against a scratch database beside the
// bench's, which it creates and drops, and returns its drain rate.
func runQueuefloor(ctx context.Context, dir, dbURL string, items int, logw io.Writer) (float64, error) {
	if st, err := os.Stat(filepath.Join(dir, "main.go")); err != nil || st.IsDir() {
		return 0, fmt.Errorf("%s holds no queuefloor (main.go)", dir)
	}
	t, err := store.ParseURL(dbURL, "")
	if err != nil {
		return 0, err
	}
	mcfg, err := mysql.ParseDSN(t.DSN)
	if err != nil {
		return 0, fmt.Errorf("database URL: %w", err)
	}
	scratch := mcfg.DBName + "_queuefloor"
	if len(scratch) > 64 {
		scratch = "mb_queuefloor"
	}
	// Only what queuefloor needs: where, who, and client-side arguments
	// as in its README. (The password is on its command line.)
	fcfg := mysql.NewConfig()
	fcfg.User, fcfg.Passwd, fcfg.Net, fcfg.Addr = mcfg.User, mcfg.Passwd, mcfg.Net, mcfg.Addr
	fcfg.InterpolateParams = true
	switch mcfg.TLSConfig {
	case "true", "skip-verify", "preferred":
		fcfg.TLSConfig = mcfg.TLSConfig
	}
	admin, err := sql.Open("mysql", fcfg.FormatDSN())
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	quoted := "`" + strings.ReplaceAll(scratch, "`", "``") + "`"
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoted); err != nil {
		return 0, fmt.Errorf("create scratch database %s: %w", scratch, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+quoted); err != nil {
			fmt.Fprintf(logw, "bench: drop scratch database %s: %v\n", scratch, err)
		}
	}()

	fcfg.DBName = scratch
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, "go", "run", ".", "-dsn", fcfg.FormatDSN(), "-mode", "drain",
		"-items", strconv.Itoa(items), "-workers", "1", "-batch", "50", "-json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		logw.Write(stdout.Bytes())
		logw.Write(stderr.Bytes())
		return 0, fmt.Errorf("go run in %s: %w: %s", dir, err, lastLine(stderr.String()))
	}
	rate, err := queuefloorRate(stdout.String())
	if err != nil {
		logw.Write(stdout.Bytes())
		return 0, err
	}
	return rate, nil
}

// queuefloorRate reads "rate" from the last "JSON {...}" line of
// queuefloor's output.
func queuefloorRate(output string) (float64, error) {
	lines := strings.Split(strings.TrimSpace(output), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		js, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "JSON ")
		if !ok {
			continue
		}
		var r struct {
			Rate *float64 `json:"rate"`
		}
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			return 0, fmt.Errorf("queuefloor summary: %w", err)
		}
		if r.Rate == nil || *r.Rate <= 0 {
			return 0, errors.New("queuefloor summary has no positive rate")
		}
		return *r.Rate, nil
	}
	return 0, errors.New("queuefloor printed no JSON summary line")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// thousands formats a rate as a whole number with comma separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
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
	return waitRecorded(ctx, db, total, 5*time.Millisecond)
}

// waitRecorded waits until the database has total items sent or failed,
// looking every interval.
func waitRecorded(ctx context.Context, db *store.DB, total int64, every time.Duration) error {
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
		case <-time.After(every):
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
