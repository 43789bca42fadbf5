package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = run(context.Background(), args, env(t), strings.NewReader(""), &out, &errs)
	return code, out.String(), errs.String()
}

func TestCommandLineHelpReadsRight(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCLI(t, "whatsapp")
	if code != 2 || strings.Contains(stderr, "usage: usage") || !strings.Contains(stderr, "whatsapp pair") {
		t.Errorf("whatsapp without a subcommand: %d %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "admin")
	if code != 2 || strings.Contains(stderr, "usage: usage") || !strings.Contains(stderr, "admin create") {
		t.Errorf("admin without a subcommand: %d %q", code, stderr)
	}
	if code, stdout, _ := runCLI(t, "admin", "-h"); code != 0 || !strings.Contains(stdout, "password <user>") {
		t.Errorf("admin -h: %d %q", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "whatsapp", "-h"); code != 0 || !strings.Contains(stdout, "logout") {
		t.Errorf("whatsapp -h: %d %q", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "version", "-h"); code != 0 || !strings.HasPrefix(stdout, "usage: messagebridge version") {
		t.Errorf("version -h printed %q (%d), want its usage", stdout, code)
	}
	if code, _, _ := runCLI(t, "version", "extra"); code != 2 {
		t.Errorf("version extra: %d, want 2", code)
	}
	if code, stdout, _ := runCLI(t, "settings", "-h"); code != 0 || !strings.HasPrefix(stdout, "usage: messagebridge settings") {
		t.Errorf("settings -h: %d %q", code, stdout)
	}
	code, _, stderr = runCLI(t, "chat", "-h")
	if code != 0 {
		t.Fatalf("chat -h: %d", code)
	}
	if strings.Contains(stderr, "-console-user messagebridge") {
		t.Errorf("chat -h takes a back-quoted phrase for the value's name:\n%s", stderr)
	}
	if strings.Contains(stderr, `default "")`) {
		t.Errorf("chat -h shows an empty default:\n%s", stderr)
	}
	if !strings.Contains(stderr, "api.telegram.org") {
		t.Errorf("chat -h does not say what an empty Telegram endpoint means:\n%s", stderr)
	}
}
