package bot

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

type job struct {
	chat, n int
}

// ChatQueues keeps each chat's order, runs at most limit chats at once,
// drops nothing, and leaves no worker or map entry behind.
func TestChatQueuesBoundAndOrder(t *testing.T) {
	t.Parallel()
	const limit, chats, perChat = 2, 5, 4
	gate := make(chan struct{})
	var mu sync.Mutex
	running, most := 0, 0
	ran := map[int][]int{}
	q := NewChatQueues[int](limit, 3, func(_ context.Context, j job) {
		mu.Lock()
		running++
		most = max(most, running)
		ran[j.chat] = append(ran[j.chat], j.n)
		mu.Unlock()
		<-gate
		mu.Lock()
		running--
		mu.Unlock()
	}, func(j job) { t.Errorf("job %+v skipped", j) })

	dispatched := make(chan error, 1)
	go func() {
		for n := range perChat {
			for c := range chats {
				if err := q.Dispatch(context.Background(), c, job{c, n}); err != nil {
					dispatched <- err
					return
				}
			}
		}
		dispatched <- nil
	}()
	close(gate)
	if err := recv(t, dispatched, "dispatching"); err != nil {
		t.Fatal(err)
	}
	if !q.Wait(5 * time.Second) {
		t.Fatal("workers still running")
	}
	if most > limit {
		t.Errorf("%d chats ran at once, limit %d", most, limit)
	}
	for c := range chats {
		if want := []int{0, 1, 2, 3}; !reflect.DeepEqual(ran[c], want) {
			t.Errorf("chat %d ran %v, want %v", c, ran[c], want)
		}
	}
	if n := q.Busy(); n != 0 || len(q.queues) != 0 {
		t.Errorf("%d chats still have workers after all were done", n)
	}
	if len(q.slots) != 0 || len(q.room) != 0 {
		t.Errorf("slots %d, room %d still taken", len(q.slots), len(q.room))
	}
}

// After the dispatch context is cancelled a worker finishes its running
// job, skips the waiting ones, and dispatch refuses new ones.
func TestChatQueuesCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	started, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var ran, skipped []job
	q := NewChatQueues[int](4, 16, func(_ context.Context, j job) {
		if j.n == 0 {
			close(started)
			<-release
		}
		mu.Lock()
		ran = append(ran, j)
		mu.Unlock()
	}, func(j job) {
		mu.Lock()
		skipped = append(skipped, j)
		mu.Unlock()
	})
	for n := range 3 {
		if err := q.Dispatch(ctx, 1, job{1, n}); err != nil {
			t.Fatal(err)
		}
	}
	recv(t, started, "the first job")
	cancel()
	if err := q.Dispatch(ctx, 2, job{2, 0}); !errors.Is(err, context.Canceled) {
		t.Errorf("dispatch after cancel = %v, want context.Canceled", err)
	}
	close(release)
	if !q.Wait(5 * time.Second) {
		t.Fatal("worker still running")
	}
	if want := []job{{1, 0}}; !reflect.DeepEqual(ran, want) {
		t.Errorf("ran %v, want %v", ran, want)
	}
	if want := []job{{1, 1}, {1, 2}}; !reflect.DeepEqual(skipped, want) {
		t.Errorf("skipped %v, want %v", skipped, want)
	}
	if q.Busy() != 0 || len(q.room) != 0 || len(q.slots) != 0 {
		t.Errorf("left behind: busy %d, room %d, slots %d", q.Busy(), len(q.room), len(q.slots))
	}
}

// recv waits for a value on ch, failing the test after a generous time.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
