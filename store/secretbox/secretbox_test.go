package secretbox_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/store/secretbox"
)

func newBox(t *testing.T, fill byte) *secretbox.Box {
	t.Helper()
	b, err := secretbox.New(bytes.Repeat([]byte{fill}, secretbox.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	box := newBox(t, 1)
	sealed, err := box.Seal([]byte("hunter2-token"), []byte("setting:a"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "hunter2") {
		t.Fatalf("sealed value shows the plaintext: %q", sealed)
	}
	again, _ := box.Seal([]byte("hunter2-token"), []byte("setting:a"))
	if again == sealed {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	plain, err := box.Open(sealed, []byte("setting:a"))
	if err != nil || string(plain) != "hunter2-token" {
		t.Fatalf("open = %q, %v", plain, err)
	}

	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	for name, tc := range map[string]struct {
		box    *secretbox.Box
		sealed string
		aad    string
	}{
		"other key":      {newBox(t, 2), sealed, "setting:a"},
		"other aad":      {box, sealed, "setting:b"},
		"tampered":       {box, string(tampered), "setting:a"},
		"not sealed":     {box, "hunter2-token", "setting:a"},
		"truncated":      {box, sealed[:8], "setting:a"},
		"not base64 ext": {box, "v1:!!!", "setting:a"},
	} {
		if _, err := tc.box.Open(tc.sealed, []byte(tc.aad)); !errors.Is(err, secretbox.ErrDecrypt) {
			t.Errorf("%s: err = %v, want ErrDecrypt", name, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{
		hex.EncodeToString(key),
		" " + hex.EncodeToString(key) + "\n",
		base64.StdEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
	} {
		got, err := secretbox.ParseKey(s)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(key[:16]), strings.Repeat("z", 64)} {
		_, err := secretbox.ParseKey(s)
		if err == nil {
			t.Errorf("ParseKey(%q) accepted a bad key", s)
			continue
		}
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error repeats the key: %v", err)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	k1, created, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != secretbox.KeySize {
		t.Fatalf("first load: key %d bytes, created %v, err %v", len(k1), created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := secretbox.LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: created %v, same key %v, err %v", created, bytes.Equal(k1, k2), err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secretbox.LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
