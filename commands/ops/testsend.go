package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/messagebridge/messagebridge/store"
)

// SendTest queues one test message to phone through the named gateway, even
// when it is not the active one, with a single attempt, so an admin sees
// within seconds whether that gateway's credentials work. The text is
// "MessageBridge test message from <gateway> (<time>)", the time in the
// campaign time zone; a gateway without plain text sends its staff flow
// instead, or is refused with ECONFLICT when it has none. A paused gateway
// is refused too: the message would only wait.
func (s *Service) SendTest(ctx context.Context, a Actor, gateway, raw string) (QueueItem, error) {
	if err := s.require(a, RoleAdmin, "sending test messages"); err != nil {
		return QueueItem{}, err
	}
	name := strings.ToLower(strings.TrimSpace(gateway))
	g, ok := s.gateway(name)
	if !ok {
		return QueueItem{}, Errorf(EINVALID, "There is no gateway %q. Choose one of %s.", Echo(name), strings.Join(s.GatewayNames(), ", "))
	}
	if strings.TrimSpace(raw) == "" {
		return QueueItem{}, Errorf(EINVALID, "Which number should the test message go to? For example: %s", s.PhoneExample(ctx))
	}
	e164, err := normalizePhone(raw, s.PhonePolicy(ctx), func(reason string) error {
		return Errorf(EINVALID, "%q cannot be used: %s. For example: %s", Echo(raw), reason, s.PhoneExample(ctx))
	})
	if err != nil {
		return QueueItem{}, err
	}
	refuse := func(format string, args ...any) (QueueItem, error) {
		s.audit(ctx, a, "gateway.test", fmt.Sprintf("%s → %s", g.Name, e164), "refused")
		return QueueItem{}, Errorf(ECONFLICT, format, args...)
	}
	states, err := s.st.GatewayStates(ctx)
	if err != nil {
		return QueueItem{}, err
	}
	for _, st := range states {
		if st.Gateway == g.Name && st.Blocked {
			return refuse("No test message was queued: %s is paused (%s), and nothing goes out through it until the pause is lifted by choosing it as the active gateway.",
				g.Name, s.shown(ctx).text(st.BlockedReason))
		}
	}
	content := store.QueueContent{Kind: store.ContentText,
		Body: fmt.Sprintf("MessageBridge test message from %s (%s)", g.Name, s.TimeText(ctx, s.cfg.Now()))}
	if !g.Caps.Text {
		c, ok := s.staffFlow(ctx, g)
		if !ok {
			return refuse("No test message was queued: %s.", s.staffProblem(ctx, g))
		}
		content = c
	}
	item := staffItem(a, e164, content, 1)
	item.Gateway = g.Name
	ids, err := s.st.EnqueueQueueItems(ctx, []store.NewQueueItem{item})
	if err != nil {
		return QueueItem{}, fmt.Errorf("test message: %w", err)
	}
	if len(ids) != 1 {
		return QueueItem{}, fmt.Errorf("test message: %d items queued, want 1", len(ids))
	}
	s.cfg.Notify()
	s.audit(ctx, a, "gateway.test", fmt.Sprintf("%s → %s (#%d)", g.Name, e164, ids[0]), "ok")
	it, err := s.st.QueueItem(ctx, ids[0])
	if err != nil {
		return QueueItem{}, err
	}
	return s.shown(ctx).item(it), nil
}
