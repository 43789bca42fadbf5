package bot

import (
	"context"
	"sync"
	"time"
)

// ChatQueues runs jobs with one worker goroutine per busy chat: the jobs of
// one chat run one after another in the order they were dispatched, jobs of
// different chats run at the same time. At most limit chats have a worker
// at once and at most maxWaiting jobs are dispatched and unfinished; past
// either bound Dispatch waits, it never drops a job. A worker exits as soon
// as its chat has nothing waiting, so idle chats cost nothing.
//
// Once the dispatch context is cancelled, workers start no further jobs:
// the jobs of theirs still waiting go to skip instead of run.
type ChatQueues[K comparable, J any] struct {
	run  func(ctx context.Context, job J)
	skip func(job J)

	slots chan struct{} // one per chat with a worker
	room  chan struct{} // one per dispatched, unfinished job

	mu     sync.Mutex
	queues map[K][]J // a key is present while its chat has a worker; the jobs waiting behind the running one
	wg     sync.WaitGroup
}

// NewChatQueues returns queues that run jobs with run and hand the jobs
// left at cancellation to skip.
func NewChatQueues[K comparable, J any](limit, maxWaiting int, run func(context.Context, J), skip func(J)) *ChatQueues[K, J] {
	return &ChatQueues[K, J]{
		run:    run,
		skip:   skip,
		slots:  make(chan struct{}, max(limit, 1)),
		room:   make(chan struct{}, max(maxWaiting, limit, 1)),
		queues: map[K][]J{},
	}
}

// Dispatch queues job behind the chat's earlier jobs, starting a worker for
// the chat if it has none. It waits while the bounds are reached and
// returns ctx.Err(), the job not dispatched, if ctx is done first.
func (q *ChatQueues[K, J]) Dispatch(ctx context.Context, key K, job J) error {
	select {
	case q.room <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if q.enqueue(ctx, key, job) {
		return nil
	}
	select {
	case q.slots <- struct{}{}:
	case <-ctx.Done():
		<-q.room
		return ctx.Err()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := ctx.Err(); err != nil {
		<-q.slots
		<-q.room
		return err
	}
	if waiting, ok := q.queues[key]; ok { // a worker started meanwhile
		q.queues[key] = append(waiting, job)
		<-q.slots
		return nil
	}
	q.queues[key] = nil
	q.wg.Add(1)
	go q.work(ctx, key, job)
	return nil
}

// enqueue appends job to the chat's queue if the chat has a worker.
func (q *ChatQueues[K, J]) enqueue(ctx context.Context, key K, job J) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	waiting, ok := q.queues[key]
	if ok && ctx.Err() == nil {
		q.queues[key] = append(waiting, job)
	}
	return ok && ctx.Err() == nil
}

// work runs the chat's jobs until none is waiting or ctx is done.
func (q *ChatQueues[K, J]) work(ctx context.Context, key K, job J) {
	defer q.wg.Done()
	defer func() { <-q.slots }()
	for {
		if ctx.Err() != nil {
			q.skip(job)
		} else {
			q.run(ctx, job)
		}
		<-q.room

		q.mu.Lock()
		waiting := q.queues[key]
		if len(waiting) == 0 {
			delete(q.queues, key)
			q.mu.Unlock()
			return
		}
		job = waiting[0]
		var zero J
		waiting[0] = zero // let the job be collected
		q.queues[key] = waiting[1:]
		q.mu.Unlock()
	}
}

// Wait waits up to timeout for every worker to exit, and reports whether
// they all did. Call it once dispatching has stopped.
func (q *ChatQueues[K, J]) Wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// Busy is the number of chats with a worker.
func (q *ChatQueues[K, J]) Busy() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queues)
}
