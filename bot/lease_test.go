package bot_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// Two instances compete for one lease: only one runs at a time, and when
// the holder stops the other takes over.
func TestRunWithLeaseHasOneHolder(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			db := storetest.OpenDialect(t, d, storetest.Options{})
			var running, maxRunning atomic.Int32
			var mu sync.Mutex
			ran := map[string]bool{}
			work := func(holder string) func(ctx context.Context) error {
				return func(ctx context.Context) error {
					n := running.Add(1)
					defer running.Add(-1)
					for {
						m := maxRunning.Load()
						if n <= m || maxRunning.CompareAndSwap(m, n) {
							break
						}
					}
					mu.Lock()
					ran[holder] = true
					mu.Unlock()
					<-ctx.Done()
					return nil
				}
			}
			ctxA, stopA := context.WithCancel(context.Background())
			ctxB, stopB := context.WithCancel(context.Background())
			defer stopB()
			var wg sync.WaitGroup
			ttl := 300 * time.Millisecond
			for _, h := range []struct {
				ctx  context.Context
				name string
			}{{ctxA, "a"}, {ctxB, "b"}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					bot.RunWithLease(h.ctx, db, "telegram.poll", h.name, ttl, nil, work(h.name))
				}()
			}
			deadline := time.Now().Add(5 * time.Second)
			first := ""
			for first == "" && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				for h := range ran {
					first = h
				}
				mu.Unlock()
			}
			if first == "" {
				t.Fatal("nobody took the lease")
			}
			if first == "a" {
				stopA()
			} else {
				stopB()
			}
			for time.Now().Before(deadline) {
				mu.Lock()
				both := len(ran) == 2
				mu.Unlock()
				if both {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			stopA()
			stopB()
			wg.Wait()
			if len(ran) != 2 {
				t.Fatalf("the second instance never took over: %v", ran)
			}
			if maxRunning.Load() != 1 {
				t.Fatalf("%d instances ran at once", maxRunning.Load())
			}
		})
	}
}
