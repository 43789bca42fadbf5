package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"
)

// pairConnectWait bounds the wait for the first connection after the phone
// confirmed the link.
const pairConnectWait = time.Minute

// pairDisplayName is how a phone-code link presents itself; WhatsApp
// accepts only "Browser (OS)" names of common browsers.
const pairDisplayName = "Chrome (Linux)"

// Pair links a WhatsApp account to this session. With phone "" it prints
// QR codes to out, a new one as each expires, for the phone to scan
// (WhatsApp → Settings → Linked devices → Link a device). With a phone
// number (E.164, e.g. "+919876543210") it prints a pairing code to type on
// that phone instead ("Link with phone number instead").
//
// It returns nil once the phone has confirmed the link, after waiting up to
// a minute for the first connection; the session stays connected until
// Close. It returns ErrAlreadyLinked if an account is linked, ErrPairTimeout
// if the codes ran out (about 160 s), and ctx's error if ctx ends first.
// Stop a running server before pairing from another process.
func (s *Session) Pair(ctx context.Context, out io.Writer, phone string) (err error) {
	if jid := s.c.LinkedJID(); !jid.IsEmpty() {
		return fmt.Errorf("%w (+%s)", ErrAlreadyLinked, jid.User)
	}
	var digits string
	if phone != "" {
		if digits, err = pairingPhone(phone); err != nil {
			return err
		}
	}
	qr, err := s.c.GetQRChannel(ctx)
	if err != nil {
		return fmt.Errorf("whatsapp pairing: %w", err)
	}
	connected := make(chan struct{}, 1)
	remove := s.AddHandler(func(evt any) {
		if _, ok := evt.(*events.Connected); ok {
			select {
			case connected <- struct{}{}:
			default:
			}
		}
	})
	defer remove()
	if err := s.c.ConnectContext(s.ctx); err != nil {
		return fmt.Errorf("whatsapp pairing: connect: %w", err)
	}
	defer func() {
		if err != nil {
			s.c.Disconnect()
		}
	}()

	codeShown := false // the phone code was printed
	gotCode := false   // WhatsApp answered with at least one code
	for {
		var item whatsmeow.QRChannelItem
		var open bool
		select {
		case <-ctx.Done():
			return ctx.Err()
		case item, open = <-qr:
		}
		if !open {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return errors.New("whatsapp pairing ended without a result; run the command again")
		}
		switch item.Event {
		case whatsmeow.QRChannelEventCode:
			gotCode = true
			if digits == "" {
				if err := printQR(out, item); err != nil {
					return err
				}
				continue
			}
			if codeShown {
				continue // the phone code stays valid while QR codes rotate
			}
			code, err := s.c.PairPhone(ctx, digits, true, whatsmeow.PairClientChrome, pairDisplayName)
			if err != nil {
				return fmt.Errorf("whatsapp pairing: requesting a code for +%s: %w", digits, err)
			}
			codeShown = true
			fmt.Fprintf(out, "On the phone with number +%s, open WhatsApp → Settings → Linked devices → Link a device →\n"+
				"\"Link with phone number instead\", and enter this code:\n\n    %s\n\n", digits, code)
		case whatsmeow.QRChannelSuccess.Event:
			fmt.Fprintln(out, "The phone confirmed the link; waiting for WhatsApp to connect…")
			select {
			case <-connected:
				jid := s.c.LinkedJID()
				fmt.Fprintf(out, "Linked: +%s is now connected as %s.\n", jid.User, deviceName)
			case <-time.After(pairConnectWait):
				fmt.Fprintln(out, "Linked, but WhatsApp has not connected yet; check with `messagebridge whatsapp status`.")
			case <-ctx.Done():
				fmt.Fprintln(out, "Linked; stopped waiting for the connection.")
			}
			return nil
		case whatsmeow.QRChannelTimeout.Event:
			if !gotCode {
				// Disconnected before any code: WhatsApp was not reached.
				return errors.New("whatsapp pairing: could not reach WhatsApp; check the network and run the command again")
			}
			return ErrPairTimeout
		case whatsmeow.QRChannelEventError:
			return fmt.Errorf("whatsapp pairing failed: %w", item.Error)
		case whatsmeow.QRChannelClientOutdated.Event:
			return errors.New("whatsapp pairing failed: WhatsApp refuses this client as out of date; upgrade MessageBridge")
		case whatsmeow.QRChannelScannedWithoutMultidevice.Event:
			fmt.Fprintln(out, "The phone scanned the code but does not support linked devices; update WhatsApp on it and scan again.")
		default:
			return fmt.Errorf("whatsapp pairing failed: %s", item.Event)
		}
	}
}

// printQR renders one QR code as text: two rows of modules per line, for
// a terminal with a dark background.
func printQR(out io.Writer, item whatsmeow.QRChannelItem) error {
	q, err := qrcode.New(item.Code, qrcode.Low)
	if err != nil {
		return fmt.Errorf("whatsapp pairing: rendering the QR code: %w", err)
	}
	_, err = fmt.Fprintf(out, "Scan this QR code with WhatsApp on the phone (Settings → Linked devices → Link a device).\n"+
		"It is valid for %d seconds; a new one follows.\n\n%s\n", int(item.Timeout.Seconds()), q.ToSmallString(false))
	return err
}

// pairingPhone checks a phone number for pairing and returns its digits.
func pairingPhone(phone string) (string, error) {
	p := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(phone))
	digits, ok := strings.CutPrefix(p, "+")
	if !ok || !allDigits(digits) || len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", fmt.Errorf("whatsapp pairing: %q is not a phone number in international format like +919876543210", phone)
	}
	return digits, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
