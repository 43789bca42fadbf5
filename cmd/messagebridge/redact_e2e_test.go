package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store"
)

// testSecretOf is a deterministic secret of n characters from alphabet
// that does not start with Meta's "EAA".
func testSecretOf(seed uint64, n int, alphabet string) string {
	r := rand.New(rand.NewPCG(seed, 13))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	b[0] = 'z'
	return string(b)
}

// pieceOf returns the first piece of 8 or more characters of secret found
// in text, or "".
func pieceOf(text, secret string) string {
	for i := 0; i+8 <= len(secret); i++ {
		if strings.Contains(text, secret[i:i+8]) {
			return secret[i : i+8]
		}
	}
	return ""
}

// A 240-character access token that does not look like Meta's, and the
// WHAPI token (another secret setting, of no recognisable shape), echoed
// by the Cloud API in an "expired token" error where the gateway's
// 200-byte bound cuts through the first, appear neither whole nor in any
// piece in the stored last errors, the item histories, the gateway's
// blocked reason, the log, the /status, /gateway, /recent and /failed
// replies or the admin page; the provider's words around them stay.
func TestSecretsNeverLeakFromProviderErrors(t *testing.T) {
	t.Parallel()
	token := testSecretOf(1, 240, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
	whapiToken := testSecretOf(2, 240, "abcdefghijklmnopqrstuvwxyz")
	const words = "Error validating access token: Session has expired on Tuesday, 01-Jul-25 10:00:00 PDT. " +
		"The session is invalid because the user logged out; the token "
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":190,"error_subcode":463,"error_user_title":%q,"fbtrace_id":"AbCdFake"}}`,
			words+token+" was refused", "Channel "+whapiToken)
	}))
	defer fake.Close()
	if len(words) >= 200 || len(words)+len(token) <= 200 {
		t.Fatalf("the token does not straddle the gateway's 200-byte bound")
	}

	r := startAdminRig(t, env(t, "MB_GATEWAY", "meta", "MB_META_BASE_URL", fake.URL, "MB_META_ACCESS_TOKEN", token,
		"MB_META_PHONE_NUMBER_ID", "106540352242922", "MB_WHAPI_TOKEN", whapiToken, "MB_RECIPIENT_SPACING", "0s",
		"MB_BOOTSTRAP_ADMINS", "telegram:4242"))
	ctx := context.Background()
	staff := ops.Actor{Identity: "console:till1", Role: ops.RoleStaff, Transport: "console"}
	customerWrote(t, r.m.db, "+919876543210", "+919876543211")
	var ids []int64
	for _, phone := range []string{"98765 43210", "98765 43211"} {
		res, err := r.m.ops.Intake(ctx, staff, ops.IntakeRequest{Phones: []string{phone}})
		if err != nil || len(res.Queued) != 1 {
			t.Fatalf("intake: %+v %v", res, err)
		}
		ids = append(ids, res.Queued[0].ID)
	}
	for _, id := range ids {
		waitItem(t, r.m, id, "held by the pause", func(it ops.QueueItem) bool {
			return it.Status == ops.StatusQueued && it.LastErrorClass == "sender_blocked"
		})
	}

	texts := map[string]string{"log": r.logs.String()}
	for _, id := range ids {
		it, err := r.m.db.QueueItem(ctx, id) // as stored, not as shown
		if err != nil {
			t.Fatal(err)
		}
		texts[fmt.Sprintf("stored last error of #%d", id)] = it.LastError
		evs, err := r.m.db.QueueItemEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			texts["history"] += e.Detail + "\n"
		}
	}
	states, err := r.m.db.GatewayStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.Gateway == "meta" && s.Blocked {
			texts["blocked reason"] = s.BlockedReason
		}
	}
	if texts["blocked reason"] == "" {
		t.Fatalf("the gateway was not paused: %+v", states)
	}
	boss := bot.Identity{Transport: "telegram", ID: "4242"}
	for _, cmd := range []string{"/status", "/gateway", "/recent", "/failed"} {
		for _, rep := range r.m.router.Handle(ctx, bot.Message{Transport: "telegram", ChatID: "4242", From: boss, Text: cmd, At: time.Now()}) {
			texts[cmd+" reply"] += rep.Text + "\n"
		}
	}
	if !strings.Contains(texts["/gateway reply"], "paused") || !strings.Contains(texts["/status reply"], "paused") {
		t.Fatalf("the replies do not show the pause:\n%s\n%s", texts["/gateway reply"], texts["/status reply"])
	}
	c := r.browser(t)
	for _, page := range []string{"/admin/", "/admin/gateways"} {
		res, err := c.Get(r.url + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", page, res.StatusCode)
		}
		texts["page "+page] = string(body)
	}

	for name, text := range texts {
		for secret, what := range map[string]string{token: "access token", whapiToken: "WHAPI token"} {
			if p := pieceOf(text, secret); p != "" {
				t.Errorf("the %s keeps the piece %q of the %s:\n%s", name, p, what, text)
			}
		}
	}
	for _, name := range []string{fmt.Sprintf("stored last error of #%d", ids[0]), "blocked reason", "/gateway reply"} {
		if !strings.Contains(texts[name], "Error validating access token: Session has expired") || !strings.Contains(texts[name], "[redacted]") {
			t.Errorf("the %s lost the provider's words or the [redacted] mark: %q", name, texts[name])
		}
	}
	if it, _ := r.m.db.QueueItem(ctx, ids[0]); it.Status != store.StatusQueued {
		t.Errorf("the first message is %s, want queued while the gateway is paused", it.Status)
	}
}
