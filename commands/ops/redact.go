package ops

import (
	"context"

	"github.com/messagebridge/messagebridge/queue"
)

// shown makes provider text read back from the database (an item's last
// error, a gateway's blocked reason) safe to show: the current secret
// values and credential shapes are redacted again, since a row may have
// been written by an older release or before a secret was set.
func shown(text string, secrets []string) string {
	if text == "" {
		return ""
	}
	return queue.SanitizeError(text, secrets...)
}

// secrets are the current values of the secret settings.
func (s *Service) secrets(ctx context.Context) []string {
	return s.settings.Secrets(ctx)
}

// shownItems redacts the last errors of items in place.
func (s *Service) shownItems(ctx context.Context, items []QueueItem) {
	var secrets []string
	for i := range items {
		if items[i].LastError == "" {
			continue
		}
		if secrets == nil {
			secrets = s.secrets(ctx)
		}
		items[i].LastError = shown(items[i].LastError, secrets)
	}
}
