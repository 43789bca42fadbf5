package queue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// lockedBuffer is a log sink safe for the loop's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The loop redacts the secrets current at the time of the failure (an
// admin may change them while it runs) before anything cuts the error: a
// 240-character secret that does not look like a token, echoed by the
// provider where the 500-byte bound cuts through it, appears neither whole
// nor in any piece in the item's last error, its history, the gateway's
// blocked reason, the held item's error or the log.
func TestLoopRedactsCurrentSecretsBeforeCutting(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(epoch)
			db := storetest.OpenDialect(t, d, storetest.Options{Now: clock.Now})
			ctx := context.Background()
			first, second := testSecret(11, 240, alnum), testSecret(12, 240, lower)
			var mu sync.Mutex
			current := []string{first}
			secrets := func(context.Context) []string {
				mu.Lock()
				defer mu.Unlock()
				return append([]string(nil), current...)
			}
			var echoed string
			b := &bundle{db: db, clock: clock}
			sender := senderFunc(func(queue.Delivery) error {
				mu.Lock()
				defer mu.Unlock()
				prefix := "meta send: Error validating access token: Session has expired. " + strings.Repeat("detail ", 55)
				return queue.Classify(queue.SenderBlocked, "190", errors.New(prefix+"token "+echoed+" (code 190, HTTP 401)"))
			})
			logs := &lockedBuffer{}
			log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			gws := queue.StaticGateways{Active: "meta", Senders: map[string]queue.Sender{"meta": sender}}
			b.loop = queue.New(queue.Config{Workers: 1, Now: clock.Now, BlockedRecheck: time.Minute, Secrets: secrets}, db, gws, log)

			// An admin sets a new secret while the loop runs: the next
			// failure is redacted of the new value.
			mu.Lock()
			current, echoed = []string{first, second}, second
			mu.Unlock()
			ids := b.enqueue(t, store.NewQueueItem{}, store.NewQueueItem{})
			b.step(t) // the first send fails and pauses the gateway
			b.step(t) // the second item is held, naming the pause
			blocked := b.item(t, ids[0])
			held := b.item(t, ids[1])
			if blocked.LastErrorClass != "sender_blocked" || !strings.Contains(held.LastError, "paused") {
				t.Fatalf("items: %+v\n%+v", blocked, held)
			}
			states, err := db.GatewayStates(ctx)
			if err != nil || len(states) != 1 || !states[0].Blocked {
				t.Fatalf("gateway states = %+v, %v", states, err)
			}
			texts := map[string]string{"last error": blocked.LastError, "held item's error": held.LastError,
				"blocked reason": states[0].BlockedReason, "log": logs.String()}
			for _, id := range ids {
				evs, err := db.QueueItemEvents(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					texts["history"] += e.Detail + "\n"
				}
			}
			for name, text := range texts {
				if p := leakedPiece(text, second); p != "" {
					t.Errorf("the %s keeps the piece %q of the secret:\n%s", name, p, text)
				}
			}
			for _, name := range []string{"last error", "blocked reason"} {
				if !strings.Contains(texts[name], "access token: Session has expired") || !strings.Contains(texts[name], "[redacted]") {
					t.Errorf("the %s lost the provider's words or the mark: %q", name, texts[name])
				}
			}
		})
	}
}

// senderFunc is a Sender that fails with what its function returns.
type senderFunc func(queue.Delivery) error

func (f senderFunc) Send(_ context.Context, d queue.Delivery) (string, error) {
	if err := f(d); err != nil {
		return "", err
	}
	return "ok", nil
}
