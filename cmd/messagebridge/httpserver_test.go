package main

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The HTTP server lets go of clients that stall: a body that stops
// arriving, a keep-alive connection left idle, oversized headers.
func TestHTTPServerLetsGoOfStalledClients(t *testing.T) {
	t.Parallel()
	if l := defaultHTTPLimits(); l.ReadHeader <= 0 || l.Read <= 0 || l.Write <= 0 || l.Idle <= 0 || l.MaxHeaderBytes <= 0 {
		t.Fatalf("a limit is unset: %+v", l)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	limits := httpLimits{ReadHeader: 200 * time.Millisecond, Read: 400 * time.Millisecond, Write: time.Second,
		Idle: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10}
	srv := newHTTPServer(h, limits, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	addr := ln.Addr().String()

	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.ReadAll(c)
		var ne net.Error
		return err == nil || !(errors.As(err, &ne) && ne.Timeout())
	}

	// A 1 MB upload that stops after its first bytes.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n"+strings.Repeat("a", 100))
	if !closedWithin(c, 5*time.Second) {
		t.Fatal("a stalled upload kept its connection")
	}

	// A keep-alive connection that goes quiet after one request.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_, _ = io.WriteString(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !closedWithin(c2, 5*time.Second) {
		t.Fatal("an idle keep-alive connection was kept")
	}

	// Headers beyond the cap are refused.
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	_, _ = io.WriteString(c3, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("b", 64<<10)+"\r\n\r\n")
	res, err = http.ReadResponse(bufio.NewReader(c3), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KB of headers: %d, want 431", res.StatusCode)
	}
}
