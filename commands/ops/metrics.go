package ops

import (
	"context"
	"fmt"
	"time"
)

// QueueDepth counts every queue item by status, every status present (0
// when none), for the metrics scrape. It is one grouped count over the
// queue's status index, the same read as Health's counts.
func (s *Service) QueueDepth(ctx context.Context) (map[string]int, error) {
	counts, err := s.st.QueueStatusCounts(ctx, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("queue depth: %w", err)
	}
	out := make(map[string]int, len(counts))
	for status, n := range counts {
		out[string(status)] = int(n)
	}
	return out, nil
}
