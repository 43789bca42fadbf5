package metatest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// SetProfileName sets the WhatsApp profile name inbound webhooks carry for
// phone (default "Customer").
func (s *Server) SetProfileName(phone, name string) {
	s.mu.Lock()
	s.profiles[waID(phone)] = name
	s.mu.Unlock()
}

// CustomerWrites plays the customer phone writing text to the business:
// it opens the customer's window at the server's clock and, when a webhook
// URL is set, posts Meta's signed inbound `messages` webhook. It returns
// the message's wamid and the callback's HTTP status (0 without a webhook
// URL). A failed post fails the test.
func (s *Server) CustomerWrites(phone, text string) (id string, status int) {
	s.t.Helper()
	return s.inboundMessage(phone, "text", map[string]any{"body": text})
}

// CustomerSendsImage is CustomerWrites for an image with a caption; the
// image gets a media id of its own.
func (s *Server) CustomerSendsImage(phone, caption string) (id string, status int) {
	s.t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	sum := sha256.Sum256(b)
	img := map[string]any{"id": strconv.FormatUint(1003383421387000+uint64(b[0])<<8+uint64(b[1]), 10),
		"mime_type": "image/jpeg", "sha256": base64.StdEncoding.EncodeToString(sum[:])}
	if caption != "" {
		img["caption"] = caption
	}
	return s.inboundMessage(phone, "image", img)
}

func (s *Server) inboundMessage(phone, typ string, content map[string]any) (string, int) {
	s.t.Helper()
	wa := waID(phone)
	s.mu.Lock()
	now := s.now()
	s.lastIn[wa] = now
	id := newWAMID(wa)
	name, ok := s.profiles[wa]
	if !ok {
		name = "Customer"
	}
	body := s.envelopeLocked(map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]string{"name": name}, "wa_id": wa}},
		"messages": []any{map[string]any{"from": wa, "id": id, "timestamp": strconv.FormatInt(now.Unix(), 10),
			"type": typ, typ: content}},
	})
	s.inbound[id] = body
	s.mu.Unlock()
	status, err := s.post(body)
	if err != nil {
		s.t.Errorf("metatest: inbound webhook: %v", err)
	}
	return id, status
}

// Redeliver posts the webhook of inbound message id again, byte for byte
// (Meta redelivers), and returns the callback's HTTP status.
func (s *Server) Redeliver(id string) int {
	s.t.Helper()
	s.mu.Lock()
	body, ok := s.inbound[id]
	s.mu.Unlock()
	if !ok {
		s.t.Errorf("metatest: Redeliver(%q): no such inbound message", id)
		return 0
	}
	status, err := s.post(body)
	if err != nil {
		s.t.Errorf("metatest: inbound webhook: %v", err)
	}
	return status
}
