package console_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/bot/console"
)

func TestConsoleChat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	contacts := filepath.Join(dir, "contacts.csv")
	if err := os.WriteFile(contacts, []byte("phone\n9876543210\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []bot.Message
	var attached string
	h := bot.HandlerFunc(func(ctx context.Context, m bot.Message) []bot.Reply {
		got = append(got, m)
		if m.Attachment != nil {
			rc, err := m.Attachment.Open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			attached = string(b)
			return []bot.Reply{{Text: "imported", File: &bot.File{Name: "rejects.csv", Data: []byte("row,reason\n")}}}
		}
		return []bot.Reply{{Text: "line one\nline two"}}
	})
	in := strings.NewReader("98765 43210\n\n/import 12 " + contacts + "\n/quit\n/never-read\n")
	var out bytes.Buffer
	if err := console.Run(context.Background(), console.Config{User: "local", In: in, Out: &out, FileDir: dir}, h); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("handler got %d messages, want 2: %+v", len(got), got)
	}
	if got[0].Text != "98765 43210" || got[0].From.String() != "console:local" || got[0].Attachment != nil {
		t.Errorf("first message %+v", got[0])
	}
	if got[1].Text != "/import 12" || got[1].Attachment == nil || got[1].Attachment.Name != "contacts.csv" || attached != "phone\n9876543210\n" {
		t.Errorf("attachment message %+v, content %q", got[1], attached)
	}
	for _, want := range []string{"bot: line one", "bot: line two", "bot: imported", "file saved to " + filepath.Join(dir, "rejects.csv")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "rejects.csv")); err != nil || string(b) != "row,reason\n" {
		t.Errorf("reply file: %q, %v", b, err)
	}
}

// A reply far too long for a chat is cut short on the console as on
// Telegram, saying how many lines were left out.
func TestConsoleBoundsLongReplies(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("✓ #123456 → +919876543210\n", 9300)
	h := bot.HandlerFunc(func(context.Context, bot.Message) []bot.Reply { return []bot.Reply{{Text: long}} })
	var out bytes.Buffer
	if err := console.Run(context.Background(), console.Config{User: "local", In: strings.NewReader("/recent\n"), Out: &out}, h); err != nil {
		t.Fatal(err)
	}
	if out.Len() > bot.MaxReplyMessages*4096*4 {
		t.Errorf("printed %d bytes for one reply", out.Len())
	}
	if !strings.Contains(out.String(), " more lines not shown: the reply is too long for a chat.") {
		t.Errorf("output does not say lines were left out: …%s", out.String()[max(0, out.Len()-200):])
	}
}
