package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/messagebridge/messagebridge/commands/phone"
	"github.com/messagebridge/messagebridge/store"
)

// Operator returns the operator with identity; ENOTFOUND when there is
// none.
func (s *Service) Operator(ctx context.Context, identity string) (Operator, error) {
	op, err := s.st.Operator(ctx, identity)
	if errors.Is(err, store.ErrNotFound) {
		return Operator{}, Errorf(ENOTFOUND, "%s is not set up to use the bot.", identity)
	}
	return op, err
}

// Operators lists who may use the bot.
func (s *Service) Operators(ctx context.Context) ([]Operator, error) {
	return s.st.Operators(ctx)
}

// errLastAdmin is the last-admin rule's refusal.
func errLastAdmin() error {
	return Errorf(ECONFLICT, "That would leave no admin. Make someone else admin first.")
}

// PutOperator lets identity use the bot with role, or changes its role.
// Demoting the last admin is refused; the check and the change happen in
// one transaction over the locked admin rows, so two admins demoting each
// other at the same moment cannot leave none.
func (s *Service) PutOperator(ctx context.Context, a Actor, identity, role string) (Operator, error) {
	if err := s.require(a, RoleAdmin, "changing who may use the bot"); err != nil {
		return Operator{}, err
	}
	id, err := s.NormalizeIdentity(ctx, identity)
	if err != nil {
		return Operator{}, err
	}
	role = strings.ToLower(strings.TrimSpace(role))
	if rank(role) < 0 {
		return Operator{}, Errorf(EINVALID, "Unknown role %q: use staff, operator or admin.", Echo(role))
	}
	err = s.st.WithOperators(ctx, func(tx *store.OperatorTx) error {
		before := tx.Admins()
		if err := tx.Put(id, role, "", a.Identity); err != nil {
			return err
		}
		// Before the first chat admin exists (a web admin adds the first
		// operators) there is no last admin to keep.
		if before > 0 && tx.Admins() < 1 {
			return errLastAdmin()
		}
		return nil
	})
	s.audit(ctx, a, "operator.put", id+" → "+role, outcome(err))
	if err != nil {
		return Operator{}, err
	}
	return s.st.Operator(ctx, id)
}

// RemoveOperator stops identity using the bot. Removing the last admin is
// refused, as in PutOperator.
func (s *Service) RemoveOperator(ctx context.Context, a Actor, identity string) error {
	if err := s.require(a, RoleAdmin, "changing who may use the bot"); err != nil {
		return err
	}
	id, err := s.NormalizeIdentity(ctx, identity)
	if err != nil {
		return err
	}
	err = s.st.WithOperators(ctx, func(tx *store.OperatorTx) error {
		before := tx.Admins()
		if err := tx.RemoveBy(id, a.Identity); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Errorf(ENOTFOUND, "%s is not an operator; /operators lists them.", id)
			}
			return err
		}
		if before > 0 && tx.Admins() < 1 {
			return errLastAdmin()
		}
		return nil
	})
	s.audit(ctx, a, "operator.remove", id, outcome(err))
	return err
}

// outcome is the audit outcome of an operation's error: ok, refused (a
// rule or a role said no) or error.
func outcome(err error) string {
	switch ErrorCode(err) {
	case "":
		return "ok"
	case ECONFLICT, EFORBIDDEN:
		return "refused"
	default:
		return "error"
	}
}

// NormalizeIdentity checks "telegram:<user id>", "whatsapp:<number>" or
// "console:<name>" and puts WhatsApp numbers in E.164.
func (s *Service) NormalizeIdentity(ctx context.Context, raw string) (string, error) {
	transport, id, ok := strings.Cut(strings.TrimSpace(raw), ":")
	transport = strings.ToLower(transport)
	if !ok || id == "" {
		return "", Errorf(EINVALID, "%q is not an identity: use telegram:<user id> or whatsapp:<number>.", Echo(raw))
	}
	switch transport {
	case "telegram":
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return "", Errorf(EINVALID, "A Telegram identity is telegram:<numeric user id>, e.g. telegram:123456789 (the user sees it when they message the bot).")
		}
	case "whatsapp":
		e164, err := normalizePhone(id, phone.Policy{Region: s.Region(ctx), AllowForeign: true}, func(reason string) error {
			return Errorf(EINVALID, "%q is not a WhatsApp number: %s.", Echo(id), reason)
		})
		if err != nil {
			return "", err
		}
		id = e164
	case "console":
		if len(id) > 64 || strings.ContainsAny(id, " \t\n") {
			return "", Errorf(EINVALID, "A console identity is console:<name> without spaces.")
		}
	default:
		return "", Errorf(EINVALID, "Unknown chat %q: use telegram:<user id> or whatsapp:<number>.", Echo(transport))
	}
	return fmt.Sprintf("%s:%s", transport, id), nil
}

// EnsureOperator creates identity with role if it has never been set up,
// for the console's first use. It does not change an existing operator's
// role, and it does not bring back an identity an admin removed: "first
// use" means never seen, not absent now. That is refused (EFORBIDDEN) until
// an admin adds the identity again.
func (s *Service) EnsureOperator(ctx context.Context, identity, role, by string) (created bool, err error) {
	var refused error
	err = s.st.WithOperators(ctx, func(tx *store.OperatorTx) error {
		_, err := tx.Get(identity)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		removal, err := tx.Removal(identity)
		if err == nil {
			who := removal.RemovedBy
			if who == "" {
				who = "an admin"
			}
			refused = Errorf(EFORBIDDEN, "%s was removed from the bot by %s on %s, so it is not set up again on its own. An admin can add it back with /operator add %s <role> (in a chat or on the admin page).",
				identity, who, s.TimeText(ctx, removal.RemovedAt), identity)
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		created = true
		return tx.Put(identity, role, "", by)
	})
	if err == nil && refused != nil {
		return false, refused
	}
	return created, err
}

// AuditLog returns the newest audit entries first.
func (s *Service) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	return s.st.AuditLog(ctx, limit)
}

// AuditFilter selects a page of the audit log.
type AuditFilter = store.AuditFilter

// AuditPage returns a page of the audit log, newest first: admins only,
// as it tells who did what.
func (s *Service) AuditPage(ctx context.Context, a Actor, f AuditFilter) ([]AuditEntry, error) {
	if err := s.require(a, RoleAdmin, "reading the audit log"); err != nil {
		return nil, err
	}
	f.Actor, f.Action = strings.TrimSpace(f.Actor), strings.TrimSpace(f.Action)
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	return s.st.AuditPage(ctx, f)
}

// auditFallbackDetail is the detail of the row written when an entry could
// not be stored as it was.
const auditFallbackDetail = "audit detail could not be stored"

// Audit records one request a face handled (a chat command, a page
// action) with its outcome. An action is never left unrecorded silently:
// when the write fails, the entry is logged at Error with all its fields
// (they hold no secrets) and a minimal row (actor, action, outcome) is
// tried once more.
func (s *Service) Audit(ctx context.Context, e AuditEntry) {
	ctx = context.WithoutCancel(ctx)
	err := s.st.Audit(ctx, e)
	if err == nil {
		return
	}
	s.log.Error("audit log write failed", "actor", e.Actor, "role", e.Role, "transport", e.Transport,
		"action", e.Action, "outcome", e.Outcome, "detail", e.Detail, "err", err)
	minimal := AuditEntry{Actor: e.Actor, Action: e.Action, Outcome: e.Outcome, Detail: auditFallbackDetail}
	if minimal.Outcome != "ok" && minimal.Outcome != "refused" {
		minimal.Outcome = "error" // the only others the log accepts
	}
	if err := s.st.Audit(ctx, minimal); err != nil {
		s.log.Error("audit log fallback write failed: the action above is recorded only in this log",
			"actor", e.Actor, "action", e.Action, "outcome", e.Outcome, "err", err)
	}
}
