package queue_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// sharedDB describes one database that several "processes" (store handles
// with their own pools) open.
type sharedDB struct {
	dialect store.Dialect
	cfg     store.Config
}

func (s sharedDB) open(t *testing.T) *store.DB {
	t.Helper()
	return storetest.Open(t, s.cfg, storetest.Options{})
}

// forEachSharedDB runs fn on a fresh SQLite file and, when configured, a
// fresh MySQL database, each of which fn may open several times.
func forEachSharedDB(t *testing.T, fn func(t *testing.T, s sharedDB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, sharedDB{store.SQLite, store.Config{DataDir: t.TempDir()}})
	})
	t.Run("mysql", func(t *testing.T) {
		fn(t, sharedDB{store.MySQL, store.Config{URL: storetest.FreshMySQLDatabase(t)}})
	})
}

func enqueueN(t *testing.T, db *store.DB, n int) []int64 {
	t.Helper()
	var ids []int64
	for len(ids) < n {
		batch := make([]store.NewQueueItem, min(1000, n-len(ids)))
		for i := range batch {
			batch[i] = store.NewQueueItem{
				Phone:       fmt.Sprintf("+91987%07d", len(ids)+i),
				Content:     store.QueueContent{Kind: store.ContentText, Body: "Your order has shipped"},
				MaxAttempts: 8,
				CreatedBy:   "test",
			}
		}
		got, err := db.EnqueueQueueItems(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	return ids
}

// waitTerminal waits until no item is queued or processing.
func waitTerminal(t *testing.T, db *store.DB, timeout time.Duration) map[store.QueueStatus]int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := db.QueueStatusCounts(context.Background(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if c[store.StatusQueued] == 0 && c[store.StatusProcessing] == 0 {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("items still pending after %v: %v", timeout, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fastConfig(workers int) queue.Config {
	return queue.Config{
		Workers:      workers,
		PollInterval: 20 * time.Millisecond,
		Retry:        queue.Backoff{Base: 20 * time.Millisecond, Cap: 200 * time.Millisecond, Jitter: 0.2},
		SendTimeout:  5 * time.Second,
	}
}

func runLoop(t *testing.T, l *queue.Loop) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("loop: %v", err)
		}
	}
}

func runRescuer(t *testing.T, r *queue.Rescuer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("rescuer: %v", err)
		}
	}
}

func gatewaysOf(s queue.Sender) queue.Gateways {
	return queue.StaticGateways{Active: "fake", Senders: map[string]queue.Sender{"fake": s}}
}

// Four processes' worth of fetchers, 32 workers in all, drain the queue with
// every item sent exactly once.
func TestManyProcessesSendEachItemOnce(t *testing.T) {
	t.Parallel()
	forEachSharedDB(t, func(t *testing.T, s sharedDB) {
		n, procs, workers := 20_000, 4, 8
		if s.dialect == store.SQLite {
			n, procs = 3_000, 2 // one file, one writer: a smaller check of the same property
		}
		seed := s.open(t)
		ids := enqueueN(t, seed, n)
		gw := &fake.Sender{}
		for range procs {
			stop := runLoop(t, queue.New(fastConfig(workers), s.open(t), gatewaysOf(gw), nil))
			defer stop()
		}
		counts := waitTerminal(t, seed, 3*time.Minute)
		if counts[store.StatusSent] != int64(n) {
			t.Fatalf("statuses %v, want %d sent", counts, n)
		}
		byItem := gw.CountByItem()
		for _, id := range ids {
			if byItem[id] != 1 {
				t.Fatalf("item #%d sent %d times", id, byItem[id])
			}
		}
		if len(byItem) != n {
			t.Fatalf("gateway saw %d items, want %d", len(byItem), n)
		}
	})
}

// A gateway outage shorter than the retry budget fails nothing.
func TestOutageRecoversWithoutFailures(t *testing.T) {
	t.Parallel()
	forEachSharedDB(t, func(t *testing.T, s sharedDB) {
		db := s.open(t)
		ids := enqueueN(t, db, 300)
		var failing atomic.Bool
		failing.Store(true)
		gw := &fake.Sender{Fail: func(queue.Delivery) error {
			if failing.Load() {
				return queue.Classify(queue.Retry, "131000", errors.New("service unavailable"))
			}
			return nil
		}}
		stop := runLoop(t, queue.New(fastConfig(8), db, gatewaysOf(gw), nil))
		defer stop()
		time.Sleep(400 * time.Millisecond) // the outage
		failing.Store(false)
		counts := waitTerminal(t, db, time.Minute)
		if counts[store.StatusFailed] != 0 || counts[store.StatusSent] != int64(len(ids)) {
			t.Fatalf("after the outage: %v, want all %d sent and none failed", counts, len(ids))
		}
		if gw.Calls() <= len(ids) {
			t.Fatalf("gateway called %d times for %d items: the outage never hit", gw.Calls(), len(ids))
		}
		retried := 0
		for _, id := range ids {
			it, err := db.QueueItem(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if it.Attempts > 1 {
				retried++
			}
		}
		if retried == 0 {
			t.Fatal("no item was retried")
		}
	})
}

// Stopping the loop finishes the sends in flight, records them, and leaves
// nothing locked.
func TestShutdownLeavesNothingLocked(t *testing.T) {
	t.Parallel()
	forEachSharedDB(t, func(t *testing.T, s sharedDB) {
		db := s.open(t)
		enqueueN(t, db, 500)
		gw := &fake.Sender{Latency: 20 * time.Millisecond}
		stop := runLoop(t, queue.New(fastConfig(8), db, gatewaysOf(gw), nil))
		for len(gw.Sends()) < 50 {
			time.Sleep(5 * time.Millisecond)
		}
		stop()
		counts, err := db.QueueStatusCounts(context.Background(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if counts[store.StatusProcessing] != 0 {
			t.Fatalf("%d items left locked after shutdown", counts[store.StatusProcessing])
		}
		if got := int64(len(gw.Sends())); got != counts[store.StatusSent] {
			t.Fatalf("gateway sent %d, database says %d sent: an in-flight send was lost", got, counts[store.StatusSent])
		}
		if counts[store.StatusQueued] == 0 {
			t.Fatal("everything was sent before the stop; the test proved nothing")
		}
	})
}

const crashChildEnv = "MB_QUEUE_CRASH_CHILD"

// TestCrashChild is the child process of TestCrashRecovery; it does nothing
// when run on its own.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("child process of TestCrashRecovery")
	}
	journal, err := os.OpenFile(os.Getenv("MB_CRASH_JOURNAL"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cfg := store.Config{URL: os.Getenv("MB_CRASH_DB_URL"), DataDir: os.Getenv("MB_CRASH_DATA_DIR")}
	db := storetest.Open(t, cfg, storetest.Options{NoMigrate: true})
	gw := &fake.Sender{Latency: 2 * time.Millisecond, Journal: journal}
	l := queue.New(fastConfig(8), db, gatewaysOf(gw), nil)
	_ = l.Run(context.Background()) // until SIGKILL
}

// A process running the loop is killed mid-drain; after a restart every item
// ends, none is lost, and resends are no more than the items in flight at
// the kill.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	t.Parallel()
	forEachSharedDB(t, func(t *testing.T, s sharedDB) {
		const n = 3000
		db := s.open(t)
		ids := enqueueN(t, db, n)
		journal := filepath.Join(t.TempDir(), "journal")

		child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		child.Env = append(os.Environ(), crashChildEnv+"=1", "MB_CRASH_JOURNAL="+journal,
			"MB_CRASH_DB_URL="+s.cfg.URL, "MB_CRASH_DATA_DIR="+s.cfg.DataDir)
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for len(readJournal(t, journal)) < n/4 {
			if time.Now().After(deadline) {
				_ = child.Process.Kill()
				t.Fatal("child sent too little within a minute")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()

		before, err := db.QueueStatusCounts(context.Background(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		inFlight := before[store.StatusProcessing]
		childSent := readJournal(t, journal)
		if len(childSent) >= n {
			t.Fatal("the child finished before the kill; the test proved nothing")
		}

		gw := &fake.Sender{}
		stop := runLoop(t, queue.New(fastConfig(8), db, gatewaysOf(gw), nil))
		stopRescuer := runRescuer(t, queue.NewRescuer(db, queue.RescuerConfig{
			LockTimeout: 2 * time.Second, Interval: 100 * time.Millisecond}, nil))
		counts := waitTerminal(t, db, 2*time.Minute)
		stopRescuer()
		stop()
		if counts[store.StatusSent] != n {
			t.Fatalf("after restart: %v, want all %d sent", counts, n)
		}

		dups := 0
		restartSent := gw.CountByItem()
		for _, id := range ids {
			c := childSent[id] + restartSent[id]
			if c == 0 {
				t.Fatalf("item #%d was never sent", id)
			}
			dups += c - 1
		}
		t.Logf("%s: child sent %d before SIGKILL, %d in flight, %d sent twice", s.dialect, len(childSent), inFlight, dups)
		if int64(dups) > inFlight {
			t.Fatalf("%d duplicate sends, more than the %d items in flight at the kill", dups, inFlight)
		}
	})
}

// readJournal counts the sends a child recorded, ignoring a torn last line.
func readJournal(t *testing.T, path string) map[int64]int {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[int64]int{}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[int64]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id, err := strconv.ParseInt(sc.Text(), 10, 64); err == nil {
			m[id]++
		}
	}
	return m
}
