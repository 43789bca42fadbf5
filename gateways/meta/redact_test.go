package meta_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/gateways/meta"
	"github.com/messagebridge/messagebridge/queue"
)

// shapelessSecret is n small letters: nothing about it looks like a token
// (and it does not start with Meta's "EAA"), so only the configured value
// can find it.
func shapelessSecret(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// leaked returns the first piece of 8 or more characters of secret found
// in text, or "".
func leaked(text, secret string) string {
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+8]) {
			return secret[i : i+8]
		}
	}
	return ""
}

// A 240-character access token that does not look like Meta's, echoed in
// a Cloud API error where the 200-byte field bound cuts through it, and
// another secret setting's value echoed in the title, appear neither whole
// nor in any piece in the error or the log; the words around them stay.
func TestLongTokenIsRedactedBeforeFieldsAreCut(t *testing.T) {
	t.Parallel()
	token, other := shapelessSecret(1, 240), shapelessSecret(2, 48)
	f := newFakeGraph(t)
	f.token = token
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	creds := f.creds()
	creds.AccessToken, creds.Secrets = token, []string{other}
	c := newClient(f, newMemCache(), logger, func() meta.Credentials { return creds })
	body := fmt.Sprintf(`{"error":{"message":"Error validating access token: Session has expired. We saw %s at the gate",`+
		`"type":"OAuthException","code":190,"error_user_title":"Key %s","fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`, token, other)
	if i := strings.Index(body, token) - strings.Index(body, "Error validating"); i >= 200 || i+len(token) <= 200 {
		t.Fatalf("the token does not straddle the 200-byte bound (starts at %d)", i)
	}
	f.setFail(func(*http.Request) (int, http.Header, string, bool) { return http.StatusUnauthorized, nil, body, true })

	_, err := c.Send(context.Background(), queue.Delivery{ItemID: 1, Phone: "+919876543210", Kind: queue.KindText, Text: "Hi"})
	if class, _ := queue.ClassOf(err); err == nil || class != queue.SenderBlocked {
		t.Fatalf("err = %v, want sender_blocked", err)
	}
	for name, text := range map[string]string{"error": err.Error(), "log": logs.String()} {
		for _, s := range []string{token, other} {
			if p := leaked(text, s); p != "" {
				t.Errorf("the %s keeps the piece %q of a secret:\n%s", name, p, text)
			}
		}
	}
	for _, want := range []string{"Error validating access token: Session has expired", "Key [redacted]", "code 190"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lost %q", err, want)
		}
	}
}

// Error titles and messages in status webhooks are redacted before they
// are bounded: a secret echoed there, cut by the bound, appears in no
// receipt error and no log line.
func TestWebhookErrorTitlesAreRedacted(t *testing.T) {
	t.Parallel()
	token, other := shapelessSecret(3, 240), shapelessSecret(4, 240)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := meta.New(meta.Options{Logger: logger, Credentials: func(context.Context) (meta.Credentials, error) {
		return meta.Credentials{AccessToken: token, PhoneNumberID: testPNID, AppSecret: testAppSecret,
			VerifyToken: testVerifyToken, Secrets: []string{other}}, nil
	}})
	sink, events := &memSink{}, &memEvents{}
	h := c.WebhookHandler(sink, events, nil)
	pad := strings.Repeat("pad ", 30)
	for i, title := range []string{
		"Access token: Session has expired, " + pad + token,
		"Re-engagement message " + pad + "key " + other,
	} {
		errs := fmt.Sprintf(`[{"code":131047,"title":%q,"message":%q}]`, title, title)
		body := statusPayload(fmt.Sprintf("wamid.R%d", i), "failed", 1750263773, errs)
		// Meta also reports errors outside any status; they are logged.
		body = bytes.Replace(body, []byte(`"statuses":`), fmt.Appendf(nil, `"errors":[{"code":131000,"title":%q}],"statuses":`, title), 1)
		if rec := post(h, body, sign(body, testAppSecret)); rec.Code != http.StatusOK {
			t.Fatalf("%d: %d %s", i, rec.Code, rec.Body)
		}
	}
	got := sink.got()
	if len(got) != 2 {
		t.Fatalf("receipts = %+v", got)
	}
	if !strings.Contains(logs.String(), "meta reported an error") {
		t.Fatalf("the errors outside statuses were not logged:\n%s", logs.String())
	}
	texts := map[string]string{"first receipt": got[0].Error, "second receipt": got[1].Error, "log": logs.String()}
	for name, text := range texts {
		for _, s := range []string{token, other} {
			if p := leaked(text, s); p != "" {
				t.Errorf("the %s keeps the piece %q of a secret:\n%s", name, p, text)
			}
		}
	}
	if !strings.Contains(got[0].Error, "Access token: Session has expired") || !strings.Contains(got[0].Error, "[redacted]") {
		t.Errorf("first receipt error = %q", got[0].Error)
	}
	if !strings.Contains(got[1].Error, "Re-engagement message") || !strings.Contains(got[1].Error, "(code 131047)") {
		t.Errorf("second receipt error = %q", got[1].Error)
	}
}
