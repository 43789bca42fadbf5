package main

import (
	"context"
	"errors"
	"io"
)

// benchPacing measures the delivery loop against a provider that accepts a
// fixed number of sends per second (to be written).
func benchPacing(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return errors.New("bench pacing: not built yet")
}
