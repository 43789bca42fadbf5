package whapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/whapi"
	"github.com/messagebridge/messagebridge/store"
)

// receiptLog keeps the receipts it is given.
type receiptLog struct {
	mu       sync.Mutex
	receipts []store.Receipt
}

func (l *receiptLog) ApplyReceipt(_ context.Context, r store.Receipt) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.receipts = append(l.receipts, r)
	return true, nil
}

// shapelessSecret is n small letters: nothing about it looks like a token,
// so only the configured value can find it.
func shapelessSecret(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 5))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// A failed status whose error message echoes the channel token or another
// secret setting's value where the 300-character bound cuts through it
// leaves no piece of either in the receipt's error or the log.
func TestWebhookErrorMessagesAreRedactedBeforeTheBound(t *testing.T) {
	t.Parallel()
	token, other := shapelessSecret(1, 240), shapelessSecret(2, 240)
	var logs bytes.Buffer
	c := whapi.New(whapi.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Credentials: func(context.Context) (whapi.Credentials, error) {
			return whapi.Credentials{Token: token, WebhookSecret: hookSecret, Secrets: []string{other}}, nil
		},
	})
	sink := &receiptLog{}
	h := c.WebhookHandler(sink, nil)
	pad := strings.Repeat("pad ", 40)
	for i, secret := range []string{token, other} {
		body := statusPayload("MSG-"+string(rune('A'+i)), "failed", "1712995300",
			`,"errors":[{"code":401,"message":"Channel token: Session has expired","details":"`+pad+secret+`"}]`)
		req := httptest.NewRequest(http.MethodPost, "/webhooks/whapi", strings.NewReader(body))
		req.Header.Set(whapi.SecretHeader, hookSecret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%d: status %d", i, rec.Code)
		}
	}
	if len(sink.receipts) != 2 {
		t.Fatalf("receipts = %+v", sink.receipts)
	}
	for i, r := range sink.receipts {
		for _, s := range []string{token, other} {
			for j := 0; j+8 <= len(s); j++ {
				if strings.Contains(r.Error, s[j:j+8]) || strings.Contains(logs.String(), s[j:j+8]) {
					t.Fatalf("receipt %d or the log keeps the piece %q of a secret: %q", i, s[j:j+8], r.Error)
				}
			}
		}
		if !strings.Contains(r.Error, "Channel token: Session has expired") || !strings.Contains(r.Error, "[redacted]") {
			t.Errorf("receipt %d error = %q", i, r.Error)
		}
	}
}
