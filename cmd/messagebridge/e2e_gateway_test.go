package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/gateways"
	"github.com/messagebridge/messagebridge/gateways/fake"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
)

// pigeonReason is the fake gateway's readiness reason while it is not set
// up.
const pigeonReason = "not set up: the pigeon has no loft"

// pigeon is a gateway this test adds with one registration: not ready
// (and sending nothing) until ready is set.
type pigeon struct {
	ready *atomic.Bool
	fake.Sender
}

func (p *pigeon) Send(ctx context.Context, d queue.Delivery) (string, error) {
	if !p.ready.Load() {
		return "", gateways.NotReady(pigeonReason)
	}
	return p.Sender.Send(ctx, d)
}

func (p *pigeon) definition() gateways.Definition {
	return gateways.Definition{
		Name: "pigeon",
		Caps: queue.Capabilities{Text: true},
		Ready: func(context.Context, *settings.Reader) string {
			if p.ready.Load() {
				return ""
			}
			return pigeonReason
		},
		Open: func(context.Context, gateways.Env) (gateways.Gateway, error) {
			return gateways.Gateway{Sender: p}, nil
		},
	}
}

// TestNewGatewayWithOneRegistration: meta and the session, not set up,
// are refused with their readiness reasons; and a gateway cmd has never
// heard of,
// registered in the list, can be chosen in the console chat; while it is
// not set up the switch is refused with its readiness reason and a send
// through it pauses it with that reason; /gateway use! forces the switch;
// once ready, the staff send goes out through it.
func TestNewGatewayWithOneRegistration(t *testing.T) {
	t.Parallel()
	p := &pigeon{ready: &atomic.Bool{}}
	cfg, err := parseConfig("messagebridge chat", nil, env(t), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.gatewayList = func(account *session.Session) []gateways.Definition {
		return append(gatewayList(account), p.definition())
	}
	inR, inW := io.Pipe()
	c := &e2eChat{t: t, in: inW, out: &syncBuffer{}, logs: &syncBuffer{}, done: make(chan int, 1)}
	go func() {
		if err := chat(context.Background(), cfg, inR, c.out, c.logs); err != nil {
			fmt.Fprintln(c.logs, "chat:", err)
			c.done <- 1
			return
		}
		c.done <- 0
	}()
	t.Cleanup(func() {
		if !c.ended {
			_ = inW.Close()
			select {
			case <-c.done:
			case <-time.After(15 * time.Second):
			}
		}
	})
	c.waitOut("> ")

	// The real gateways are wired with their readiness too: meta without
	// a token, the session without a linked account.
	c.say("/gateway use meta")
	c.waitOut("Not switched: meta is not set up: the access token is empty. Messages still go out via dryrun.")
	c.say("/gateway use session")
	c.waitOut("Not switched: session is " + session.NotLinkedReason + ". Messages still go out via dryrun.")

	c.say("/gateway use pigeon")
	c.waitOut("Not switched: pigeon is " + pigeonReason + ". Messages still go out via dryrun. To switch anyway, send /gateway use! pigeon (on the admin page: Switch anyway).")
	c.say("/gateway use! pigeon")
	c.waitOut("Messages now go out via pigeon.")

	c.say("98765 43210")
	c.waitOut("Queued #1 for +919876543210 via pigeon.")
	// The send pauses the gateway, and the pause names the reason.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.out.String(), "⚠ pigeon is paused") {
		if time.Now().After(deadline) {
			t.Fatalf("pigeon was not paused within 20s:\n%s\nlogs:\n%s", c.out, c.logs)
		}
		c.say("/gateway")
		time.Sleep(100 * time.Millisecond)
	}
	c.waitOut("sender_blocked: " + pigeonReason)
	c.say("/status")
	c.waitOut("Sending via pigeon is paused: The pigeon gateway is " + pigeonReason)
	if got := len(p.Sends()); got != 0 {
		t.Fatalf("the pigeon sent %d while not set up", got)
	}

	// Set up: choosing it again lifts the pause; the message goes out
	// through it.
	p.ready.Store(true)
	before := strings.Count(c.out.String(), "Messages now go out via pigeon.")
	c.say("/gateway use pigeon")
	deadline = time.Now().Add(20 * time.Second)
	for strings.Count(c.out.String(), "Messages now go out via pigeon.") == before || len(p.Sends()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the pigeon got no send within 20s of being set up:\n%s\nlogs:\n%s", c.out, c.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := p.Sends(); len(s) != 1 || s[0].Phone != "+919876543210" {
		t.Fatalf("pigeon sends: %+v", s)
	}
	if code := c.quit(); code != 0 {
		t.Fatalf("chat exited %d:\n%s", code, c.logs)
	}
}
