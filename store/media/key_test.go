package media_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/messagebridge/messagebridge/store/media"
)

func TestKey(t *testing.T) {
	hex := "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	low := strings.ToLower(hex)
	for _, tc := range []struct {
		hex, ext, want string
	}{
		{hex, "jpg", "sha256/ab/cd/" + low + ".jpg"},
		{low, ".JPG", "sha256/ab/cd/" + low + ".jpg"},
		{low, "mp4", "sha256/ab/cd/" + low + ".mp4"},
		{low, "", "sha256/ab/cd/" + low},
		{low[:63], "jpg", ""},      // too short
		{low + "0", "jpg", ""},     // too long
		{"g" + low[1:], "jpg", ""}, // not hex
		{low, "../x", ""},          // path in the extension
		{low, "tar.gz", ""},        // dot inside the extension
		{low, "a/b", ""},           // slash
		{low, "j pg", ""},          // space
		{low, strings.Repeat("x", 17), ""},
	} {
		if got := media.Key(tc.hex, tc.ext); got != tc.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tc.hex, tc.ext, got, tc.want)
		}
		if tc.want != "" {
			if err := media.CheckKey(tc.want); err != nil {
				t.Errorf("CheckKey(Key(...)) = %v", err)
			}
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, key := range []string{
		"a",
		"sha256/ab/cd/x.jpg",
		"uploads/2024/Photo (1).JPG",
		"ünïcödé/名前.png",
		"a/b.c/d..e",
		strings.Repeat("k", media.MaxKeyLen),
	} {
		if err := media.CheckKey(key); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range badKeys {
		if err := media.CheckKey(key); !errors.Is(err, media.ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}
