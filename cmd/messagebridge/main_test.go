package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/storetest"
)

// env builds a getenv from pairs, with the data dir in a fresh temp dir and
// the HTTP listener on a free port unless the pairs say otherwise.
func env(t *testing.T, pairs ...string) func(string) string {
	t.Helper()
	m := map[string]string{"MB_DATA_DIR": filepath.Join(t.TempDir(), "data"), "MB_HTTP_ADDR": "127.0.0.1:0"}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return func(k string) string { return m[k] }
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checkOneLineFailure asserts a failed run: the exit status, and a stderr
// that is exactly one "messagebridge: ..." line containing want, with no
// stack trace.
func checkOneLineFailure(t *testing.T, code, wantCode int, stderr, want string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit status %d, want %d (stderr %q)", code, wantCode, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "messagebridge: ") || !strings.Contains(last, want) {
		t.Errorf("last stderr line %q, want a messagebridge: line containing %q", last, want)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Errorf("stderr holds a stack trace:\n%s", stderr)
	}
	for _, l := range lines[:len(lines)-1] {
		if strings.HasPrefix(l, "messagebridge: ") {
			t.Errorf("more than one error line: %q", stderr)
		}
	}
}

func TestBadConfigurationExitsWithOneLine(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		want     string
	}{
		{"unknown database scheme", nil, []string{"MB_DATABASE_URL", "postgres://u:pw@h/db"}, 1, `unknown database scheme "postgres"`},
		{"unreachable MySQL", nil, []string{"MB_DATABASE_URL", "mysql://root:pw@127.0.0.1:1/mb"}, 1, "cannot connect to mysql 127.0.0.1:1/mb"},
		{"unreachable MySQL on migrate", []string{"migrate"}, []string{"MB_DATABASE_URL", "mysql://root@127.0.0.1:1/mb"}, 1, "cannot connect"},
		{"unwritable data dir", nil, []string{"MB_DATA_DIR", filepath.Join(notADir, "data")}, 1, "data dir"},
		{"malformed URL", nil, []string{"MB_DATABASE_URL", "mysql://root:p%zz@h/db"}, 1, "database URL is malformed"},
		{"MySQL URL without database", nil, []string{"MB_DATABASE_URL", "mysql://root@127.0.0.1:3306"}, 1, "must name one database"},
		{"bad secret key", nil, []string{"MB_SECRET_KEY", "too-short"}, 1, "MB_SECRET_KEY"},
		{"bad log level", nil, []string{"MB_LOG_LEVEL", "loud"}, 1, "MB_LOG_LEVEL"},
		{"bad listen address", nil, []string{"MB_HTTP_ADDR", "127.0.0.1:99999"}, 1, "listen on 127.0.0.1:99999"},
		{"unknown command", []string{"frobnicate"}, nil, 2, `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "-no-such-flag"}, nil, 2, "no-such-flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr syncBuffer
			code := run(context.Background(), tc.args, env(t, tc.env...), strings.NewReader(""), &stdout, &stderr)
			checkOneLineFailure(t, code, tc.wantCode, stderr.String(), tc.want)
			if strings.Contains(stderr.String(), ":pw@") || strings.Contains(stderr.String(), "%zz") {
				t.Errorf("stderr shows the password: %q", stderr.String())
			}
		})
	}
}

// serveUntilStarted runs serve in the background until its log says it
// started; stop cancels it and returns its exit status.
func serveUntilStarted(t *testing.T, getenv func(string) string) (stop func() int, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, getenv, strings.NewReader(""), &syncBuffer{}, logs) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(logs.String(), "messagebridge started") {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited with %d before starting: %s", code, logs)
		case <-deadline:
			cancel()
			t.Fatalf("serve did not start in 10s: %s", logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return func() int { cancel(); return <-done }, logs
}

func TestWrongSecretKeyRefusesToStart(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	keyA := strings.Repeat("a1", 32)
	keyB := strings.Repeat("b2", 32)
	stop, logs := serveUntilStarted(t, env(t, "MB_DATA_DIR", dataDir, "MB_SECRET_KEY", keyA))
	if code := stop(); code != 0 {
		t.Fatalf("first start exited %d", code)
	}
	if strings.Contains(logs.String(), keyA) {
		t.Fatal("the secret key appears in the log")
	}

	var stderr syncBuffer
	code := run(context.Background(), nil, env(t, "MB_DATA_DIR", dataDir, "MB_SECRET_KEY", keyB), strings.NewReader(""), &syncBuffer{}, &stderr)
	checkOneLineFailure(t, code, 1, stderr.String(), "secret key does not match")
	if !strings.Contains(stderr.String(), "MB_SECRET_KEY") || strings.Contains(stderr.String(), keyB) {
		t.Errorf("message should name MB_SECRET_KEY and not show the key: %q", stderr.String())
	}

	// The right key still works: nothing was reset.
	stop, _ = serveUntilStarted(t, env(t, "MB_DATA_DIR", dataDir, "MB_SECRET_KEY", keyA))
	if code := stop(); code != 0 {
		t.Fatalf("restart with the right key exited %d", code)
	}
}

func TestGeneratedKeyFileIsReused(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	for i := range 2 {
		stop, logs := serveUntilStarted(t, env(t, "MB_DATA_DIR", dataDir))
		if code := stop(); code != 0 {
			t.Fatalf("start %d exited %d", i, code)
		}
		if generated := strings.Contains(logs.String(), "generated a new secret key"); generated != (i == 0) {
			t.Fatalf("start %d: generated a key = %v", i, generated)
		}
	}
	st, err := os.Stat(filepath.Join(dataDir, keyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
}

func TestServeRefusesOldSchemaWhenAutoMigrateIsOff(t *testing.T) {
	t.Parallel()
	var stderr syncBuffer
	code := run(context.Background(), nil, env(t, "MB_AUTO_MIGRATE", "false"), strings.NewReader(""), &syncBuffer{}, &stderr)
	checkOneLineFailure(t, code, 1, stderr.String(), "messagebridge migrate")
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, getenv func(string) string) {
		var out, errs syncBuffer
		if code := run(context.Background(), []string{"migrate"}, getenv, strings.NewReader(""), &out, &errs); code != 0 {
			t.Fatalf("first migrate exited %d: %s", code, errs.String())
		}
		if !regexp.MustCompile(`applied 00001_\w+\.sql \(version 1\)`).MatchString(out.String()) {
			t.Fatalf("first migrate printed %q, want the applied migration", out.String())
		}
		out = syncBuffer{}
		if code := run(context.Background(), []string{"migrate"}, getenv, strings.NewReader(""), &out, &errs); code != 0 {
			t.Fatalf("second migrate exited %d: %s", code, errs.String())
		}
		if !strings.Contains(out.String(), "nothing to apply") || strings.Contains(out.String(), "applied") {
			t.Fatalf("second migrate printed %q, want a no-op that says so", out.String())
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		check(t, env(t))
	})
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		check(t, env(t, "MB_DATABASE_URL", storetest.FreshMySQLDatabase(t)))
	})
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	if code := run(context.Background(), []string{"version"}, env(t), strings.NewReader(""), &out, &syncBuffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(out.String(), "messagebridge "+version) {
		t.Fatalf("version printed %q", out.String())
	}
}

// The real binary, started with no configuration in an empty directory,
// creates ./data, answers /healthz within 10 s and exits 0 within 5 s of
// SIGINT.
func TestBinaryStartsOnEmbeddedDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "messagebridge")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = work
	// Only what a fresh shell has, plus a free port instead of 8080.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "MB_HTTP_ADDR=127.0.0.1:0"}
	var logs syncBuffer
	cmd.Stderr = &logs
	cmd.Stdout = &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	addrRE := regexp.MustCompile(`http_addr=(127\.0\.0\.1:\d+)`)
	var url string
	for url == "" {
		if m := addrRE.FindStringSubmatch(logs.String()); m != nil {
			url = "http://" + m[1] + "/healthz"
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("exited early: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no listen address logged within 10s:\n%s", logs.String())
		}
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("healthy after %v, want within 10s", took)
	}
	for _, f := range []string{"data/" + "messagebridge.db", "data/" + keyFileName} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Errorf("%s not created: %v", f, err)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5s after SIGINT:\n%s", logs.String())
	}
}

// serve runs the delivery loop on the dry-run gateway: an enqueued item is
// sent and then read by simulated receipts.
func TestServeDeliversThroughDryRun(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	stop, _ := serveUntilStarted(t, env(t, "MB_DATA_DIR", dataDir))
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("serve exited %d", code)
		}
	}()
	db := storetest.Open(t, store.Config{DataDir: dataDir}, storetest.Options{NoMigrate: true})
	ctx := context.Background()
	ids, err := db.EnqueueQueueItems(ctx, []store.NewQueueItem{{Phone: "+919876543210", MaxAttempts: 3,
		Content: store.QueueContent{Kind: store.ContentText, Body: "Your order is ready"}, CreatedBy: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		it, err := db.QueueItem(ctx, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		if it.Status == store.StatusRead {
			if it.SentGateway != "dryrun" || it.ProviderMessageID == "" {
				t.Fatalf("read item: %+v", it)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("item still %s after 15s", it.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	hb, err := db.Heartbeats(ctx, time.Now().Add(-time.Minute))
	if err != nil || len(hb) != 1 {
		t.Fatalf("heartbeats = %+v, %v; want the running processor", hb, err)
	}
}

// `messagebridge chat` on the embedded default: typing a number queues it,
// the dry-run gateway sends it, and /status then shows it sent.
func TestChatOnEmbeddedDefault(t *testing.T) {
	t.Parallel()
	inR, inW := io.Pipe()
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"chat"}, env(t), inR, out, &syncBuffer{})
	}()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the chat within 15s:\n%s", what, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("> ")
	fmt.Fprintln(inW, "98765 43210")
	waitFor("bot: Queued #1 for +919876543210 via dryrun.")
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "Sent 1 ") {
		if time.Now().After(deadline) {
			t.Fatalf("/status never showed the message sent:\n%s", out.String())
		}
		fmt.Fprintln(inW, "/status")
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "bot: Queued 0 · Sending 0 · Sent 1 (delivered 0 · read 0) · Failed 0 · Cancelled 0") {
		t.Errorf("status after the send:\n%s", out.String())
	}
	fmt.Fprintln(inW, "/quit")
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("chat exited %d:\n%s", code, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chat did not exit after /quit")
	}
}

// `whatsapp status` on a fresh data dir says nothing is linked, without
// contacting WhatsApp; a wrong subcommand is a usage error.
func TestWhatsAppStatusWithoutAccount(t *testing.T) {
	t.Parallel()
	var out, errs syncBuffer
	if code := run(context.Background(), []string{"whatsapp", "status"}, env(t), strings.NewReader(""), &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "No WhatsApp account is linked") {
		t.Fatalf("status printed %q", out.String())
	}
	var e2 syncBuffer
	code := run(context.Background(), []string{"whatsapp", "dance"}, env(t), strings.NewReader(""), &syncBuffer{}, &e2)
	checkOneLineFailure(t, code, 2, e2.String(), `unknown whatsapp command "dance"`)
}

// Flags win over MB_* variables, which win over defaults; a flag for a
// runtime setting stands for its variable when the settings are seeded.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	getenv := env(t, "MB_IMPORT_MAX_MB", "5", "MB_WORKERS", "3", "MB_DB_MAX_CONNS", "9")
	cfg, err := parseConfig("test", []string{"-workers", "7", "-db-max-conns", "11"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DBMaxConns != 11 || cfg.getenv("MB_WORKERS") != "7" || cfg.getenv("MB_IMPORT_MAX_MB") != "5" || cfg.HTTPAddr != "127.0.0.1:0" {
		t.Fatalf("config %+v, MB_WORKERS %q", cfg, cfg.getenv("MB_WORKERS"))
	}
	if _, err := parseConfig("test", nil, env(t, "MB_DB_MAX_CONNS", "lots"), io.Discard); err == nil || !strings.Contains(err.Error(), "MB_DB_MAX_CONNS") {
		t.Fatalf("bad MB_DB_MAX_CONNS: %v", err)
	}
}
