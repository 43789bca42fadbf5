package session

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/messagebridge/messagebridge/queue"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		want      queue.Class
		code      string
		retryHint time.Duration
	}{
		{"not logged in", whatsmeow.ErrNotLoggedIn, queue.SenderBlocked, "", 0},
		{"reach-out time-lock", fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 463), queue.SenderBlocked, "463", 0},
		{"bulk messaging enforcement", errors.New("account restricted: enforcement BULK_MESSAGING"), queue.SenderBlocked, "", 0},
		{"other server error", fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 500), queue.Retry, "500", 0},
		{"not on whatsapp", ErrNotOnWhatsApp, queue.Permanent, "", 0},
		{"unknown server", fmt.Errorf("%w %s", whatsmeow.ErrUnknownServer, "x.y"), queue.Permanent, "", 0},
		{"device jid", whatsmeow.ErrRecipientADJID, queue.Permanent, "", 0},
		{"iq rate limit", fmt.Errorf("checking the number: %w", whatsmeow.ErrIQRateOverLimit), queue.RateLimited, "429", time.Minute},
		{"iq not authorized", whatsmeow.ErrIQNotAuthorized, queue.SenderBlocked, "401", 0},
		{"iq locked", whatsmeow.ErrIQLocked, queue.SenderBlocked, "423", 0},
		{"iq bad request", whatsmeow.ErrIQBadRequest, queue.Permanent, "400", 0},
		{"iq server error", whatsmeow.ErrIQInternalServerError, queue.Retry, "500", 0},
		{"send timeout", whatsmeow.ErrMessageTimedOut, queue.Retry, "", 0},
		{"iq timeout", whatsmeow.ErrIQTimedOut, queue.Retry, "", 0},
		{"websocket down", whatsmeow.ErrNotConnected, queue.Retry, "", 0},
		{"disconnected mid-query", whatsmeow.ErrIQDisconnected, queue.Retry, "", 0},
		{"our not connected", ErrNotConnected, queue.Retry, "", 0},
		{"deadline", context.DeadlineExceeded, queue.Retry, "", 0},
		{"unknown", errors.New("something odd"), queue.Retry, "", 0},
		{"already classified stays", queue.Classify(queue.Permanent, "x", errors.New("bad")), queue.Permanent, "x", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, class := classify(tt.err)
			c, se := queue.ClassOf(got)
			if c != tt.want || class != tt.want {
				t.Fatalf("classify(%v) = %v (reported %v), want %v", tt.err, c, class, tt.want)
			}
			if se == nil || se.Code != tt.code {
				t.Errorf("code = %+v, want %q", se, tt.code)
			}
			if se != nil && se.RetryAfter != tt.retryHint {
				t.Errorf("RetryAfter = %s, want %s", se.RetryAfter, tt.retryHint)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("classified error %v does not wrap %v", got, tt.err)
			}
		})
	}
	if err, _ := classify(nil); err != nil {
		t.Errorf("classify(nil) = %v", err)
	}
}
