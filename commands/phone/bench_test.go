package phone_test

import (
	"fmt"
	"testing"

	"github.com/messagebridge/messagebridge/commands/phone"
)

// BenchmarkNormalizePhone: the cost of one intake or import number.
func BenchmarkNormalizePhone(b *testing.B) {
	p := phone.Policy{Region: "IN"}
	for i := range b.N {
		if _, err := phone.Normalize(fmt.Sprintf("+91 %d", 9000000000+i%1000000), p); err != nil {
			b.Fatal(err)
		}
	}
}
