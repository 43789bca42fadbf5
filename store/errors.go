package store

import "errors"

var (
	// ErrNotFound means the requested row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConfig means the database configuration itself is wrong.
	ErrConfig = errors.New("invalid database configuration")
	// ErrUnavailable means the database did not answer.
	ErrUnavailable = errors.New("database unavailable")
	// ErrSecretKeyMismatch means secrets in the database were sealed with
	// another key than the one configured.
	ErrSecretKeyMismatch = errors.New("the secret key does not match the one this database's secrets were encrypted with")
	// ErrNoSecretKey means a secret setting was used without a key configured.
	ErrNoSecretKey = errors.New("no secret key configured")
	// ErrSchemaBehind means migrations are pending and applying them at start
	// is switched off.
	ErrSchemaBehind = errors.New("database schema is older than this binary")
)
