// Package console is a terminal chat with the bot, on the same command
// router as Telegram and WhatsApp: lines typed are messages from one
// configured identity, and a word that names an existing file is sent as an
// attachment (e.g. "/import 12 ./contacts.xlsx").
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/bot"
)

// Config configures a console chat.
type Config struct {
	// User is the identity's id: messages come from console:<User>.
	User string
	In   io.Reader
	Out  io.Writer
	// FileDir is where files the bot sends back are saved.
	FileDir string
}

// Run reads lines until EOF, "/quit" or ctx is cancelled, passing each to h
// and printing its replies.
func Run(ctx context.Context, cfg Config, h bot.Handler) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(cfg.In)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()
	fmt.Fprintf(cfg.Out, "MessageBridge chat as %s:%s. Type a phone number, /help, or /quit.\n", bot.Console, cfg.User)
	for n := 1; ; n++ {
		fmt.Fprint(cfg.Out, "> ")
		var line string
		select {
		case <-ctx.Done():
			fmt.Fprintln(cfg.Out)
			return nil
		case l, ok := <-lines:
			if !ok {
				fmt.Fprintln(cfg.Out)
				if err := <-readErr; err != nil {
					return fmt.Errorf("console: read: %w", err)
				}
				return nil
			}
			line = strings.TrimSpace(l)
		}
		if line == "" {
			continue
		}
		if line == "/quit" || line == "/exit" {
			return nil
		}
		msg := bot.Message{
			Transport: bot.Console,
			ChatID:    cfg.User,
			MessageID: strconv.Itoa(n),
			From:      bot.Identity{Transport: bot.Console, ID: cfg.User, Name: cfg.User},
			At:        time.Now().UTC(),
		}
		msg.Text, msg.Attachment = splitAttachment(line)
		for _, r := range h.Handle(ctx, msg) {
			printReply(cfg, r)
		}
	}
}

// splitAttachment takes the last word that names an existing regular file
// out of the line and makes it the message's attachment.
func splitAttachment(line string) (string, *bot.Attachment) {
	words := strings.Fields(line)
	for i := len(words) - 1; i >= 1; i-- {
		path := words[i]
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		rest := append(append([]string{}, words[:i]...), words[i+1:]...)
		return strings.Join(rest, " "), &bot.Attachment{
			Name: filepath.Base(path),
			MIME: mime.TypeByExtension(filepath.Ext(path)),
			Size: st.Size(),
			Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) },
		}
	}
	return line, nil
}

func printReply(cfg Config, r bot.Reply) {
	// The console shows a reply as Telegram would: within its length, and
	// cut short the same way when far too long.
	for _, msg := range bot.SplitText(r.Text, bot.TextLimit{Max: 4096, Messages: bot.MaxReplyMessages}) {
		for _, l := range strings.Split(msg, "\n") {
			fmt.Fprintln(cfg.Out, "bot: "+l)
		}
	}
	if r.File == nil {
		return
	}
	dir := cfg.FileDir
	if dir == "" {
		dir = "."
	}
	path := filepath.Join(dir, filepath.Base(r.File.Name))
	if err := os.WriteFile(path, r.File.Data, 0o600); err != nil {
		fmt.Fprintf(cfg.Out, "bot: (a file %s came but could not be saved: %v)\n", r.File.Name, err)
		return
	}
	fmt.Fprintf(cfg.Out, "bot: file saved to %s\n", path)
}
