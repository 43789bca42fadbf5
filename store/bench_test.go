package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// BenchmarkClaimComplete claims batches of 32 and marks them sent, the
// store's share of the delivery loop, on each dialect.
func BenchmarkClaimComplete(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.MySQL} {
		b.Run(string(d), func(b *testing.B) {
			var db *store.DB
			if d == store.SQLite {
				db = storetest.OpenSQLite(b, storetest.Options{})
			} else {
				db = storetest.OpenMySQL(b, storetest.Options{})
			}
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
