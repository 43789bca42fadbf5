package whatsapp_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	"github.com/messagebridge/messagebridge/bot/whatsapp"
)

type recordingSender struct {
	to   []types.JID
	text []string
	err  error
}

func (s *recordingSender) SendMessage(_ context.Context, to types.JID, msg *waE2E.Message, _ ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	if s.err != nil {
		return whatsmeow.SendResponse{}, s.err
	}
	s.to = append(s.to, to)
	s.text = append(s.text, msg.GetConversation())
	return whatsmeow.SendResponse{}, nil
}

// TestNotifierSendsToTheNumber: a notice goes to the staff member's own
// chat with the linked number, only while the session is up here.
func TestNotifierSendsToTheNumber(t *testing.T) {
	t.Parallel()
	s := &recordingSender{}
	up := false
	n := whatsapp.NewNotifier(s, func() bool { return up })
	if n.Ready() {
		t.Fatal("ready while the session is down")
	}
	up = true
	if !n.Ready() {
		t.Fatal("not ready while the session is up")
	}
	if err := n.Notify(context.Background(), "+919800000001", "⚠ Your message #6 could not be sent."); err != nil {
		t.Fatal(err)
	}
	if len(s.to) != 1 || s.to[0].String() != "919800000001@s.whatsapp.net" || s.text[0] != "⚠ Your message #6 could not be sent." {
		t.Fatalf("sent %v %q", s.to, s.text)
	}
	for _, bad := range []string{"919800000001x", "+12", ""} {
		if err := n.Notify(context.Background(), bad, "x"); err == nil {
			t.Errorf("number %q accepted", bad)
		}
	}
	s.err = errors.New("not connected to WhatsApp")
	if err := n.Notify(context.Background(), "+919800000001", "x"); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("failed send: %v", err)
	}
}
