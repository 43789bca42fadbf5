package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// BenchmarkClaimComplete claims batches of 32 and marks them sent, the
// store's share of the delivery loop, on each dialect.
func BenchmarkClaimComplete(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.OpenDialect(b, d, storetest.Options{})
			ctx := context.Background()
			items := make([]store.NewQueueItem, 500)
			for i := range items {
				items[i] = store.NewQueueItem{Phone: fmt.Sprintf("+9198%08d", i), MaxAttempts: 3,
					Content: store.QueueContent{Kind: store.ContentText, Body: "x"}}
			}
			for n := 0; n < b.N*32; n += len(items) {
				if _, err := db.EnqueueQueueItems(ctx, items); err != nil {
					b.Fatal(err)
				}
			}
			var claimT, completeT time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				got, err := db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 32, Owner: "bench", Token: fmt.Sprintf("t%d", i)})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				outs := make([]store.Outcome, len(got))
				for j, it := range got {
					outs[j] = store.Outcome{ID: it.ID, Token: it.LockToken, Status: store.StatusSent, ProviderMessageID: "p", Gateway: "g"}
				}
				if _, err := db.CompleteQueueItems(ctx, outs); err != nil {
					b.Fatal(err)
				}
				claimT += t1.Sub(t0)
				completeT += time.Since(t1)
			}
			b.ReportMetric(float64(b.N*32)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(claimT.Microseconds())/float64(b.N), "claim-µs/op")
			b.ReportMetric(float64(completeT.Microseconds())/float64(b.N), "complete-µs/op")
		})
	}
}

// BenchmarkQueueReports times the queries behind /status and /queue on a
// table of MB_BENCH_ROWS items (default 1,000,000) spread over 40 days.
func BenchmarkQueueReports(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("MB_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("MB_BENCH_ROWS: %v", err)
		}
		rows = n
	}
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			clock := storetest.NewClock(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
			opts := storetest.Options{Now: clock.Now}
			db := storetest.OpenDialect(b, d, opts)
			ctx := context.Background()
			batch := make([]store.NewQueueItem, 1000)
			for i := range batch {
				batch[i] = store.NewQueueItem{Phone: fmt.Sprintf("+9198%08d", i), MaxAttempts: 3,
					Content: store.QueueContent{Kind: store.ContentText, Body: "report bench"}}
			}
			step := 40 * 24 * time.Hour / time.Duration(rows/len(batch))
			for n := 0; n < rows; n += len(batch) {
				if _, err := db.EnqueueQueueItems(ctx, batch); err != nil {
					b.Fatal(err)
				}
				clock.Advance(step)
			}
			if err := store.MixStatuses(ctx, db); err != nil {
				b.Fatal(err)
			}
			now := clock.Now()
			queries := []struct {
				name string
				run  func() error
			}{
				{"counts-1h", func() error { _, err := db.QueueStatusCounts(ctx, now.Add(-time.Hour)); return err }},
				{"counts-24h", func() error { _, err := db.QueueStatusCounts(ctx, now.Add(-24*time.Hour)); return err }},
				{"counts-7d", func() error { _, err := db.QueueStatusCounts(ctx, now.Add(-7*24*time.Hour)); return err }},
				{"counts-30d", func() error { _, err := db.QueueStatusCounts(ctx, now.Add(-30*24*time.Hour)); return err }},
				{"counts-all", func() error { _, err := db.QueueStatusCounts(ctx, time.Time{}); return err }},
				{"oldest-due", func() error { _, _, err := db.OldestDueQueued(ctx); return err }},
				{"failed-1h", func() error { _, err := db.CountFailedSince(ctx, now.Add(-time.Hour)); return err }},
				{"sends-by-gateway-24h", func() error { _, err := db.QueueSendsByGateway(ctx, now.Add(-24*time.Hour)); return err }},
				{"recent-failed-20", func() error {
					_, err := db.RecentQueueItems(ctx, store.RecentFilter{Status: store.StatusFailed, Limit: 20})
					return err
				}},
			}
			for _, q := range queries {
				b.Run(q.name, func(b *testing.B) {
					for range b.N {
						if err := q.run(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
				})
			}
		})
	}
}
