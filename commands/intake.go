package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/bot"
	"github.com/messagebridge/messagebridge/store"
)

// send queues a message to each phone number in the command: staff intake.
// Valid numbers are queued at once with intake priority; each invalid one is
// explained; a number queued within the dedupe window is not queued again
// unless forced.
func (r *Router) send(ctx context.Context, c call) ([]bot.Reply, error) {
	var phones []string
	messageName := ""
	for _, a := range c.cmd.Args {
		if name, ok := strings.CutPrefix(a, "message="); ok {
			messageName = name
			continue
		}
		phones = append(phones, a)
	}
	if len(phones) == 0 {
		return nil, userErrorf("Which number? Usage: /send <phone> [saved message], e.g. /send %s", PhoneExample(r.region(ctx)))
	}
	content, err := r.intakeContent(ctx, messageName)
	if err != nil {
		return nil, err
	}
	policy := r.phonePolicy(ctx)
	gateway := r.activeGateway(ctx)

	var lines []string
	var items []store.NewQueueItem
	var itemPhones []string
	seen := map[string]bool{}
	for _, raw := range phones {
		e164, err := NormalizePhone(raw, policy)
		if err != nil {
			var pe *PhoneError
			if errors.As(err, &pe) {
				lines = append(lines, fmt.Sprintf("✗ %s: %s", raw, pe.Reason))
				continue
			}
			return nil, err
		}
		if seen[e164] {
			continue
		}
		seen[e164] = true
		if !c.cmd.Force {
			prev, err := r.store.RecentItemForPhone(ctx, e164, r.cfg.Now().Add(-r.cfg.DedupeWindow))
			if err == nil {
				lines = append(lines, fmt.Sprintf("• %s already queued as #%d (%s) — /send! %s to send again", e164, prev.ID, prev.Status, e164))
				continue
			}
			if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		items = append(items, store.NewQueueItem{
			Phone:       e164,
			Content:     content,
			Priority:    store.PriorityIntake,
			MaxAttempts: r.cfg.MaxAttempts,
			CreatedBy:   c.actor(),
		})
		itemPhones = append(itemPhones, e164)
	}
	if len(items) == 0 {
		if len(lines) > 0 && strings.HasPrefix(lines[0], "✗") {
			lines = append(lines, "Nothing queued. Accepted formats: "+PhoneExample(policy.Region))
		}
		return text(strings.Join(lines, "\n")), nil
	}
	ids, err := r.store.EnqueueQueueItems(ctx, items)
	if err != nil {
		return nil, err
	}
	r.cfg.Notify()
	if len(ids) == 1 && len(lines) == 0 {
		return text(fmt.Sprintf("Queued #%d for %s via %s.", ids[0], itemPhones[0], gateway)), nil
	}
	queued := make([]string, len(ids))
	for i, id := range ids {
		queued[i] = fmt.Sprintf("✓ #%d → %s", id, itemPhones[i])
	}
	return text(fmt.Sprintf("Queued %d via %s:\n%s", len(ids), gateway, strings.Join(append(queued, lines...), "\n"))), nil
}

// intakeContent is what intake sends: the named saved message, or the
// intake text from settings.
func (r *Router) intakeContent(ctx context.Context, savedName string) (store.QueueContent, error) {
	if savedName != "" {
		m, err := r.store.SavedMessageByName(ctx, savedName)
		if errors.Is(err, store.ErrNotFound) {
			return store.QueueContent{}, userErrorf("There is no saved message called %q.", savedName)
		}
		if err != nil {
			return store.QueueContent{}, err
		}
		return store.QueueContent{Kind: store.ContentSavedMessage, SavedMessageID: m.ID}, nil
	}
	body := r.cfg.IntakeText
	if s, err := r.store.Setting(ctx, store.SettingIntakeText); err == nil && strings.TrimSpace(s.Value) != "" {
		body = s.Value
	}
	return store.QueueContent{Kind: store.ContentText, Body: body}, nil
}
