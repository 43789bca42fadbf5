package importer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// Benchmarks print figures; they assert nothing beyond a correct count.
// Reference targets: 100k-row .xlsx < 5 s and < 200 MB peak RSS; 1M-row .csv
// < 20 s. Run: go test -run '^$' -bench . -benchtime 1x ./commands/importer/

// peakSampler records the peak HeapAlloc while running, and resets / reads
// the kernel's peak-RSS mark (VmHWM) where /proc allows it.
type peakSampler struct {
	stop     chan struct{}
	done     sync.WaitGroup
	peakHeap uint64
	rssReset bool
}

func startPeak() *peakSampler {
	runtime.GC()
	p := &peakSampler{stop: make(chan struct{})}
	// "5" resets the peak resident set size of the process (Linux ≥ 4.0).
	p.rssReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			p.peakHeap = max(p.peakHeap, ms.HeapAlloc)
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) report(b *testing.B) {
	close(p.stop)
	p.done.Wait()
	b.ReportMetric(float64(p.peakHeap)/(1<<20), "peak-heap-MB")
	if !p.rssReset {
		return
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			if kb, err := strconv.Atoi(f[1]); err == nil {
				b.ReportMetric(float64(kb)/1024, "peak-RSS-MB")
			}
		}
	}
}

func BenchmarkImportXLSX100k(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "contacts.xlsx")
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	if err := sw.SetRow("A1", []any{"Customer Name", "Mobile No", "City", "Last Purchase"}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		var phone any = 9_000_000_000 + i // numeric cell
		if i%2 == 1 {
			phone = "+91 " + strconv.Itoa(9_000_000_000+i) // text cell
		}
		row := []any{fmt.Sprintf("Customer %d", i), phone, fmt.Sprintf("City %d", i%500), 1000 + i%9000}
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		b.Fatal(err)
	}
	_ = f.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("xlsx: %d rows, %.1f MB", n, float64(len(data))/(1<<20))

	b.ResetTimer()
	peak := startPeak()
	for range b.N {
		r, err := Import(context.Background(), "contacts.xlsx", bytes.NewReader(data), opts())
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Contacts) != n {
			b.Fatalf("%d contacts, %d rejects %v", len(r.Contacts), len(r.Rejects), r.Rejects[:min(3, len(r.Rejects))])
		}
	}
	b.StopTimer()
	peak.report(b)
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkImportCSV1M(b *testing.B) {
	const n = 1_000_000
	var buf bytes.Buffer
	buf.WriteString("Name,Phone,City\n")
	for i := range n {
		fmt.Fprintf(&buf, "\"Sharma, Customer %d\",%d,City %d\n", i, 9_000_000_000+i, i%500)
	}
	data := buf.Bytes()
	b.Logf("csv: %d rows, %.1f MB", n, float64(len(data))/(1<<20))
	o := opts()
	o.Limits = Limits{MaxBytes: 200 << 20, MaxRows: 2 * n}

	b.ResetTimer()
	peak := startPeak()
	for range b.N {
		r, err := Import(context.Background(), "contacts.csv", bytes.NewReader(data), o)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Contacts) != n {
			b.Fatalf("%d contacts", len(r.Contacts))
		}
	}
	b.StopTimer()
	peak.report(b)
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
