package commands_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// BenchmarkImportIntoDatabase imports a 100,000-row xlsx and a
// 1,000,000-row csv through /import into each dialect's database (MariaDB
// when MB_TEST_MYSQL_DSN is set) and reports rows/s and the peak heap.
// Figures are printed, not asserted.
func BenchmarkImportIntoDatabase(b *testing.B) {
	for _, d := range storetest.Dialects() {
		for _, f := range []struct {
			name string
			rows int
			make func() []byte
		}{{"xlsx-100k", 100_000, func() []byte { return benchXLSX(b, 100_000) }}, {"csv-1M", 1_000_000, func() []byte { return benchCSV(1_000_000) }}} {
			b.Run(string(d)+"/"+f.name, func(b *testing.B) {
				data := f.make()
				for range b.N {
					b.StopTimer()
					db := storetest.OpenDialect(b, d, storetest.Options{})
					r := commands.New(newOps(b, db, nil, nil, nil), commands.Config{}, nil)
					ctx := context.Background()
					for k, v := range map[string]string{"import.max_rows": "2000000", "import.max_mb": "200"} {
						if err := db.PutSetting(ctx, k, v, false, "bench"); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := db.PutOperator(ctx, "console:bench", store.RoleOperator, "", "bench"); err != nil {
						b.Fatal(err)
					}
					c, err := db.CreateCampaign(ctx, "bench", "bench")
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					peak := watchHeap()
					start := time.Now()
					replies := r.Handle(ctx, bot.Message{Transport: "console", From: bot.Identity{Transport: "console", ID: "bench"},
						Text: fmt.Sprintf("/import %d", c.ID), Attachment: &bot.Attachment{Name: "contacts." + strings.Split(f.name, "-")[0], Size: int64(len(data)),
							Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}})
					took := time.Since(start)
					heap := peak()
					if len(replies) == 0 || !strings.Contains(replies[0].Text, fmt.Sprintf("%d accepted", f.rows)) {
						b.Fatalf("import: %+v", replies)
					}
					b.ReportMetric(float64(f.rows)/took.Seconds(), "rows/s")
					b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
				}
			})
		}
	}
}

// watchHeap samples the heap until the returned function is called, which
// returns the peak in bytes.
func watchHeap() func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); <-done; return peak.Load() }
}

func benchXLSX(b *testing.B, rows int) []byte {
	b.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	_ = sw.SetRow("A1", []any{"Name", "Mobile", "City"})
	for i := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{fmt.Sprintf("Customer %d", i), 9000000000 + i, "Pune"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchCSV(rows int) []byte {
	var buf bytes.Buffer
	buf.WriteString("name,phone,city\n")
	for i := range rows {
		fmt.Fprintf(&buf, "Customer %d,+91 %d,Pune\n", i, 9000000000+i)
	}
	return buf.Bytes()
}
