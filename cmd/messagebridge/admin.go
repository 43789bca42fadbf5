package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/settings"
)

const adminUsage = `usage: messagebridge admin create <user> | password <user> | list  [flags]

  create <user>    add an account of the admin web page
  password <user>  set an account's password; its sessions end
  list             list the accounts

The password is read from MB_ADMIN_PASSWORD, or typed twice at the terminal.`

// adminPasswordEnv holds the password for admin create and admin password
// when they do not run in a terminal.
const adminPasswordEnv = "MB_ADMIN_PASSWORD"

// setupTokenTTL is how long the setup link logged at start works.
const setupTokenTTL = 24 * time.Hour

// cliActor is who changes accounts from the command line.
func cliActor() ops.Actor {
	return ops.Actor{Identity: "cli:admin", Role: ops.RoleAdmin, Transport: "cli"}
}

// adminCommand runs `messagebridge admin create|password|list` on the
// configured database.
func adminCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if handled, err := subcommandUsage(args, adminUsage, stdout); handled {
		return err
	}
	sub, args := args[0], args[1:]
	var user string
	switch sub {
	case "create", "password":
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("%w: admin %s takes a user name: messagebridge admin %s <user>", errUsage, sub, sub)
		}
		user, args = args[0], args[1:]
	case "list":
	default:
		return fmt.Errorf("%w: unknown admin command %q (create, password or list)", errUsage, sub)
	}
	cfg, err := parseConfig("messagebridge admin "+sub, args, getenv, stderr)
	if err != nil {
		return err
	}
	var password string
	if sub != "list" {
		// Asked before the database is opened: a person at the terminal
		// answers at once, and a missing password fails before any change.
		if password, err = readNewPassword(getenv, stdin, stderr, user); err != nil {
			return err
		}
	}
	log := newLogger(cfg, stderr)
	svc, closeDB, err := openOps(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "create":
		acc, err := svc.CreateAdmin(ctx, cliActor(), user, password)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "Created the admin account %s. Log in on the admin page (/admin/).\n", acc.Username)
	case "password":
		if err := svc.SetAdminPassword(ctx, cliActor(), user, password); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "Changed the password of %s; its sessions have ended.\n", strings.ToLower(strings.TrimSpace(user)))
	case "list":
		accs, err := svc.AdminAccounts(ctx)
		if err != nil {
			return err
		}
		if len(accs) == 0 {
			fmt.Fprintln(stdout, "No admin accounts. Create one: messagebridge admin create <user>")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tCREATED\tLAST LOGIN")
		for _, a := range accs {
			last := "never"
			if !a.LastLoginAt.IsZero() {
				last = a.LastLoginAt.UTC().Format(time.DateTime + " UTC")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Username, a.CreatedAt.UTC().Format(time.DateTime+" UTC"), last)
		}
		return tw.Flush()
	}
	return nil
}

// cliError turns an operation's refusal into its message, which is
// written for a person; internal errors keep their detail for the log line.
func cliError(err error) error {
	if ops.ErrorCode(err) == ops.EINTERNAL {
		return err
	}
	return errors.New(ops.ErrorMessage(err))
}

// openOps opens and migrates the database as Open does and returns the
// operations over it. Secret settings are not needed and so not unlocked:
// no key file is created.
func openOps(ctx context.Context, cfg Config, log *slog.Logger) (*ops.Service, func(), error) {
	if cfg.DatabaseURL == "" {
		if err := ensureDataDir(cfg.DataDir); err != nil {
			return nil, nil, err
		}
	}
	db, err := openStore(ctx, cfg, nil, log)
	if err != nil {
		return nil, nil, err
	}
	if err := prepareSchema(ctx, cfg, db, log); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	reg, err := newRegistry(gatewayList(nil))
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	svc := ops.New(db, settings.NewReader(reg, db, time.Second, log), ops.Config{}, log)
	return svc, func() { _ = db.Close() }, nil
}

// readNewPassword returns MB_ADMIN_PASSWORD, or asks for the password of
// user twice on the terminal without echo.
func readNewPassword(getenv func(string) string, stdin io.Reader, prompt io.Writer, user string) (string, error) {
	if pw := getenv(adminPasswordEnv); pw != "" {
		return pw, nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", fmt.Errorf("no password: set %s, or run the command in a terminal to type it", adminPasswordEnv)
	}
	ask := func(label string) (string, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	pw, err := ask(fmt.Sprintf("New password for %s: ", user))
	if err != nil {
		return "", err
	}
	again, err := ask("The same password again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the two passwords differ; nothing changed")
	}
	if pw == "" {
		return "", errors.New("no password typed; nothing changed")
	}
	return pw, nil
}

// announceSetup logs, when no admin account exists, a one-time link valid
// for 24 hours that creates the first one. The link is logged on purpose:
// it is how the person who started messagebridge gets in, and it works
// once.
func announceSetup(ctx context.Context, o *ops.Service, adminURL string, log *slog.Logger) error {
	has, err := o.HasAdminAccounts(ctx)
	if err != nil {
		return fmt.Errorf("admin setup: %w", err)
	}
	if has {
		return nil
	}
	token, err := o.NewSetupToken(ctx, setupTokenTTL)
	if ops.ErrorCode(err) == ops.ECONFLICT {
		return nil // an account appeared in the meantime
	}
	if err != nil {
		return fmt.Errorf("admin setup: %w", err)
	}
	log.Warn("no admin account yet: open this one-time link to create one",
		"link", strings.TrimRight(adminURL, "/")+"/admin/setup?token="+token,
		"valid_for", setupTokenTTL.String(),
		"or_run", "messagebridge admin create <user>")
	return nil
}
