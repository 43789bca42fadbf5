package commands

import (
	"fmt"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

// tallyText words message counts the one way /status, /queue and
// /campaign stats show them: every message in one of queued, sending,
// sent, failed, cancelled and (when there are any) opted out; sent
// includes delivered and read (see ops.Tally).
func tallyText(t ops.Tally) string {
	n := func(v int64) string { return words.Number(int(v)) }
	s := fmt.Sprintf("Queued %s · Sending %s · Sent %s (delivered %s · read %s) · Failed %s · Cancelled %s",
		n(t.Queued), n(t.Sending), n(t.Sent), n(t.Delivered), n(t.Read), n(t.Failed), n(t.Cancelled))
	if t.OptedOut > 0 {
		s += " · Opted out " + n(t.OptedOut)
	}
	return s
}
