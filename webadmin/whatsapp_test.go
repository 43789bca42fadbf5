package webadmin_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/messagebridge/messagebridge/webadmin"
)

// fakeWhatsApp is a session that pairs when told to.
type fakeWhatsApp struct {
	mu     sync.Mutex
	status webadmin.WhatsAppStatus
	view   webadmin.PairingView
	phones []string
	logout int
}

func (f *fakeWhatsApp) Status(context.Context) (webadmin.WhatsAppStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, nil
}

func (f *fakeWhatsApp) StartPairing(phone string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.view.Pairing() {
		return errors.New("a pairing is in progress")
	}
	f.phones = append(f.phones, phone)
	f.view = webadmin.PairingView{State: "qr", QRSerial: f.view.QRSerial + 1}
	return nil
}

func (f *fakeWhatsApp) Pairing() webadmin.PairingView {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view
}

func (f *fakeWhatsApp) QRPNG(int) ([]byte, error) {
	if f.Pairing().State != "qr" {
		return nil, errors.New("no QR code")
	}
	return []byte("\x89PNG\r\n\x1a\nfake"), nil
}

func (f *fakeWhatsApp) CancelPairing() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.view = webadmin.PairingView{State: "failed", Err: "cancelled"}
}

func (f *fakeWhatsApp) Logout(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.status.Linked {
		return errors.New("no account is linked")
	}
	f.logout++
	f.status = webadmin.WhatsAppStatus{}
	return nil
}

func TestWhatsAppPairingPage(t *testing.T) {
	t.Parallel()
	wa := &fakeWhatsApp{}
	s := newSiteWith(t, nil, func(d *webadmin.Deps) { d.WhatsApp = wa })
	c := s.signedIn(t)
	if _, body := s.get(t, c, "/admin/whatsapp"); !strings.Contains(body, "No account is linked") || !strings.Contains(body, "Start pairing") {
		t.Fatalf("unlinked page:\n%s", body)
	}
	if res := s.post(t, c, "/admin/whatsapp/pair", url.Values{"phone": {""}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("pair: %d", res.StatusCode)
	}
	res, err := c.Get(s.srv.URL + "/admin/whatsapp")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Refresh") == "" {
		t.Fatal("the page does not refresh itself while a QR code waits")
	}
	if _, body := s.get(t, c, "/admin/whatsapp"); !strings.Contains(body, `/admin/whatsapp/qr.png?v=1`) {
		t.Fatalf("pairing page shows no QR image:\n%s", body)
	}
	res, err = c.Get(s.srv.URL + "/admin/whatsapp/qr.png?v=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("QR image: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// A second admin starting meanwhile is told, not ignored.
	s.post(t, c, "/admin/whatsapp/pair", url.Values{"phone": {""}})
	if _, body := s.get(t, c, "/admin/whatsapp"); !strings.Contains(body, "in progress") {
		t.Fatalf("a second start says nothing:\n%s", body)
	}
	wa.mu.Lock()
	wa.status = webadmin.WhatsAppStatus{Linked: true, Connected: true, Phone: "+919876543210", Name: "Sharma Stores"}
	wa.view = webadmin.PairingView{State: "linked", Phone: "+919876543210"}
	wa.mu.Unlock()
	if _, body := s.get(t, c, "/admin/whatsapp"); !strings.Contains(body, "+919876543210") || !strings.Contains(body, "Sharma Stores") {
		t.Fatalf("linked page:\n%s", body)
	}
	if res := s.post(t, c, "/admin/whatsapp/logout", nil); res.StatusCode != http.StatusSeeOther || wa.logout != 1 {
		t.Fatalf("logout: %d, %d logouts", res.StatusCode, wa.logout)
	}
	log, err := s.ops.AuditLog(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range log {
		seen = append(seen, e.Action)
	}
	if !strings.Contains(strings.Join(seen, " "), "whatsapp.logout") {
		t.Fatalf("audit has %v, want the logout", seen)
	}
}
