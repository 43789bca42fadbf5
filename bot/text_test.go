package bot

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitTextCutsAtLinesThenSpacesThenCharacters(t *testing.T) {
	t.Parallel()
	l := TextLimit{Max: 9}
	for _, c := range []struct {
		in   string
		want []string
	}{
		{" \n\t", nil},
		{"short", []string{"short"}},
		{"aaaa\nbbbb\ncccc", []string{"aaaa\nbbbb", "cccc"}},
		{"one two three four", []string{"one two ", "three ", "four"}},
		{"line one\nline two\n" + strings.Repeat("x", 20), []string{"line one", "line two", "xxxxxxxxx", "xxxxxxxxx", "xx"}},
	} {
		if got := SplitText(c.in, l); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range SplitText(strings.Repeat("é", 25), TextLimit{Max: 10}) {
		if n := utf8.RuneCountInString(c); n > 10 {
			t.Errorf("chunk of %d characters", n)
		}
	}
}

// Telegram counts UTF-16 code units: an emoji is 2, and a cut never falls
// inside one.
func TestSplitTextUTF16(t *testing.T) {
	t.Parallel()
	l := TextLimit{Max: 4096, UTF16: true}
	emoji := strings.Repeat("😀", 3000)
	got := SplitText(emoji, l)
	if strings.Join(got, "") != emoji {
		t.Error("emoji chunks do not add up")
	}
	for _, c := range got {
		if !utf8.ValidString(c) || l.Len(c) > 4096 {
			t.Errorf("bad emoji chunk: valid %v, len %d", utf8.ValidString(c), l.Len(c))
		}
	}
	if len(got) != 2 {
		t.Errorf("%d emoji chunks, want 2", len(got))
	}
}

// A reply past the message bound is cut at a line and says how many lines
// were left out; one within it loses nothing.
func TestSplitTextBoundsTheMessagesOfOneReply(t *testing.T) {
	t.Parallel()
	l := TextLimit{Max: 4096, UTF16: true, Messages: MaxReplyMessages}
	var lines []string
	for i := range 9300 {
		lines = append(lines, fmt.Sprintf("✓ #%d → +9198%08d", i+1, i))
	}
	got := SplitText(strings.Join(lines, "\n"), l)
	if len(got) != MaxReplyMessages {
		t.Fatalf("%d messages, want %d", len(got), MaxReplyMessages)
	}
	shown := 0
	for i, c := range got {
		if n := l.Len(c); n > l.Max {
			t.Errorf("message %d is %d long", i, n)
		}
		for _, line := range strings.Split(c, "\n") {
			if line == lines[shown] {
				shown++
			} else if i != len(got)-1 {
				t.Fatalf("message %d has %q where line %d was due", i, line, shown)
			}
		}
	}
	last := got[len(got)-1]
	want := fmt.Sprintf("… %s more lines not shown: the reply is too long for a chat.", formatThousands(len(lines)-shown))
	if !strings.HasSuffix(last, "\n"+want) {
		t.Errorf("last message ends %q, want the note %q", last[max(0, len(last)-120):], want)
	}
	if shown < 4*4096/len(lines[len(lines)-1]) {
		t.Errorf("only %d lines shown: the messages were not filled", shown)
	}

	// Exactly at the bound: everything, no note.
	var fit []string
	for i := range 5 {
		fit = append(fit, strings.Repeat(fmt.Sprint(i), 4000))
	}
	got = SplitText(strings.Join(fit, "\n"), l)
	if !reflect.DeepEqual(got, fit) {
		t.Errorf("a reply of exactly %d messages was changed", MaxReplyMessages)
	}
	// A line too long for the last message is left out whole.
	got = SplitText(strings.Join(append(fit[:4:4], strings.Repeat("x", 4095), "tail"), "\n"), l)
	if len(got) != 5 || got[4] != "… 2 more lines not shown: the reply is too long for a chat." {
		t.Errorf("last message %q", got[len(got)-1])
	}
}

func formatThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
