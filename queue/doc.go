// Package queue owns the life of a message: claiming due items with lock
// tokens, retries with backoff, stale-lock recovery and the delivery loop
// that hands items to the active gateway.
package queue
