package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// IntakeRequest is a staff member's send: raw numbers as typed, an
// optional saved message by name or a file to send, and Force to send again
// within the dedupe window.
type IntakeRequest struct {
	Phones       []string
	SavedMessage string
	Force        bool
	// Attachment is an image or video sent with the numbers: it is checked,
	// kept in the media store (unnamed, outside the library) and sent with
	// Caption instead of the staff message.
	Attachment *Upload
	Caption    string
}

// Queued is one number queued by intake.
type Queued struct {
	ID    int64
	Phone string
}

// Duplicate is a number queued within the dedupe window already.
type Duplicate struct {
	Phone  string
	ID     int64
	Status QueueStatus
}

// Invalid is a number intake refused, with the reason.
type Invalid struct {
	Raw    string
	Reason string
}

// IntakeResult says what became of each number.
type IntakeResult struct {
	// Gateway is the active gateway the items go out through.
	Gateway    string
	Queued     []Queued
	Duplicates []Duplicate
	Invalid    []Invalid
	// Paused is set when the gateway is paused (the provider refused the
	// sending account): what was queued waits until an admin fixes the
	// gateway or switches to another. PauseReason says why in plain words.
	Paused *GatewayState
}

// PauseReason says in plain words why the provider refused a gateway, the
// way staff read it (ExplainError): no error class, code or provider text.
func PauseReason(st GatewayState) string {
	return ExplainError(st.Gateway, queue.SenderBlocked.String(), st.BlockedReason).Plain
}

// Intake normalizes each number, drops repeats within the message and
// numbers queued within the dedupe window (unless forced), and queues the
// rest at once, ahead of campaign messages, with the staff message: the
// attachment, or the saved message named, or the one intake.message names,
// or intake.text, or the gateway's staff flow on a gateway without plain
// text. An attachment is stored only when some number is queued.
func (s *Service) Intake(ctx context.Context, a Actor, req IntakeRequest) (IntakeResult, error) {
	if err := s.require(a, RoleStaff, "sending"); err != nil {
		return IntakeResult{}, err
	}
	if len(req.Phones) == 0 {
		return IntakeResult{}, Errorf(EINVALID, "Which number? Usage: /send <phone> [saved message], e.g. /send %s", s.PhoneExample(ctx))
	}
	if limit := s.MaxNumbers(ctx); len(req.Phones) > limit {
		return IntakeResult{}, Errorf(EINVALID, "Nothing was queued: this message has %s, and one message may hold at most %s (setting %s). Send them in smaller groups, or ask an operator to send a long list as a campaign.",
			words.Count(len(req.Phones), "number"), words.Number(limit), SettingMaxNumbers)
	}
	res := IntakeResult{Gateway: s.ActiveGateway(ctx)}
	var content store.QueueContent
	g, _ := s.gateway(res.Gateway)
	if req.Attachment != nil {
		if req.SavedMessage != "" {
			return IntakeResult{}, Errorf(EINVALID, "Send either a file or a saved message name with the number, not both.")
		}
		if !g.Caps.Media && g.Name != "" {
			return IntakeResult{}, Errorf(ECONFLICT, "Nothing was queued: %s cannot send images or videos.", g.Name)
		}
	} else {
		var err error
		if content, err = s.intakeContent(ctx, res.Gateway, req.SavedMessage); err != nil {
			return IntakeResult{}, err
		}
	}
	policy := s.PhonePolicy(ctx)
	since := s.cfg.Now().Add(-s.DedupeWindow(ctx))
	maxAttempts := s.settings.Int(ctx, queue.SettingMaxAttempts)
	var items []store.NewQueueItem
	seen := map[string]bool{}
	for _, raw := range req.Phones {
		e164, err := phone.Normalize(raw, policy)
		if err != nil {
			var pe *phone.Error
			if errors.As(err, &pe) {
				res.Invalid = append(res.Invalid, Invalid{Raw: raw, Reason: pe.Reason})
				continue
			}
			return IntakeResult{}, err
		}
		if seen[e164] {
			continue
		}
		seen[e164] = true
		if !req.Force {
			prev, err := s.st.RecentItemForPhone(ctx, e164, since)
			if err == nil {
				res.Duplicates = append(res.Duplicates, Duplicate{Phone: e164, ID: prev.ID, Status: prev.Status})
				continue
			}
			if !errors.Is(err, store.ErrNotFound) {
				return IntakeResult{}, err
			}
		}
		items = append(items, staffItem(a, e164, content, maxAttempts))
	}
	if len(items) == 0 {
		s.notePause(ctx, &res)
		return res, nil
	}
	var ids []int64
	var err error
	if req.Attachment != nil {
		ids, err = s.enqueueAttachment(ctx, a, g, *req.Attachment, strings.TrimSpace(req.Caption), items)
		if err != nil {
			return IntakeResult{}, err
		}
	} else if ids, err = s.st.EnqueueQueueItems(ctx, items); err != nil {
		return IntakeResult{}, fmt.Errorf("intake: %w", err)
	}
	s.cfg.Notify()
	for i, id := range ids {
		res.Queued = append(res.Queued, Queued{ID: id, Phone: items[i].Phone})
	}
	s.notePause(ctx, &res)
	return res, nil
}

// notePause sets res.Paused when res's gateway is paused and some number
// waits on it: queued now, or already queued and not yet sent. Not
// knowing is logged, not failed: the numbers are queued either way.
func (s *Service) notePause(ctx context.Context, res *IntakeResult) {
	waiting := len(res.Queued) > 0
	for _, d := range res.Duplicates {
		waiting = waiting || d.Status == store.StatusQueued
	}
	if !waiting {
		return
	}
	st, err := s.Gateways(ctx)
	if err != nil {
		s.log.Warn("intake: could not read whether the gateway is paused", "gateway", res.Gateway, "err", err)
		return
	}
	for _, p := range st.Paused {
		if p.Gateway == res.Gateway {
			res.Paused = &p
		}
	}
}

// intakeContent is what a staff send carries on gateway.
func (s *Service) intakeContent(ctx context.Context, gateway, savedName string) (store.QueueContent, error) {
	g, _ := s.gateway(gateway)
	fromSetting := false
	if savedName == "" {
		savedName = strings.TrimSpace(s.settings.String(ctx, SettingIntakeMessage))
		fromSetting = savedName != ""
	}
	if savedName != "" {
		m, err := s.st.SavedMessageByName(ctx, savedName)
		if errors.Is(err, store.ErrNotFound) {
			if fromSetting {
				return store.QueueContent{}, Errorf(ECONFLICT, "Nothing was queued: the staff message %q (setting %s) does not exist. Ask an operator.", Echo(savedName), SettingIntakeMessage)
			}
			return store.QueueContent{}, Errorf(ENOTFOUND, "There is no saved message called %q.", Echo(savedName))
		}
		if err != nil {
			return store.QueueContent{}, err
		}
		if !m.Usable() {
			if fromSetting {
				return store.QueueContent{}, Errorf(ECONFLICT, "Nothing was queued: the staff message %q (setting %s) is %s. Ask an operator to restore it or change %s.",
					m.Name, SettingIntakeMessage, m.State, SettingIntakeMessage)
			}
			return store.QueueContent{}, unusableMessage(m)
		}
		if ok, why := g.Caps.CanSend(queue.Kind(m.Kind)); !ok && g.Name != "" {
			return store.QueueContent{}, Errorf(ECONFLICT, "The saved message %q is a %s, and %s cannot send it: %s.", m.Name, m.Kind, gateway, why)
		}
		return store.QueueContent{Kind: store.ContentSavedMessage, SavedMessageID: m.ID}, nil
	}
	if g.Name != "" && !g.Caps.Text {
		if c, ok := s.staffFlow(ctx, g); ok {
			return c, nil
		}
		return store.QueueContent{}, Errorf(ECONFLICT, "Nothing was queued: %s. Ask an admin.", s.staffProblem(ctx, g))
	}
	// intake.text has a default and cannot be emptied: never blank.
	return store.QueueContent{Kind: store.ContentText, Body: s.settings.String(ctx, SettingIntakeText)}, nil
}

// staffItem is a staff send of content to phone (E.164): ahead of campaign
// messages, through the active gateway.
func staffItem(a Actor, phone string, content store.QueueContent, maxAttempts int) store.NewQueueItem {
	return store.NewQueueItem{Phone: phone, Content: content, Priority: store.PriorityIntake,
		MaxAttempts: maxAttempts, CreatedBy: a.Identity}
}

// staffFlow is the flow staff messages go out as on g, a gateway without
// plain text; false when g has none configured.
func (s *Service) staffFlow(ctx context.Context, g Gateway) (store.QueueContent, bool) {
	if g.StaffFlowSetting == "" {
		return store.QueueContent{}, false
	}
	flow := s.settings.String(ctx, g.StaffFlowSetting)
	if flow == "" {
		return store.QueueContent{}, false
	}
	return store.QueueContent{Kind: store.ContentFlow, FlowID: flow}, true
}

// unusableMessage says why an archived or deleted saved message cannot be
// sent, and what to do.
func unusableMessage(m store.SavedMessage) error {
	if m.State == store.SavedArchived {
		return Errorf(ECONFLICT, "The saved message %q is archived; /message restore %s brings it back.", m.Name, quoteName(m.Name))
	}
	return Errorf(ECONFLICT, "The saved message %q was deleted; save a new one with that name first.", m.Name)
}
