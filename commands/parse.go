package commands

import (
	"errors"
	"fmt"
	"strings"

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
	// Force is set by "/send!": queue even if the number was queued lately.
	Force bool
	// Implicit is set when the message was not a command but phone numbers.
	Implicit bool
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

// subcommands lists the commands whose first argument is a subcommand.
func subcommands() map[string][]string {
	return map[string][]string{
		"gateway":  {"use"},
		"operator": {"add", "remove"},
		"campaign": {"new", "set", "start", "pause", "resume", "cancel", "delete", "schedule", "copy", "stats", "results"},
	}
}

// Parse turns a message's text into a Command. Text that is not a slash
// command is read as phone numbers to send to.
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
	fields := strings.Fields(text)
	name := strings.ToLower(strings.TrimPrefix(fields[0], "/"))
	// Telegram groups address commands as /status@SomeBot.
	if at := strings.IndexByte(name, '@'); at >= 0 {
		name = name[:at]
	}
	cmd := Command{Name: name, Args: fields[1:]}
	if name == "send!" {
		cmd.Name, cmd.Force = "send", true
	}
	if _, ok := specs()[cmd.Name]; !ok {
		if _, ok := subcommands()[cmd.Name]; !ok {
			return Command{}, &UnknownCommandError{Name: name}
		}
	}
	if subs, ok := subcommands()[cmd.Name]; ok && len(cmd.Args) > 0 {
		first := strings.ToLower(cmd.Args[0])
		for _, s := range subs {
			if first == s {
				cmd.Sub, cmd.Args = s, cmd.Args[1:]
			}
		}
	}
	if cmd.Name == "send" {
		// "/send 98765 43210 order_ready": the numbers may hold spaces, and
		// a saved message name may follow.
		cmd.Args = splitSendArgs(cmd.Args)
	}
	return cmd, nil
}

// splitSendArgs regroups /send's words into the phone numbers they hold
// followed, if present, by one saved-message name.
func splitSendArgs(words []string) []string {
	var numberWords []string
	rest := len(words)
	for i, w := range words {
		if !strings.ContainsAny(w, "0123456789") {
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
		out = append(out, "message="+strings.Join(words[rest:], " "))
	}
	return out
}
