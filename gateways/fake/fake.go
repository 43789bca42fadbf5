// Package fake is an in-process gateway for tests and benchmarks: it records
// every send and can be told to be slow or to fail with a given error class.
package fake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/messagebridge/messagebridge/queue"
)

var _ queue.Sender = (*Sender)(nil)

// Record is one send the fake accepted.
type Record struct {
	ItemID     int64
	Phone      string
	At         time.Time
	ProviderID string
}

// Sender is a fake gateway. Its zero value accepts every send at once.
type Sender struct {
	// Latency is how long each send takes.
	Latency time.Duration
	// ErrorRate is the share of sends, 0..1, that fail with ErrorClass.
	ErrorRate  float64
	ErrorClass queue.Class
	// RetryAfter is the hint given with RateLimited errors.
	RetryAfter time.Duration
	// Fail, when set, decides each send's error instead of ErrorRate.
	Fail func(d queue.Delivery) error
	// Journal, when set, gets one line "itemID\n" per accepted send, written
	// before Send returns (the crash test reads it after a SIGKILL).
	Journal io.Writer

	mu      sync.Mutex
	records []Record
	byItem  map[int64]int
	calls   int
}

// ErrInjected is the cause of the failures the fake injects.
var ErrInjected = errors.New("fake gateway: injected failure")

// Send implements queue.Sender.
func (s *Sender) Send(ctx context.Context, d queue.Delivery) (string, error) {
	if s.Latency > 0 {
		t := time.NewTimer(s.Latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", queue.Classify(queue.Retry, "", ctx.Err())
		case <-t.C:
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.failure(d); err != nil {
		return "", err
	}
	id := fmt.Sprintf("fake-%d-%d", d.ItemID, s.calls)
	s.records = append(s.records, Record{ItemID: d.ItemID, Phone: d.Phone, At: time.Now(), ProviderID: id})
	if s.byItem == nil {
		s.byItem = map[int64]int{}
	}
	s.byItem[d.ItemID]++
	if s.Journal != nil {
		if _, err := fmt.Fprintf(s.Journal, "%d\n", d.ItemID); err != nil {
			return "", queue.Classify(queue.Retry, "", err)
		}
	}
	return id, nil
}

func (s *Sender) failure(d queue.Delivery) error {
	if s.Fail != nil {
		return s.Fail(d)
	}
	if s.ErrorRate > 0 && rand.Float64() < s.ErrorRate {
		if s.ErrorClass == queue.RateLimited {
			return queue.RateLimitedFor(s.RetryAfter, "429", ErrInjected)
		}
		return queue.Classify(s.ErrorClass, "", ErrInjected)
	}
	return nil
}

// Sends returns a copy of every accepted send, in order.
func (s *Sender) Sends() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

// Calls is how many times Send was called, failed sends included.
func (s *Sender) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Distinct is how many different items were sent.
func (s *Sender) Distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byItem)
}

// CountByItem returns how many accepted sends each item got.
func (s *Sender) CountByItem() map[int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[int64]int, len(s.records))
	for _, r := range s.records {
		m[r.ItemID]++
	}
	return m
}
