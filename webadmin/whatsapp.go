package webadmin

import (
	"context"
	"net/http"
	"strconv"
)

// WhatsApp is the linked WhatsApp session as the page drives it: pairing
// runs in the background and the page polls its latest state.
type WhatsApp interface {
	Status(ctx context.Context) (WhatsAppStatus, error)
	// StartPairing begins pairing: phone "" shows QR codes, a number in
	// E.164 gets a code to type on that phone.
	StartPairing(phone string) error
	Pairing() PairingView
	// QRPNG renders the current QR code.
	QRPNG(size int) ([]byte, error)
	CancelPairing()
	Logout(ctx context.Context) error
}

// WhatsAppStatus is the linked account.
type WhatsAppStatus struct {
	Linked, Connected bool
	Phone, Name       string
}

// PairingView is a pairing's latest state.
type PairingView struct {
	// State is idle, waiting_qr, qr, code, linked, failed or timeout.
	State string
	// QRSerial changes whenever WhatsApp rotates the QR code.
	QRSerial int
	Code     string
	Phone    string
	Err      string
}

// Pairing reports whether the page should keep polling.
func (v PairingView) Pairing() bool {
	return v.State == "waiting_qr" || v.State == "qr" || v.State == "code"
}

type whatsappData struct {
	Available bool
	Status    WhatsAppStatus
	Pair      PairingView
}

func (s *server) whatsappPage(w http.ResponseWriter, r *http.Request) {
	d := whatsappData{Available: s.deps.WhatsApp != nil}
	if d.Available {
		var err error
		if d.Status, err = s.deps.WhatsApp.Status(r.Context()); err != nil {
			s.failPage(w, r, err)
			return
		}
		d.Pair = s.deps.WhatsApp.Pairing()
	}
	if d.Pair.Pairing() {
		// The QR code rotates about every 20 seconds: look again soon.
		w.Header().Set("Refresh", "3")
	}
	s.render(w, r, http.StatusOK, "whatsapp", page{Title: "WhatsApp session", Nav: "whatsapp", Data: d})
}

func (s *server) whatsappQR(w http.ResponseWriter, r *http.Request) {
	if s.deps.WhatsApp == nil {
		http.NotFound(w, r)
		return
	}
	png, err := s.deps.WhatsApp.QRPNG(256)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png)
}

func (s *server) whatsappPair(w http.ResponseWriter, r *http.Request) {
	if s.deps.WhatsApp == nil {
		http.NotFound(w, r)
		return
	}
	phone := r.PostFormValue("phone")
	if err := s.deps.WhatsApp.StartPairing(phone); err != nil {
		setFlash(w, r, "error", "Pairing did not start: "+err.Error())
		http.Redirect(w, r, "/admin/whatsapp", http.StatusSeeOther)
		return
	}
	s.ops.Audit(r.Context(), auditEntry(r, "whatsapp.pair", phone, "ok"))
	s.done(w, r, "/admin/whatsapp", "Pairing started.")
}

func (s *server) whatsappCancel(w http.ResponseWriter, r *http.Request) {
	if s.deps.WhatsApp == nil {
		http.NotFound(w, r)
		return
	}
	s.deps.WhatsApp.CancelPairing()
	s.done(w, r, "/admin/whatsapp", "Pairing cancelled.")
}

func (s *server) whatsappLogout(w http.ResponseWriter, r *http.Request) {
	if s.deps.WhatsApp == nil {
		http.NotFound(w, r)
		return
	}
	if err := s.deps.WhatsApp.Logout(r.Context()); err != nil {
		s.ops.Audit(r.Context(), auditEntry(r, "whatsapp.logout", "", "error"))
		setFlash(w, r, "error", "Log out: "+err.Error())
		http.Redirect(w, r, "/admin/whatsapp", http.StatusSeeOther)
		return
	}
	s.ops.Audit(r.Context(), auditEntry(r, "whatsapp.logout", "", "ok"))
	s.done(w, r, "/admin/whatsapp", "The WhatsApp account is unlinked.")
}
