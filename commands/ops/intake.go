package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// Template, when set, is a template to send (its values may use
	// {{phone}} and {{staff}}): given as template:<name>, or a name that is
	// no saved message's. SavedMessage then is empty.
	Template *Template
	// Values are key=value words given after SavedMessage (see
	// ParseTemplateValues): SavedMessage is then a template's name.
	Values []string
	Force  bool
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
	// Template names the intake template it goes as, when the customer's
	// window on the gateway is closed or unknown ("" otherwise).
	Template string
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
	// Unreachable are numbers nothing was queued for because the gateway
	// has a window, the customer's is closed or unknown, and no intake
	// template is set (or a file was sent, which goes only inside it).
	Unreachable []Invalid
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
	if err := s.pickTemplate(ctx, &req); err != nil {
		return IntakeResult{}, err
	}
	var content store.QueueContent
	g, _ := s.gateway(res.Gateway)
	if req.Attachment != nil {
		if req.SavedMessage != "" {
			return IntakeResult{}, Errorf(EINVALID, "Send either a file or a saved message name with the number, not both.")
		}
		if !g.Caps.Media && g.Name != "" {
			return IntakeResult{}, Errorf(ECONFLICT, "Nothing was queued: %s cannot send images or videos.", g.Name)
		}
	} else if req.Template != nil {
		if req.SavedMessage != "" {
			return IntakeResult{}, Errorf(EINVALID, "Send either a saved message or a template with the number, not both.")
		}
		if ok, why := g.Caps.CanSend(queue.KindTemplate); !ok && g.Name != "" {
			return IntakeResult{}, Errorf(ECONFLICT, "Nothing was queued: %s %s.", g.Name, why)
		}
		t, err := s.buildTemplate(ctx, *req.Template, true)
		if err != nil {
			return IntakeResult{}, err
		}
		content = t.content
	} else {
		var err error
		if content, err = s.intakeContent(ctx, res.Gateway, req.SavedMessage); err != nil {
			return IntakeResult{}, err
		}
	}
	// On a gateway with a window, free-form content goes only to customers
	// whose window is open; the others get the intake template.
	windowed := g.Window > 0 && content.Kind != store.ContentTemplate
	// The intake template is read when a closed window needs it; one that
	// can no longer be sent (paused at Meta) makes those numbers
	// unreachable, with the reason, and leaves the others alone.
	var intakeTpl store.QueueContent
	haveTpl, tplLoaded, tplName, tplProblem := false, false, "", ""
	loadTpl := func() error {
		if tplLoaded {
			return nil
		}
		tplLoaded = true
		var err error
		intakeTpl, haveTpl, err = s.intakeTemplate(ctx)
		var e *Error
		if errors.As(err, &e) {
			tplProblem = strings.TrimPrefix(e.Message, "Nothing was queued: ")
			return nil
		}
		tplName = strings.TrimSpace(s.settings.String(ctx, SettingIntakeTemplate))
		return err
	}
	staff := s.staffName(ctx, a.Identity)
	var asTemplate []string
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
		c := content
		if windowed {
			w, err := s.st.CustomerWindow(ctx, g.Name, e164)
			if err != nil {
				return IntakeResult{}, err
			}
			if !w.OpenAt(s.cfg.Now(), g.Window) {
				if err := loadTpl(); err != nil {
					return IntakeResult{}, err
				}
				if tplProblem != "" {
					res.Unreachable = append(res.Unreachable, Invalid{Raw: e164, Reason: fmt.Sprintf(
						"cannot be reached on WhatsApp now: the customer has not written in the last %s, and %s",
						DurationText(g.Window), lowerFirst(tplProblem))})
					continue
				}
				if !haveTpl || req.Attachment != nil {
					res.Unreachable = append(res.Unreachable, Invalid{Raw: e164, Reason: s.unreachableReason(g, haveTpl)})
					continue
				}
				c = fillStaff(intakeTpl, e164, staff)
				asTemplate = append(asTemplate, e164)
			}
		} else if c.Kind == store.ContentTemplate {
			c = fillStaff(c, e164, staff)
		}
		items = append(items, staffItem(a, e164, c, maxAttempts))
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
		q := Queued{ID: id, Phone: items[i].Phone}
		if slices.Contains(asTemplate, q.Phone) {
			q.Template = tplName
		}
		res.Queued = append(res.Queued, q)
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

// unreachableReason says why a staff send cannot reach a customer on g
// now, and the fix.
func (s *Service) unreachableReason(g Gateway, haveTpl bool) string {
	if haveTpl {
		return fmt.Sprintf("cannot get a file now: %s delivers one only within %s of the customer's last message, and this customer has not written since. Send the number without the file: it goes as the intake template.",
			g.Name, DurationText(g.Window))
	}
	return fmt.Sprintf("cannot be reached on WhatsApp now: %s sends a message only within %s of the customer's last message (their window is closed), or as an approved template, and no intake template is set. Fix: an operator sets one with /set %s <template name> (and its values with /set %s …).",
		g.Name, DurationText(g.Window), SettingIntakeTemplate, SettingIntakeParams)
}

// lowerFirst makes s start with a small letter.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// staffName is what {{staff}} stands for in a send by identity: the
// operator's display name, or the identity.
func (s *Service) staffName(ctx context.Context, identity string) string {
	if o, err := s.st.Operator(ctx, identity); err == nil && strings.TrimSpace(o.DisplayName) != "" {
		return strings.TrimSpace(o.DisplayName)
	}
	return identity
}

// intakeTemplate is the intake template with its values, unfilled; false
// when intake.template is unset. A template that no longer passes its
// check (paused at Meta, values that do not fit) is an error saying so.
func (s *Service) intakeTemplate(ctx context.Context) (store.QueueContent, bool, error) {
	name := strings.TrimSpace(s.settings.String(ctx, SettingIntakeTemplate))
	if name == "" {
		return store.QueueContent{}, false, nil
	}
	t, err := s.intakeTemplateOf(ctx, name, s.settings.String(ctx, SettingIntakeParams))
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return store.QueueContent{}, false, Errorf(ECONFLICT, "Nothing was queued: the intake template %q (setting %s) cannot be sent: %s Ask an operator.",
				Echo(name), SettingIntakeTemplate, lowerFirst(e.Error()))
		}
		return store.QueueContent{}, false, err
	}
	return t.content, true, nil
}

// intakeTemplateOf checks the template name with values params (the
// intake.template_params syntax) as a staff send.
func (s *Service) intakeTemplateOf(ctx context.Context, name, params string) (templateSend, error) {
	t, err := ParseTemplateValues(splitValues(params))
	if err != nil {
		return templateSend{}, err
	}
	t.Name, t.Language, _ = strings.Cut(strings.TrimSpace(name), ":")
	return s.buildTemplate(ctx, t, true)
}

// checkIntakeTemplateSetting refuses an intake.template or
// intake.template_params value that would make staff template sends fail:
// the template must be approved and the values fit it.
func (s *Service) checkIntakeTemplateSetting(ctx context.Context, key, value string) error {
	name := strings.TrimSpace(s.settings.String(ctx, SettingIntakeTemplate))
	params := s.settings.String(ctx, SettingIntakeParams)
	switch key {
	case SettingIntakeTemplate:
		name = strings.TrimSpace(value)
	case SettingIntakeParams:
		params = value
		if _, err := ParseTemplateValues(splitValues(params)); err != nil {
			return err
		}
	default:
		return nil
	}
	if name == "" {
		return nil
	}
	if _, err := s.intakeTemplateOf(ctx, name, params); err != nil {
		var e *Error
		if errors.As(err, &e) && key == SettingIntakeTemplate && e.Code == EINVALID {
			return Errorf(EINVALID, "Not changed: %s Set its values first with /set %s … (header=, body=a|b, name=value, button1=; {{phone}} and {{staff}} are filled per send).",
				e.Error(), SettingIntakeParams)
		}
		if errors.As(err, &e) {
			return Errorf(e.Code, "Not changed: %s", e.Error())
		}
		return err
	}
	return nil
}

// IntakeTemplate is the intake template filled for item it's customer and
// the staff member who queued it ({{phone}}, {{staff}}): what the delivery
// loop sends instead of free-form content when the customer's window is
// closed. False when intake.template is unset; an error when it is set
// but cannot be sent (paused at Meta, values that no longer fit).
func (s *Service) IntakeTemplate(ctx context.Context, it store.QueueItem) (store.QueueContent, bool, error) {
	c, ok, err := s.intakeTemplate(ctx)
	if err != nil || !ok {
		return store.QueueContent{}, false, err
	}
	return fillStaff(c, it.Phone, s.staffName(ctx, it.CreatedBy)), true, nil
}

// pickTemplate turns a /send's name into a template when it is one: a
// saved message of that name wins; a name that is no saved message's but
// a saved template's, or one given with values, is the template.
func (s *Service) pickTemplate(ctx context.Context, req *IntakeRequest) error {
	name := strings.TrimSpace(req.SavedMessage)
	if name == "" || req.Template != nil {
		if req.Template != nil && len(req.Values) > 0 {
			t, err := ParseTemplateValues(req.Values)
			if err != nil {
				return err
			}
			t.Name, t.Language = req.Template.Name, req.Template.Language
			req.Template = &t
		}
		return nil
	}
	m, err := s.st.SavedMessageByName(ctx, name)
	if err == nil {
		if len(req.Values) > 0 {
			return Errorf(EINVALID, "%q is a saved message, which takes no values; for the template of that name write template:%s.", m.Name, quoteName(name))
		}
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	tname, lang, _ := strings.Cut(name, ":")
	_, known, err := s.lookupCatalog(ctx, CatalogTemplate, tname)
	if err != nil {
		return err
	}
	if !known && len(req.Values) == 0 {
		return nil // intakeContent says there is no such saved message
	}
	t, err := ParseTemplateValues(req.Values)
	if err != nil {
		return err
	}
	t.Name, t.Language = tname, lang
	req.Template, req.SavedMessage = &t, ""
	return nil
}
