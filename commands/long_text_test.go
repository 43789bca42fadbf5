package commands_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// auditOf returns the audit rows of actor, oldest first.
func (f *fixture) auditOf(t *testing.T, actor string) []store.AuditEntry {
	t.Helper()
	log, err := f.db.AuditLog(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.AuditEntry
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Actor == actor {
			rows = append(rows, log[i])
		}
	}
	return rows
}

// An unknown identity is told once that it is not set up, then the bot
// stays quiet for an hour; every message is still audited as refused.
func TestUnknownIdentityIsToldOnceThenQuiet(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var replies []string
	for _, text := range []string{"98765 43210", "hello?", "/status"} {
		replies = append(replies, f.say(t, "telegram:777", text))
	}
	if !strings.Contains(replies[0], "not set up") || replies[1] != "" || replies[2] != "" {
		t.Fatalf("replies %q, want the refusal once and then nothing", replies)
	}
	rows := f.auditOf(t, "telegram:777")
	if len(rows) != 3 {
		t.Fatalf("%d audit rows, want 3: %+v", len(rows), rows)
	}
	for i, a := range rows {
		if a.Action != "unknown_identity" || a.Outcome != "refused" || a.Transport != "telegram" {
			t.Errorf("audit row %d: %+v", i, a)
		}
	}
	if rows[0].Detail != "98765 43210" || !strings.HasPrefix(rows[1].Detail, "hello?") || !strings.Contains(rows[1].Detail, "no reply") {
		t.Errorf("audit details %q, %q: the quiet one should say it was not answered", rows[0].Detail, rows[1].Detail)
	}
	if len(f.items(t)) != 0 {
		t.Fatal("an unknown identity queued a message")
	}

	// Quiet per identity: another stranger is told at once.
	if reply := f.say(t, "telegram:778", "hi"); !strings.Contains(reply, "/operator add telegram:778 staff") {
		t.Fatalf("another unknown identity: %q", reply)
	}
	f.clock.Advance(time.Hour - time.Second)
	if reply := f.say(t, "telegram:777", "still there?"); reply != "" {
		t.Fatalf("within the hour: %q", reply)
	}
	f.clock.Advance(time.Second)
	if reply := f.say(t, "telegram:777", "hello again"); !strings.Contains(reply, "/operator add telegram:777 staff") {
		t.Fatalf("after the hour: %q, want the refusal again", reply)
	}
	if reply := f.say(t, "telegram:777", "and again"); reply != "" {
		t.Fatalf("right after being told again: %q", reply)
	}
	if n := len(f.auditOf(t, "telegram:777")); n != 6 {
		t.Fatalf("%d audit rows, want one per message (6)", n)
	}
}

// An identity that was told, then added and removed again, is told at once
// that it is no longer set up.
func TestRemovedOperatorIsToldAgainAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if reply := f.say(t, "telegram:777", "hi"); !strings.Contains(reply, "not set up") {
		t.Fatalf("first: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/operator add telegram:777 staff"); !strings.Contains(reply, "telegram:777") {
		t.Fatalf("add: %q", reply)
	}
	if reply := f.say(t, "telegram:777", "/whoami"); !strings.Contains(reply, "staff") {
		t.Fatalf("as staff: %q", reply)
	}
	if reply := f.say(t, "telegram:3", "/operator remove telegram:777"); !strings.Contains(reply, "no longer") {
		t.Fatalf("remove: %q", reply)
	}
	if reply := f.say(t, "telegram:777", "/status"); !strings.Contains(reply, "not set up") {
		t.Fatalf("removed within the hour: %q, want the refusal", reply)
	}
}

// Long text in any script is answered and audited on both dialects: each
// audit field is cut by characters to its column, never inside one, so
// MariaDB's strict mode cannot lose the row.
func TestLongInputsAreAudited(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f := newFixtureOn(t, d)

			// An unknown user's long emoji message: byte 200 falls inside
			// an emoji; the row keeps 199 characters and "…".
			msg := "a" + strings.Repeat("😀", 300)
			if reply := f.say(t, "telegram:777", msg); !strings.Contains(reply, "not set up") {
				t.Fatalf("unknown user: %q", reply)
			}
			a := f.lastAudit(t)
			if want := "a" + strings.Repeat("😀", 198) + "…"; a.Actor != "telegram:777" || a.Detail != want {
				t.Fatalf("unknown user's audit: actor %q, detail of %d characters %.20q, want %d",
					a.Actor, utf8.RuneCountInString(a.Detail), a.Detail, utf8.RuneCountInString(want))
			}

			// A Devanagari message from the same stranger while quiet.
			f.say(t, "telegram:777", strings.Repeat("नमस्ते ", 100))
			if a := f.lastAudit(t); !utf8.ValidString(a.Detail) || !strings.HasPrefix(a.Detail, "नमस्ते") || a.Outcome != "refused" {
				t.Fatalf("Devanagari audit: %+v", a)
			}

			// A command name of 100 characters.
			name := strings.Repeat("a", 100)
			if reply := f.say(t, "telegram:1", "/"+name); !strings.Contains(reply, "There is no command /"+strings.Repeat("a", 59)+"…") {
				t.Fatalf("long command: %q", reply)
			}
			if a := f.lastAudit(t); a.Action != "/"+strings.Repeat("a", 59)+"…" || a.Outcome != "error" || a.Actor != "telegram:1" {
				t.Fatalf("long command's audit: %+v", a)
			}

			// A command whose audit detail (its arguments and the error)
			// runs past 2,000 characters of Devanagari.
			arg := strings.Repeat("न", 2500)
			reply := f.say(t, "telegram:2", "/cancel "+arg)
			if !strings.Contains(reply, `"`+strings.Repeat("न", 39)+`…" is not a message id`) {
				t.Fatalf("/cancel with a long argument: reply %.80q, want the argument cut to 40 characters", reply)
			}
			a = f.lastAudit(t)
			if a.Action != "/cancel" || utf8.RuneCountInString(a.Detail) != 2000 || a.Detail != strings.Repeat("न", 1999)+"…" {
				t.Fatalf("long detail's audit: action %q, detail of %d characters %.20q…", a.Action, utf8.RuneCountInString(a.Detail), a.Detail)
			}
		})
	}
}

// A failed item's error is cut for the chat by characters: a byte cut
// inside a Devanagari letter made the reply invalid UTF-8, which Telegram
// refuses to send.
func TestFailedItemErrorIsCutByCharacters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	ids, err := f.db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543210", MaxAttempts: 1,
		Content: store.QueueContent{Kind: store.ContentText, Body: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ClaimQueueItems(ctx, store.ClaimParams{Limit: 1, Owner: "p1", Token: "tok"}); err != nil {
		t.Fatal(err)
	}
	lastError := "a" + strings.Repeat("न", 200) // byte 117 falls inside a letter
	if _, err := f.db.CompleteQueueItems(ctx, []store.Outcome{{ID: ids[0], Token: "tok", Status: store.StatusFailed,
		Error: lastError, ErrorClass: "permanent"}}); err != nil {
		t.Fatal(err)
	}
	reply := f.say(t, "telegram:2", "/failed")
	if !utf8.ValidString(reply) {
		t.Fatalf("/failed reply is not UTF-8: %q", reply)
	}
	if want := "a" + strings.Repeat("न", 118) + "…"; !strings.Contains(reply, want) || strings.Contains(reply, want[:len(want)-len("…")]+"न") {
		t.Fatalf("/failed reply %q, want the error cut to 120 characters", reply)
	}
}
