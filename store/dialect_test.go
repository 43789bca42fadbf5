package store

import (
	"reflect"
	"strings"
	"testing"
)

// Every statement that differs by dialect is defined for both, with the same
// number of parameters, so a caller can pass the same arguments to either.
func TestDialectsDefineTheSameStatements(t *testing.T) {
	t.Parallel()
	lite, my := reflect.ValueOf(sqlFor(SQLite)), reflect.ValueOf(sqlFor(MySQL))
	if lite.NumField() == 0 {
		t.Fatal("dialectSQL has no statements")
	}
	for i := range lite.NumField() {
		name := lite.Type().Field(i).Name
		a, b := lite.Field(i).String(), my.Field(i).String()
		if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
			t.Errorf("%s: sqlite=%q mysql=%q; both dialects must define it", name, a, b)
			continue
		}
		if na, nb := strings.Count(a, "?"), strings.Count(b, "?"); na != nb {
			t.Errorf("%s: sqlite takes %d parameters, mysql %d", name, na, nb)
		}
	}
}
