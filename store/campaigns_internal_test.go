package store

import (
	"reflect"
	"testing"
)

func TestFillParams(t *testing.T) {
	t.Parallel()
	got := fillParams([]string{"{name}", "{City}", "{city}", "Diwali", "{missing}"}, "Asha", map[string]string{"City": "Pune"})
	want := []string{"Asha", "Pune", "Pune", "Diwali", ""}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fillParams = %q, want %q", got, want)
	}
}
