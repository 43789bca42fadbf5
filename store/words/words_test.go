package words

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "message", "0 messages"},
		{1, "message", "1 message"},
		{2, "message", "2 messages"},
		{1, "person", "1 person"},
		{5, "person", "5 people"},
		{2, "address", "2 addresses"},
		{3, "entry", "3 entries"},
		{2, "day", "2 days"},
		{1234567, "row", "1,234,567 rows"},
		{-1, "attempt", "-1 attempt"},
		{2, "batch", "2 batches"},
	} {
		if got := Count(tc.n, tc.noun); got != tc.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c"}, "a, b and c"},
	} {
		if got := List(tc.in); got != tc.want {
			t.Errorf("List(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
