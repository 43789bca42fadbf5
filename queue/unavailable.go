package queue

import (
	"errors"
	"time"
)

// ErrUnavailable marks a send that failed on our side before anything
// reached the provider: the settings (credentials) could not be read
// because the database is away and none had been read before. It is not
// the provider's failure, so it spends no attempt; the item waits a moment
// and is tried again. Wrap it: fmt.Errorf("%w: …", queue.ErrUnavailable).
var ErrUnavailable = errors.New("not sent: the settings could not be read")

// unavailableWait is how long an item waits after ErrUnavailable.
const unavailableWait = 5 * time.Second
