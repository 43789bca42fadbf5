package commands

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/messagebridge/messagebridge/commands/phone"
)

// Command is one parsed chat message.
type Command struct {
	// Name is the command without its slash, lower case: "send", "status".
	Name string
	// Sub is the subcommand for commands that have them ("use" in
	// "/gateway use meta", "add" in "/operator add ...").
	Sub string
	// Args are the remaining words.
	Args []string
	// Force is set by a command's "!" form: "/send!" queues even if the
	// number was queued lately, "/gateway use!" switches past the
	// refusals an admin may override.
	Force bool
	// Implicit is set when the message was not a command but phone numbers.
	Implicit bool
	// Text is, for the commands that take a saved message's name (/save,
	// /message), the text after the command and subcommand as typed, with
	// its quotes and line breaks: the name may be quoted ("Diwali offer")
	// and a caption or message may follow it.
	Text string
}

// Key names the command for authorization and help: "gateway use".
func (c Command) Key() string {
	if c.Sub != "" {
		return c.Name + " " + c.Sub
	}
	return c.Name
}

// ErrNotUnderstood means the text is neither a command nor phone numbers.
var ErrNotUnderstood = errors.New("not a command or a phone number")

// UnknownCommandError names a slash command that does not exist.
type UnknownCommandError struct{ Name string }

func (e *UnknownCommandError) Error() string { return fmt.Sprintf("unknown command /%s", e.Name) }

// Parse turns a message's text into a Command. Text that is not a slash
// command is read as phone numbers to send to. The command table says
// which commands and subcommands exist, which take a "!" and how each
// reads its arguments.
func Parse(text string) (Command, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Command{}, ErrNotUnderstood
	}
	if !strings.HasPrefix(text, "/") {
		phones := phone.Find(text)
		if len(phones) == 0 {
			return Command{}, ErrNotUnderstood
		}
		return Command{Name: "send", Args: phones, Implicit: true}, nil
	}
	t := commandTable()
	fields := strings.Fields(text)
	name := strings.ToLower(strings.TrimPrefix(fields[0], "/"))
	// Telegram groups address commands as /status@SomeBot.
	if at := strings.IndexByte(name, '@'); at >= 0 {
		name = name[:at]
	}
	cmd := Command{Name: name, Args: fields[1:]}
	if bare, bang := strings.CutSuffix(name, "!"); bang {
		// /send!: only a command declared with a "!" form takes one.
		if s, ok := t.find(bare); !ok || !s.force {
			return Command{}, &UnknownCommandError{Name: name}
		}
		cmd.Name, cmd.Force = bare, true
	}
	if !t.known(cmd.Name) {
		return Command{}, &UnknownCommandError{Name: name}
	}
	if len(cmd.Args) > 0 && !cmd.Force && t.isParent(cmd.Name) {
		first := strings.ToLower(cmd.Args[0])
		sub, bang := strings.CutSuffix(first, "!")
		if s, ok := t.find(cmd.Name + " " + sub); ok && sub != "" {
			if bang && !s.force {
				// /campaign start!: no such form.
				return Command{}, &UnknownCommandError{Name: cmd.Name + " " + first}
			}
			cmd.Sub, cmd.Args, cmd.Force = sub, cmd.Args[1:], bang
		}
	}
	s, _ := t.find(cmd.Key()) // a parent alone (/operator) reads plain words
	skip := 1
	if cmd.Sub != "" {
		skip = 2
	}
	switch s.form {
	case keyValueArgs:
		// key="a value with spaces": re-read the words after the command
		// from the text as typed, so that a quoted value is one argument
		// and keeps its inner spaces.
		cmd.Args = SplitArgs(afterWords(text, skip))
	case phoneArgs:
		// "/send 98765 43210 order_ready": the numbers may hold spaces, and
		// a saved message name may follow.
		cmd.Args = splitSendArgs(SplitArgs(afterWords(text, skip)))
	case quotedNameArg:
		// /campaign new "Diwali offer": the quotes are not part of the name.
		if name, tail, ok := CutName(strings.Join(cmd.Args, " ")); ok && tail == "" && name != "" && len(cmd.Args) > 0 && isQuote(cmd.Args[0]) {
			cmd.Args = []string{name}
		}
	case savedNameArgs:
		cmd.Text = afterWords(text, skip)
		if name, tail, ok := CutName(cmd.Text); ok {
			cmd.Args = strings.Fields(tail)
			if name != "" {
				cmd.Args = append([]string{name}, cmd.Args...)
			}
		}
	}
	return cmd, nil
}

// openQuotes and closeQuotes are the quotes a value may be put in: straight
// ones, and the curly ones phones type (“…”, and „…“ on some keyboards).
const (
	openQuotes  = "\"“”„"
	closeQuotes = "\"”“"
)

// isQuote reports whether s starts with an opening quote.
func isQuote(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return strings.ContainsRune(openQuotes, r)
}

// SplitArgs cuts s into words at spaces, except that a value in quotes
// right after a key's = (key="a value", key=“a value”) stays in one word,
// without its quotes and with the spaces inside as typed: sheet="Mumbai
// Store" is the one word sheet=Mumbai Store. Text right after the closing
// quote stays in the word (template="Order update":en). When the closing
// quote is missing, the words from that key on are left as typed, for the
// command to refuse. No word is empty.
func SplitArgs(s string) []string {
	var out []string
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return out
		}
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			end = len(s)
		}
		word := s[:end]
		eq := strings.IndexByte(word, '=')
		if eq <= 0 || !isQuote(word[eq+1:]) {
			out = append(out, word)
			s = s[end:]
			continue
		}
		_, size := utf8.DecodeRuneInString(word[eq+1:])
		rest := s[eq+1+size:]
		closing := strings.IndexAny(rest, closeQuotes)
		if closing < 0 {
			return append(out, strings.Fields(s)...)
		}
		_, csize := utf8.DecodeRuneInString(rest[closing:])
		value := strings.TrimSpace(rest[:closing])
		after := rest[closing+csize:]
		tail := strings.IndexFunc(after, unicode.IsSpace)
		if tail < 0 {
			tail = len(after)
		}
		out = append(out, word[:eq+1]+value+after[:tail])
		s = after[tail:]
	}
}

// afterWords returns s without its first n words and the spaces around
// them, keeping the rest as typed.
func afterWords(s string, n int) string {
	for range n {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			return ""
		}
		s = s[i:]
	}
	return strings.TrimSpace(s)
}

// CutName takes a saved message's name off the front of s: the text in
// quotes ("Diwali offer", or “Diwali offer” and „Diwali offer“ as phones
// type them), or else
// the first word. tail is the rest as typed, trimmed. ok is false when a
// quote is not closed.
func CutName(s string) (name, tail string, ok bool) {
	s = strings.TrimSpace(s)
	if !isQuote(s) {
		i := strings.IndexFunc(s, unicode.IsSpace)
		if i < 0 {
			return s, "", true
		}
		return s[:i], strings.TrimSpace(s[i:]), true
	}
	// The same quotes SplitArgs takes: straight, or the curly and low
	// ones phones type.
	_, size := utf8.DecodeRuneInString(s)
	rest := s[size:]
	end := strings.IndexAny(rest, closeQuotes)
	if end < 0 {
		return "", s, false
	}
	_, closing := utf8.DecodeRuneInString(rest[end:])
	return strings.TrimSpace(rest[:end]), strings.TrimSpace(rest[end+closing:]), true
}

// splitSendArgs regroups /send's words into the phone numbers they hold
// followed, if present, by one saved-message name.
func splitSendArgs(words []string) []string {
	var numberWords []string
	rest := len(words)
	for i, w := range words {
		if !strings.ContainsAny(w, "0123456789") || hasKey(w, "message") {
			rest = i
			break
		}
		numberWords = append(numberWords, w)
	}
	out := phone.Find(strings.Join(numberWords, " "))
	if len(out) == 0 {
		out = numberWords // let validation say what is wrong with them
	}
	if rest < len(words) {
		// Template values (key=value words) may follow the name: they stay
		// words of their own, after it.
		end := len(words)
		for i := rest + 1; i < len(words); i++ {
			if isValueWord(words[i]) {
				end = i
				break
			}
		}
		name := strings.Join(words[rest:end], " ")
		if hasKey(words[rest], "message") {
			name = strings.TrimSpace(name[len("message="):]) // /send 98765 message="Diwali offer"
		}
		if name != "" {
			out = append(out, "message="+name)
		}
		out = append(out, words[end:]...)
	}
	return out
}

// isValueWord reports whether word is a template value, key=value with a
// key of letters, digits and _ (header=, body=, first_name=).
func isValueWord(word string) bool {
	key, _, ok := strings.Cut(word, "=")
	if !ok || key == "" {
		return false
	}
	for _, r := range key {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// hasKey reports whether word is key=… (the key in any case).
func hasKey(word, key string) bool {
	return len(word) > len(key) && word[len(key)] == '=' && strings.EqualFold(word[:len(key)], key)
}
