package bot

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/store/words"
)

// MaxReplyMessages is the most chat messages the text of one reply becomes
// on any transport: a longer reply is cut at a line, and its last message
// says how many lines were left out.
const MaxReplyMessages = 5

// TextLimit is how long the text of one chat message may be on a
// transport, and how many messages one reply may take.
type TextLimit struct {
	// Max is the most one message may hold: characters, or with UTF16
	// UTF-16 code units (Telegram's measure, where an emoji counts 2).
	Max   int
	UTF16 bool
	// Messages is the most messages one reply's text becomes; 0 is no
	// bound.
	Messages int
}

// Len measures s as the limit does.
func (l TextLimit) Len(s string) int {
	if !l.UTF16 {
		return utf8.RuneCountInString(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// SplitText cuts a reply's text into messages within l: at line
// boundaries where it can, else at a space, else between characters.
// Past l.Messages messages the rest is left out at a line boundary, and
// the last message ends with a line saying how many lines were not shown:
// nothing is dropped silently. Blank text gives no messages. Every
// transport sends replies through it, so every command's reply fits.
func SplitText(text string, l TextLimit) []string {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if l.Max <= 0 || l.Len(text) <= l.Max {
		return []string{text}
	}
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	chunks, _ := pack(lines, l, 0, 0)
	if l.Messages <= 0 || len(chunks) <= l.Messages {
		return chunks
	}
	// Keep room in the last message for the note; a note naming every
	// line is the longest it can be.
	reserve := l.Len("\n" + omitted(len(lines)))
	chunks, shown := pack(lines, l, l.Messages, reserve)
	note := omitted(len(lines) - shown)
	if last := len(chunks) - 1; last >= 0 && len(chunks) == l.Messages {
		chunks[last] += "\n" + note
	} else {
		chunks = append(chunks, note)
	}
	return chunks
}

// omitted is the note ending a reply cut short.
func omitted(n int) string {
	return "… " + words.Count(n, "more line") + " not shown: the reply is too long for a chat."
}

// pack fills messages with lines in order. With messages > 0 it stops at
// that many, the last holding reserve units less and only whole lines;
// shown is how many lines went out whole.
func pack(lines []string, l TextLimit, messages, reserve int) (chunks []string, shown int) {
	lines = slices.Clone(lines)
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if s := cur.String(); strings.TrimSpace(s) != "" {
			chunks = append(chunks, s)
		}
		cur.Reset()
		curLen = 0
	}
	full := func() bool { return messages > 0 && len(chunks) >= messages }
	for shown < len(lines) && !full() {
		last := messages > 0 && len(chunks) == messages-1
		room := l.Max
		if last {
			room -= reserve
		}
		line := lines[shown]
		sep := 0
		if cur.Len() > 0 {
			sep = 1
		}
		if n := l.Len(line); curLen+sep+n <= room {
			if sep == 1 {
				cur.WriteByte('\n')
			}
			cur.WriteString(line)
			curLen += sep + n
			shown++
			continue
		}
		if cur.Len() > 0 {
			flush()
			continue
		}
		if last {
			break // the last message takes whole lines only
		}
		// One line longer than a message: cut it, the rest goes on.
		head, tail := cutLine(line, l)
		cur.WriteString(head)
		flush()
		lines[shown] = tail
	}
	if !full() {
		flush()
	}
	return chunks, shown
}

// cutLine splits a line longer than l.Max: head fits, cut after the last
// space in its second half if there is one, else between characters.
func cutLine(s string, l TextLimit) (head, tail string) {
	n, end, space := 0, 0, -1
	for i, r := range s {
		_, size := utf8.DecodeRuneInString(s[i:])
		w := l.Len(s[i : i+size])
		if n+w > l.Max {
			break
		}
		n += w
		end = i + size
		if r == ' ' && n > l.Max/2 {
			space = end
		}
	}
	if space > 0 {
		end = space
	}
	if end == 0 { // a limit below one character
		_, w := utf8.DecodeRuneInString(s)
		end = w
	}
	return s[:end], s[end:]
}
