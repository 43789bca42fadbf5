package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/gateways/library"
	"github.com/messagebridge/messagebridge/gateways/session"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store/settings"
	"github.com/messagebridge/messagebridge/webadmin"
)

// settingMetricsToken is the bearer token that lets clients other than
// loopback read /metrics.
const settingMetricsToken = "metrics.token"

// httpSettingDefs declares the settings of the HTTP surface.
func httpSettingDefs() []settings.Def {
	return []settings.Def{
		{Key: settingMetricsToken, Secret: true,
			Help: "bearer token that lets a Prometheus server that is not on this machine read /metrics (loopback needs none)"},
	}
}

// metricsSource gives the metrics the queue's live figures; it reads
// through Main so it can be made before the operations are.
type metricsSource struct{ m *Main }

func (s metricsSource) QueueDepth(ctx context.Context) (map[string]int, error) {
	return s.m.ops.QueueDepth(ctx)
}

func (s metricsSource) Paces() []queue.GatewayPace { return s.m.loop.Paces() }

// whatsappAdmin lets the admin page pair, watch and unlink the session.
type whatsappAdmin struct {
	s *session.Session
	p *session.Pairer
}

var _ webadmin.WhatsApp = whatsappAdmin{}

func (w whatsappAdmin) Status(ctx context.Context) (webadmin.WhatsAppStatus, error) {
	st, err := w.s.Status(ctx)
	if err != nil {
		return webadmin.WhatsAppStatus{}, err
	}
	name := st.BusinessName
	if name == "" {
		name = st.PushName
	}
	return webadmin.WhatsAppStatus{Linked: st.Linked, Connected: st.Connected, Phone: st.Phone, Name: name}, nil
}

func (w whatsappAdmin) StartPairing(phone string) error { return w.p.Start(strings.TrimSpace(phone)) }

func (w whatsappAdmin) Pairing() webadmin.PairingView {
	v := w.p.View()
	return webadmin.PairingView{State: v.State, QRSerial: v.QRSerial, Code: v.Code, Phone: v.Phone, Err: strings.TrimSpace(v.Err + " " + v.Note)}
}

func (w whatsappAdmin) QRPNG(size int) ([]byte, error) { return w.p.QRPNG(size) }

func (w whatsappAdmin) CancelPairing() { w.p.Cancel() }

func (w whatsappAdmin) Logout(ctx context.Context) error { return w.s.Logout(ctx) }

// adminURL is where the admin page is reached: the public base URL when
// one is set, else this listener's address.
func adminURL(ctx context.Context, r *settings.Reader, ln net.Listener) string {
	if u := strings.TrimRight(r.String(ctx, library.SettingPublicBaseURL), "/"); u != "" {
		return u
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return "http://" + ln.Addr().String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// httpLimits bound what one client may hold of the HTTP server.
type httpLimits struct {
	// ReadHeader and Read bound reading a request's headers and whole
	// body: a slow or stalled upload is cut off.
	ReadHeader, Read time.Duration
	// Write bounds writing a response (the largest is a video preview).
	Write time.Duration
	// Idle closes a keep-alive connection that sends nothing.
	Idle time.Duration
	// MaxHeaderBytes caps a request's headers.
	MaxHeaderBytes int
}

func defaultHTTPLimits() httpLimits {
	return httpLimits{ReadHeader: 10 * time.Second, Read: 5 * time.Minute, Write: 5 * time.Minute,
		Idle: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// newHTTPServer serves h within l.
func newHTTPServer(h http.Handler, l httpLimits, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeader,
		ReadTimeout:       l.Read,
		WriteTimeout:      l.Write,
		IdleTimeout:       l.Idle,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
