// Command messagebridge runs the MessageBridge chat-ops bot: the delivery
// loop, the chat transports and the admin web page, on SQLite by default or
// on MySQL/MariaDB.
//
// Usage:
//
//	messagebridge [serve] [flags]   run everything (the default)
//	messagebridge migrate [flags]   apply pending migrations and exit
//	messagebridge chat [flags]      chat with the bot in the terminal
//	messagebridge admin create|password <user> | list
//	                                manage the admin web page's accounts
//	messagebridge settings          list the runtime settings
//	messagebridge version           print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	_ "time/tzdata" // campaign schedules need Asia/Kolkata also where the system has no zoneinfo (distroless)
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program behind main, with its inputs and outputs passed
// in so tests can drive it. It returns the exit status: 0 on success, 1 when
// the program fails, 2 on a command-line mistake. A failure is reported as
// one line on stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve", "migrate", "chat":
		var cfg Config
		cfg, err = parseConfig("messagebridge "+cmd, args, getenv, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if err == nil {
			switch cmd {
			case "serve":
				err = serve(ctx, cfg, stderr)
			case "chat":
				err = chat(ctx, cfg, stdin, stdout, stderr)
			default:
				err = migrate(ctx, cfg, stdout, stderr)
			}
		}
	case "bench":
		switch {
		case len(args) > 0 && args[0] == "queue":
			err = benchQueue(ctx, args[1:], getenv, stdout, stderr)
		case len(args) > 0 && args[0] == "pacing":
			err = benchPacing(ctx, args[1:], getenv, stdout, stderr)
		default:
			err = fmt.Errorf("%w: bench takes a benchmark: queue or pacing", errUsage)
		}
	case "whatsapp":
		err = whatsappCommand(ctx, args, getenv, stdout, stderr)
	case "admin":
		err = adminCommand(ctx, args, getenv, stdin, stdout, stderr)
	case "settings":
		if isHelp(args) {
			_, err = fmt.Fprintln(stdout, "usage: messagebridge settings\n\nPrints every runtime setting as the README's Markdown table.")
			break
		}
		err = settingsCommand(args, stdout)
	case "version":
		switch {
		case isHelp(args):
			_, err = fmt.Fprintln(stdout, "usage: messagebridge version\n\nPrints the version and the commit it was built from.")
		case len(args) > 0:
			err = fmt.Errorf("%w: version takes no arguments", errUsage)
		default:
			_, err = fmt.Fprintln(stdout, "messagebridge", versionString())
		}
	case "help", "-h", "--help":
		_, err = fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q (try: serve, migrate, chat, whatsapp, admin, settings, version, help)", errUsage, cmd)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "messagebridge:", oneLine(err))
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// isHelp reports whether args ask for help: -h, -help or --help.
func isHelp(args []string) bool {
	return len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

// subcommandUsage answers a command that needs a subcommand and got none
// (a usage error naming the first line of usage) or only -h (usage
// printed). handled says it answered.
func subcommandUsage(args []string, usage string, stdout io.Writer) (handled bool, err error) {
	switch {
	case isHelp(args):
		_, err = fmt.Fprintln(stdout, usage)
		return true, err
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		// errUsage says "usage" already.
		first, _, _ := strings.Cut(usage, "\n")
		return true, fmt.Errorf("%w: %s", errUsage, strings.TrimPrefix(first, "usage: "))
	}
	return false, nil
}

const usage = `MessageBridge: WhatsApp notifications and campaigns from a chat bot.

Usage:
  messagebridge [serve] [flags]   run the bot, the delivery loop and the admin page (default)
  messagebridge migrate [flags]   apply pending database migrations and exit
  messagebridge chat [flags]      chat with the bot in this terminal (as console:local, admin)
  messagebridge whatsapp pair|status|logout
                                  link, show or unlink the WhatsApp account of the session gateway
  messagebridge admin create|password <user> | list
                                  add an admin web page account, set its password (from
                                  MB_ADMIN_PASSWORD or typed twice), or list the accounts
  messagebridge settings          list the runtime settings (the README's settings table)
  messagebridge version           print the version
  messagebridge bench queue [-items N -workers N -processes N -latency D]
                                  measure enqueue and drain rates on the configured database
  messagebridge <command> -h      list the flags; each has an MB_* environment variable
`

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// oneLine flattens a possibly multi-line error into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// settingsCommand prints every runtime setting as the README's Markdown
// table: key, variable, default, who may change it, meaning.
func settingsCommand(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: settings takes no arguments", errUsage)
	}
	reg, err := newRegistry(gatewayList(nil))
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(stdout, reg.MarkdownTable())
	return err
}
