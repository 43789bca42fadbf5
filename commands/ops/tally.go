package ops

// Tally counts messages the one way chat replies and the admin page show
// them. Each message is in exactly one of Queued, Sending, Sent, Failed,
// Cancelled and OptedOut, so those add up to Total. Sent counts every message the
// provider took, including those delivered and read since; Delivered
// includes read, and Read is part of Delivered. So a message that was read
// counts as sent, delivered and read, never as "sent 0 … read 1".
type Tally struct {
	Total     int64
	Queued    int64
	Sending   int64 // being handed to the provider (status processing)
	Sent      int64 // sent, delivered and read
	Delivered int64 // delivered and read
	Read      int64
	Failed    int64
	Cancelled int64
	// OptedOut counts campaign messages never sent because the number
	// opted out; they are neither sent, failed nor cancelled.
	OptedOut int64
}

// TallyOf tallies counts of messages by status.
func TallyOf(counts map[QueueStatus]int64) Tally {
	t := Tally{
		Queued:    counts[StatusQueued],
		Sending:   counts[StatusProcessing],
		Sent:      counts[StatusSent] + counts[StatusDelivered] + counts[StatusRead],
		Delivered: counts[StatusDelivered] + counts[StatusRead],
		Read:      counts[StatusRead],
		Failed:    counts[StatusFailed],
		Cancelled: counts[StatusCancelled],
		OptedOut:  counts[StatusOptedOut],
	}
	t.Total = t.Queued + t.Sending + t.Sent + t.Failed + t.Cancelled + t.OptedOut
	return t
}

// CampaignTally tallies a campaign's queued messages from its stats (which
// count the same way); contacts not queued yet (Pending) are not messages
// and are left out.
func CampaignTally(s CampaignStats) Tally {
	t := Tally{Queued: s.Queued, Sending: s.Processing, Sent: s.Sent, Delivered: s.Delivered, Read: s.Read, Failed: s.Failed, Cancelled: s.Cancelled, OptedOut: s.OptedOut}
	t.Total = t.Queued + t.Sending + t.Sent + t.Failed + t.Cancelled + t.OptedOut
	return t
}
