package words

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello", 10, "hello"},
		{"hello!", 5, "hell…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"hello", -3, ""},
		{"", 3, ""},
		{"नमस्ते दुनिया", 4, "नमस…"},
		{"नमस्ते", 6, "नमस्ते"}, // six characters, eighteen bytes: not cut
		{"😀😀😀", 2, "😀…"},
		{"ab\xffcd", 10, "ab\uFFFDcd"},
		{"ab\xff\xfecdef", 4, "ab\uFFFD…"},
	} {
		got := Cut(tc.s, tc.n)
		if got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// Whatever the input and the limit, the result is valid UTF-8 of at most
// n characters, a prefix of the (valid) input, and ends in "…" exactly
// when it was cut.
func TestCutBounds(t *testing.T) {
	t.Parallel()
	inputs := []string{strings.Repeat("ab ", 300), strings.Repeat("é", 70), strings.Repeat("😀x", 40), "\xff\xfe\xfd" + strings.Repeat("z", 20)}
	for _, s := range inputs {
		valid := strings.ToValidUTF8(s, "\uFFFD")
		for n := 1; n < 120; n++ {
			got := Cut(s, n)
			if !utf8.ValidString(got) {
				t.Fatalf("Cut(%q, %d) = %q is not valid UTF-8", s, n, got)
			}
			if c := utf8.RuneCountInString(got); c > n {
				t.Fatalf("Cut(%.20q…, %d) has %d characters", s, n, c)
			}
			cut := utf8.RuneCountInString(valid) > n
			if cut != strings.HasSuffix(got, Ellipsis) {
				t.Fatalf("Cut(%.20q…, %d) = %q: cut %v, but the ending says otherwise", s, n, got, cut)
			}
			if !strings.HasPrefix(valid, strings.TrimSuffix(got, Ellipsis)) {
				t.Fatalf("Cut(%.20q…, %d) = %q is not a prefix of the input", s, n, got)
			}
		}
	}
}

func TestSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n     int64
		limit bool
		want  string
	}{
		{25 << 20, false, "25 MB"},
		{20 << 20, true, "20 MB"},
		{20<<20 + 1, false, "20.1 MB"},
		{20<<20 + 1, true, "20 MB"},
		{5<<20 - 1, true, "4.9 MB"},
		{5<<20 - 1, false, "5 MB"},
		{20<<20 + 300<<10, false, "20.3 MB"},
		{2000 << 20, true, "2,000 MB"},
		{1536, false, "1.5 KB"},
		{120 << 10, true, "120 KB"},
		{32, true, "32 bytes"},
		{1, false, "1 byte"},
		{0, false, "0 bytes"},
		{1023, false, "1,023 bytes"},
	} {
		got := Size(c.n)
		if c.limit {
			got = SizeLimit(c.n)
		}
		if got != c.want {
			t.Errorf("size(%d, limit %v) = %q, want %q", c.n, c.limit, got, c.want)
		}
	}
}
