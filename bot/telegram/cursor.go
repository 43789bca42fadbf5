package telegram

import (
	"context"
	"log/slog"
	"sync"
)

// updateCursor tracks the updates one Run has dispatched and saves the
// position that is safe to resume after: the highest update_id that, with
// every lower update dispatched, has been handled. An update still being
// handled (or waiting behind another in its chat) holds the saved position
// below it however many later updates of other chats are done, so a
// restart asks for it again.
type updateCursor struct {
	store CursorStore
	log   *slog.Logger
	scrub func(string) string

	mu       sync.Mutex
	progress chan struct{}  // signalled when an update finishes
	pending  []int64        // dispatched ids above pos, in order
	done     map[int64]bool // the finished ones among pending
	pos      int64          // the safe position
	hasPos   bool

	saveMu   sync.Mutex // serializes saves, so that they never go backwards
	saved    int64      // the stored position
	hasSaved bool
	closed   bool // Run has returned: late finishers must not save
}

func newUpdateCursor(store CursorStore, log *slog.Logger, scrub func(string) string, saved int64, hasSaved bool) *updateCursor {
	return &updateCursor{
		store: store, log: log, scrub: scrub,
		done:     map[int64]bool{},
		progress: make(chan struct{}, 1),
		pos:      saved, hasPos: hasSaved,
		saved: saved, hasSaved: hasSaved,
	}
}

// dispatched records that id is about to be handled. Ids must increase.
func (c *updateCursor) dispatched(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, id)
}

// finish records that id has been handled and saves the position if that
// moved it. It saves even when ctx is done: the handler has run, and
// running it again after a restart could repeat a command.
func (c *updateCursor) finish(ctx context.Context, id int64) {
	c.mu.Lock()
	c.done[id] = true
	for len(c.pending) > 0 && c.done[c.pending[0]] {
		c.pos, c.hasPos = c.pending[0], true
		delete(c.done, c.pending[0])
		c.pending = c.pending[1:]
	}
	c.mu.Unlock()
	select {
	case c.progress <- struct{}{}:
	default:
	}
	c.save(ctx)
}

// oldestUnhandled is the offset to poll with so that Telegram keeps every
// update not yet handled: the oldest dispatched update still in flight, or
// next when none is. Telegram forgets an update once a poll asks past it,
// so polling past one still being handled would lose it in a crash.
func (c *updateCursor) oldestUnhandled(next int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) > 0 && c.pending[0] < next {
		return c.pending[0]
	}
	return next
}

func (c *updateCursor) position() (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos, c.hasPos
}

// save stores the current position if it is past the stored one.
func (c *updateCursor) save(ctx context.Context) {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	pos, ok := c.position()
	if c.closed || !ok || (c.hasSaved && pos <= c.saved) {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cursorSaveTimeout)
	defer cancel()
	if err := c.store.SetCursor(sctx, cursorName, pos); err != nil {
		c.log.Error("telegram: saving cursor failed", "update_id", pos, "err", c.scrub(err.Error()))
		return
	}
	c.saved, c.hasSaved = pos, true
}

// close stops all further saves, waiting for one in progress.
func (c *updateCursor) close() {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.closed = true
}
