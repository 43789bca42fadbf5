package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/messagebridge/messagebridge/gateways/session"
)

const whatsappUsage = `usage: messagebridge whatsapp pair [-phone +91…] | status | logout

  pair     link a WhatsApp account: scan the QR code shown here with the phone
           (WhatsApp → Linked devices → Link a device), or with -phone get a
           code to type on the phone instead
  status   show the linked account
  logout   unlink the account and delete its keys

Run pair and logout while serve is stopped: the linked session is used by one
process at a time. Pairing needs a real WhatsApp account and a phone.`

// whatsappCommand runs `messagebridge whatsapp pair|status|logout` on the
// device store in the data dir.
func whatsappCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if handled, err := subcommandUsage(args, whatsappUsage, stdout); handled {
		return err
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("messagebridge whatsapp "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	phone := fs.String("phone", "", "pair by a code typed on this phone (E.164) instead of a QR code")
	fs.Usage = func() { fmt.Fprintln(stderr, whatsappUsage) }
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	cfg, err := parseConfig("messagebridge whatsapp", fs.Args(), getenv, stderr)
	if err != nil {
		return err
	}
	switch sub {
	case "pair", "status", "logout":
	default:
		return fmt.Errorf("%w: unknown whatsapp command %q (pair, status or logout)", errUsage, sub)
	}
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	s, err := session.Open(ctx, cfg.DataDir, log)
	if err != nil {
		return fmt.Errorf("whatsapp: %w", err)
	}
	defer s.Close()
	switch sub {
	case "pair":
		if err := pairInTerminal(ctx, s, *phone, stdout); err != nil {
			return fmt.Errorf("whatsapp pair: %w", err)
		}
		st, err := s.Status(ctx)
		if err != nil {
			return fmt.Errorf("whatsapp status: %w", err)
		}
		fmt.Fprintf(stdout, "Linked %s. Start messagebridge and pick it with /gateway use session.\n", st.Phone)
	case "status":
		st, err := s.Status(ctx)
		if err != nil {
			return fmt.Errorf("whatsapp status: %w", err)
		}
		if !st.Linked {
			fmt.Fprintln(stdout, "No WhatsApp account is linked. Run: messagebridge whatsapp pair")
			return nil
		}
		name := st.PushName
		if st.BusinessName != "" {
			name = st.BusinessName
		}
		fmt.Fprintf(stdout, "Linked: %s (%s), device %s\n", st.Phone, name, st.JID)
	case "logout":
		if err := s.Logout(ctx); err != nil {
			return fmt.Errorf("whatsapp logout: %w", err)
		}
		fmt.Fprintln(stdout, "Unlinked. The keys on this machine are deleted.")
	}
	return nil
}

// pairInTerminal links an account to s, showing each pairing step on out:
// QR codes as text, or the code to type on the phone. It returns nil once
// the phone confirmed the link, and the pairing's error otherwise.
func pairInTerminal(ctx context.Context, s *session.Session, phone string, out io.Writer) error {
	evs, err := s.StartPairing(ctx, phone)
	if err != nil {
		return err
	}
	var last session.PairEvent
	for ev := range evs {
		if err := session.PrintPairEvent(out, ev); err != nil {
			return err // the deferred Close stops the pairing
		}
		last = ev
	}
	switch {
	case last.Kind == session.PairSuccess:
		return nil
	case last.Terminal():
		return last.Err
	case ctx.Err() != nil:
		return context.Cause(ctx)
	}
	return errors.New("the pairing ended without a result; run the command again")
}
