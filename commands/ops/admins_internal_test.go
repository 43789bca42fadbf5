package ops

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The dummy hash that unknown usernames are checked against costs what a
// real one does; a malformed one would fail at once and give them away.
func TestDummyHashCostsLikeARealOne(t *testing.T) {
	t.Parallel()
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil {
		t.Fatalf("dummy hash is not a bcrypt hash: %v", err)
	}
	if cost != bcryptCost {
		t.Fatalf("dummy hash cost %d, new hashes cost %d", cost, bcryptCost)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte("0123456789")); err != bcrypt.ErrMismatchedHashAndPassword {
		t.Fatalf("comparing with the dummy hash: %v, want a plain mismatch", err)
	}
}
