package commands

import (
	"fmt"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

// tallyText words message counts the one way /status, /queue and
// /campaign stats show them: every message in one of queued, sending,
// sent, failed and cancelled; sent includes delivered and read (see
// ops.Tally).
func tallyText(t ops.Tally) string {
	n := func(v int64) string { return words.Number(int(v)) }
	return fmt.Sprintf("Queued %s · Sending %s · Sent %s (delivered %s · read %s) · Failed %s · Cancelled %s",
		n(t.Queued), n(t.Sending), n(t.Sent), n(t.Delivered), n(t.Read), n(t.Failed), n(t.Cancelled))
}
