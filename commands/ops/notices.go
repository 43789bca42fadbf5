package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/messagebridge/messagebridge/queue"
	"github.com/messagebridge/messagebridge/store"
)

// How failure notices are claimed and retried.
const (
	// noticeLease is how long a claimed notice is kept from other
	// processes; telling someone must finish well within it.
	noticeLease = 2 * time.Minute
	// NoticeSendTimeout bounds one attempt to tell someone.
	NoticeSendTimeout = 30 * time.Second
	// noticeAttempts is how often telling is tried before the notice is
	// dropped.
	noticeAttempts = 5
	// noticeRetryBase is the wait after the first failed attempt,
	// doubling with each further one.
	noticeRetryBase = 30 * time.Second
	// noticeMaxAge is how late a failure is still worth telling.
	noticeMaxAge = 24 * time.Hour
)

// FailureNotice is a failed message to tell the person who queued it
// about: its recipient, their role now, and the item as it is now.
type FailureNotice struct {
	ID    int64
	Token string
	// Recipient is the chat identity that queued the item
	// ("telegram:123"); Role is theirs now.
	Recipient string
	Role      string
	Item      QueueItem
	// Campaign, when set, makes this a notice about a scheduled campaign
	// that did not start (Item is empty): it is paused, and
	// Campaign.PauseReason says why.
	Campaign *Campaign
	// Reply, when set, makes this a forward of a customer's message
	// (Item is empty): see Service.Inbound.
	Reply *ForwardedReply
	// Attempts counts the tries to tell them, this one included.
	Attempts int
}

// Transport is the chat transport of the recipient ("telegram").
func (n FailureNotice) Transport() string {
	t, _, _ := strings.Cut(n.Recipient, ":")
	return t
}

// ChatID is the recipient's id on their transport (a Telegram user id, a
// WhatsApp number).
func (n FailureNotice) ChatID() string {
	_, id, _ := strings.Cut(n.Recipient, ":")
	return id
}

// ClaimFailureNotices claims up to limit failure notices for people on
// transports (those this process can reach now), under token. A message
// fails for good (a permanent error, out of attempts, recovered from a
// stopped processor out of attempts, or a provider's failed receipt) and
// was queued from a chat, not by a campaign, the web page or the system:
// each such failure is claimed by one process at a time and told once.
// Notices no longer worth telling are dropped here, not returned: the
// message was retried or edited since, or the person may no longer use
// the bot.
func (s *Service) ClaimFailureNotices(ctx context.Context, transports []string, limit int, token string) ([]FailureNotice, error) {
	claimed, err := s.st.ClaimStaffNotices(ctx, store.NoticeClaim{Transports: transports, Limit: limit, Token: token,
		Lease: noticeLease, MaxAge: noticeMaxAge})
	if err != nil {
		return nil, err
	}
	var out []FailureNotice
	for _, c := range claimed {
		n := FailureNotice{ID: c.ID, Token: c.Token, Recipient: c.Recipient, Attempts: c.Attempts}
		if why, err := s.fillNotice(ctx, &n, c); err != nil || why != "" {
			if err != nil {
				// Try again later; the lease keeps others off meanwhile.
				s.log.Warn("failure notice: read the message", "notice", c.ID, "item", c.ItemID, "err", err)
				continue
			}
			s.finishNotice(ctx, n, store.NoticeOutcome{State: store.NoticeDropped, Detail: why})
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// fillNotice reads the notice's item and recipient; why says why it is no
// longer worth telling.
func (s *Service) fillNotice(ctx context.Context, n *FailureNotice, c store.StaffNotice) (why string, err error) {
	if c.InboundID != 0 {
		return s.fillReplyNotice(ctx, n, c)
	}
	if c.CampaignID != 0 {
		return s.fillCampaignNotice(ctx, n, c)
	}
	it, err := s.QueueItem(ctx, c.ItemID)
	if ErrorCode(err) == ENOTFOUND {
		return "the message is gone", nil
	}
	if err != nil {
		return "", err
	}
	if it.Status != StatusFailed || !it.FailedAt.Equal(c.FailedAt) {
		return fmt.Sprintf("the message was changed since (now %s)", it.Status), nil
	}
	op, err := s.st.Operator(ctx, c.Recipient)
	if errors.Is(err, store.ErrNotFound) {
		return "the person may no longer use the bot", nil
	}
	if err != nil {
		return "", err
	}
	n.Item, n.Role = it, op.Role
	return "", nil
}

// fillCampaignNotice reads a campaign notice's campaign and recipient;
// why says why it is no longer worth telling (the campaign was resumed,
// rescheduled or cancelled since).
func (s *Service) fillCampaignNotice(ctx context.Context, n *FailureNotice, c store.StaffNotice) (why string, err error) {
	camp, err := s.Campaign(ctx, c.CampaignID)
	if ErrorCode(err) == ENOTFOUND {
		return "the campaign is gone", nil
	}
	if err != nil {
		return "", err
	}
	if camp.Status != CampaignPaused || camp.PauseReason == "" || !camp.DeletedAt.IsZero() {
		return fmt.Sprintf("the campaign was changed since (now %s)", camp.Status), nil
	}
	op, err := s.st.Operator(ctx, c.Recipient)
	if errors.Is(err, store.ErrNotFound) {
		return "the person may no longer use the bot", nil
	}
	if err != nil {
		return "", err
	}
	n.Campaign, n.Role = &camp, op.Role
	return "", nil
}

// ForwardedReply is a customer's message forwarded to a chat, and what it
// asked about campaigns (a stop keyword, START).
type ForwardedReply struct {
	Message InboundMessage
	Intent  ReplyIntent
}

// fillReplyNotice reads the customer's message a forward notice is
// about. Its recipient need not be in the operators table (a chat of
// inbound.forward_to); Role is theirs when they are.
func (s *Service) fillReplyNotice(ctx context.Context, n *FailureNotice, c store.StaffNotice) (why string, err error) {
	m, err := s.st.InboundMessage(ctx, c.InboundID)
	if errors.Is(err, store.ErrNotFound) {
		return "the customer's message is gone", nil
	}
	if err != nil {
		return "", err
	}
	op, err := s.st.Operator(ctx, c.Recipient)
	switch {
	case err == nil:
		n.Role = op.Role
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	n.Reply = &ForwardedReply{Message: m, Intent: s.replyIntent(ctx, m)}
	return "", nil
}

// FinishFailureNotice records whether telling worked: sendErr nil marks
// the notice sent; otherwise it is tried again with backoff, and dropped
// after five tries. The error is logged, without the message.
func (s *Service) FinishFailureNotice(ctx context.Context, n FailureNotice, sendErr error) {
	if sendErr == nil {
		s.finishNotice(ctx, n, store.NoticeOutcome{State: store.NoticeSent, Detail: "told"})
		return
	}
	detail := queue.SanitizeError(sendErr.Error())
	s.log.Warn("failure notice not delivered", "notice", n.ID, "item", n.Item.ID, "recipient", n.Recipient,
		"attempt", n.Attempts, "err", detail)
	if n.Attempts >= noticeAttempts {
		s.finishNotice(ctx, n, store.NoticeOutcome{State: store.NoticeDropped, Detail: "the chat kept refusing: " + detail})
		return
	}
	wait := noticeRetryBase << (n.Attempts - 1)
	s.finishNotice(ctx, n, store.NoticeOutcome{State: store.NoticePending, RetryAt: s.cfg.Now().Add(wait), Detail: detail})
}

func (s *Service) finishNotice(ctx context.Context, n FailureNotice, o store.NoticeOutcome) {
	ok, err := s.st.FinishStaffNotice(ctx, n.ID, n.Token, o)
	switch {
	case err != nil:
		s.log.Error("failure notice: record the outcome", "notice", n.ID, "state", o.State, "err", err)
	case !ok:
		s.log.Warn("failure notice: the claim had expired; another process has it now", "notice", n.ID, "state", o.State)
	}
}

// Mine returns the newest messages a queued themselves (not campaign
// messages), newest first, at most limit.
func (s *Service) Mine(ctx context.Context, a Actor, limit int) ([]QueueItem, error) {
	if err := s.require(a, RoleStaff, "looking up your messages"); err != nil {
		return nil, err
	}
	return s.Recent(ctx, RecentFilter{CreatedBy: a.Identity, Limit: limit})
}
