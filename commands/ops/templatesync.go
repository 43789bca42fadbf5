package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// Templates from the account: a gateway with a template list (the Cloud
// API's message_templates) fills the catalog with every template it has,
// with its shape and Meta's status, so nobody types them in by hand.
//
// Names. A template is saved under its own name, lower-cased
// (diwali_offer), when the account has it in one language, and as "<name>
// <language>" (diwali_offer hi, en_us) when the account has it in several,
// so that no plain name silently stands for one translation of many. An
// entry keeps the name it was first saved under on every later sync: a
// template that gains a second language keeps its plain name for the
// language it had, and the new one is "<name> <language>". A template the
// account no longer lists stays, with status DELETED, so a campaign that
// uses it can say why it cannot send. An entry typed in by hand is never
// changed by a sync: a template whose name one holds is left out, and the
// sync names the clash.

// SettingTemplateSyncSchedule says when the templates are read from the
// account (a robfig/cron schedule, read live).
const SettingTemplateSyncSchedule = "templates.sync_schedule"

// Template statuses beyond store's (Meta's APPROVED, PAUSED, …): only an
// approved template is sent.
const (
	// TemplateDeleted is a synced template the account no longer lists.
	TemplateDeleted = "DELETED"
	// templateUnknown is the status of a listed template that came
	// without one ("" would mean hand-made, and trusted).
	templateUnknown = "UNKNOWN"
)

// TemplateSyncActor is who the scheduled template sync runs as.
func TemplateSyncActor() Actor {
	return Actor{Identity: "system:template-sync", Role: RoleAdmin, Transport: "schedule"}
}

// ErrNotSetUp marks a template list that cannot be read until an admin
// sets something up (the WhatsApp Business Account id, the access token),
// or that no gateway has: errors.Is(err, ErrNotSetUp). The scheduled sync
// skips quietly then.
var ErrNotSetUp = errors.New("template list not set up")

// listNotSetUp is an *Error that ErrNotSetUp matches.
type listNotSetUp struct{ e *Error }

func (n *listNotSetUp) Error() string        { return n.e.Message }
func (n *listNotSetUp) Unwrap() error        { return n.e }
func (n *listNotSetUp) Is(target error) bool { return target == ErrNotSetUp }

// NotSetUp is the error of a template list that cannot be read yet;
// reason says what is missing, in words for an admin ("meta.waba_id is
// not set: …").
func NotSetUp(reason string) error {
	return &listNotSetUp{e: Errorf(ECONFLICT, "%s", reason)}
}

// TemplateSync is what one sync of the templates did.
type TemplateSync struct {
	// Gateways are the gateways whose template lists were read.
	Gateways []string
	// Added, Updated and Unchanged count the templates listed; Gone the
	// synced entries the account no longer lists, marked DELETED now.
	Added, Updated, Unchanged, Gone int
	// NotApproved are the listed templates that cannot be sent (PAUSED,
	// REJECTED, PENDING, …), by name.
	NotApproved []CatalogEntry
	// Removed are the entries marked DELETED by this sync.
	Removed []CatalogEntry
	// Clashes are hand-made entries that hold the name a listed template
	// would have: left as they are, and that template was not saved.
	Clashes []TemplateClash
	// Skipped are listed templates that cannot be saved, each with why.
	Skipped []string
}

// TemplateClash is a hand-made entry that holds a listed template's name.
type TemplateClash struct {
	// Name is the entry's name; ExternalID and Language the listed
	// template's.
	Name, ExternalID, Language string
}

// Summary is the sync's counts in one line: "2 added, 1 updated, 3
// unchanged, 1 gone, 2 not approved".
func (r TemplateSync) Summary() string {
	parts := []string{fmt.Sprintf("%s added", words.Number(r.Added)), fmt.Sprintf("%s updated", words.Number(r.Updated)),
		fmt.Sprintf("%s unchanged", words.Number(r.Unchanged)), fmt.Sprintf("%s gone", words.Number(r.Gone)),
		fmt.Sprintf("%s not approved", words.Number(len(r.NotApproved)))}
	if n := len(r.Clashes); n > 0 {
		parts = append(parts, words.Count(n, "clash")+" with hand-made entries")
	}
	if n := len(r.Skipped); n > 0 {
		parts = append(parts, words.Number(n)+" skipped")
	}
	return strings.Join(parts, ", ")
}

// ClashText is a clash in words, naming the fix.
func (c TemplateClash) ClashText() string {
	return fmt.Sprintf("%q is a hand-made entry, so the account's %s (%s) was not saved under that name; remove the hand-made one on the admin page and sync again to use the account's.",
		c.Name, c.ExternalID, c.Language)
}

// Approved reports whether a template may be sent: Meta approved it, or
// it was typed in by hand (no status: trusted).
func (e CatalogEntry) Approved() bool { return e.Status == "" || e.Status == store.TemplateApproved }

// HeaderWords is a synced template's header in words: "no header",
// "image header", "text header with {{name}}"; "" for a hand-made entry,
// whose header is not known.
func (e CatalogEntry) HeaderWords() string {
	if !e.Synced {
		return ""
	}
	sh := e.Shape
	switch {
	case sh.Header == store.HeaderNone:
		return "no header"
	case sh.Header == store.HeaderText && sh.HeaderName != "":
		return "text header with {{" + sh.HeaderName + "}}"
	case sh.Header == store.HeaderText && sh.HeaderParams > 0:
		return "text header with " + words.Count(sh.HeaderParams, "param")
	}
	return sh.Header + " header"
}

// ParamWords is what a template's body and URL buttons take, in words:
// "no params", "2 params", "params name, order_id", "1 param, 1 URL button
// param".
func (e CatalogEntry) ParamWords() string {
	var out string
	switch {
	case len(e.Shape.BodyNames) > 0:
		out = "params " + strings.Join(e.Shape.BodyNames, ", ")
	case e.Params == 0:
		out = "no params"
	default:
		out = words.Count(e.Params, "param")
	}
	if n := len(e.Shape.URLButtons); n > 0 {
		out += ", " + words.Count(n, "URL button param")
	}
	return out
}

// SyncTemplates reads every gateway's template list (the Cloud API's
// message_templates) into the catalog: new templates are added, changed
// ones updated, and synced entries the account no longer lists are marked
// DELETED. Operators and up. The names follow the rule at the top of this
// file. A gateway that is not set up for it is skipped; when none can be
// read the error matches ErrNotSetUp. Nothing is written when a list
// cannot be read, and entries are marked DELETED only when every list was
// read. Two syncs at once write the same entries, each write checked
// against hand-made entries in its own transaction.
func (s *Service) SyncTemplates(ctx context.Context, a Actor) (TemplateSync, error) {
	if err := s.require(a, RoleOperator, "syncing templates"); err != nil {
		return TemplateSync{}, err
	}
	res, err := s.syncTemplates(ctx, a)
	detail := res.Summary()
	if err != nil {
		detail = ErrorMessage(err)
	}
	s.audit(ctx, a, "templates.sync", detail, outcome(err))
	return res, err
}

// listedTemplate is a template as listed, checked, with its key.
type listedTemplate struct {
	e   store.CatalogEntry
	key templateKey
}

// templateKey names one template of the account: its name and language.
type templateKey struct{ name, lang string }

func (s *Service) syncTemplates(ctx context.Context, a Actor) (TemplateSync, error) {
	var res TemplateSync
	listed, complete, err := s.readTemplateLists(ctx, &res)
	if err != nil {
		return res, err
	}
	existing, err := s.st.CatalogEntries(ctx, store.CatalogTemplate)
	if err != nil {
		return res, err
	}
	byName := map[string]store.CatalogEntry{}
	byKey := map[templateKey]store.CatalogEntry{}
	for _, e := range existing {
		byName[e.Name] = e
		if k := (templateKey{e.ExternalID, e.Language}); e.SyncedAt.Valid {
			if _, dup := byKey[k]; !dup {
				byKey[k] = e
			}
		}
	}
	langs := map[string]int{}
	for _, t := range listed {
		langs[t.key.name]++
	}
	now := sql.NullTime{Time: s.cfg.Now().UTC(), Valid: true}
	seen := map[templateKey]bool{}
	for _, t := range listed {
		seen[t.key] = true
		name, clash, why := templateEntryName(t, langs[t.key.name], byName, byKey)
		switch {
		case why != "":
			res.Skipped = append(res.Skipped, why)
			continue
		case clash:
			res.Clashes = append(res.Clashes, TemplateClash{Name: name, ExternalID: t.key.name, Language: t.key.lang})
			continue
		}
		e := t.e
		e.Kind, e.Name, e.SyncedAt = store.CatalogTemplate, name, now
		prev, had := byName[name]
		if had && prev.SyncedAt.Valid && sameTemplate(prev, e) {
			res.Unchanged++
			res.notApproved(catalogEntry(prev))
			continue
		}
		saved, err := s.st.PutSyncedCatalogEntry(ctx, e, a.Identity)
		if errors.Is(err, store.ErrHandMade) {
			res.Clashes = append(res.Clashes, TemplateClash{Name: name, ExternalID: t.key.name, Language: t.key.lang})
			continue
		}
		if err != nil {
			return res, err
		}
		if had {
			res.Updated++
		} else {
			res.Added++
		}
		res.notApproved(catalogEntry(saved))
	}
	if !complete {
		return res, nil
	}
	for _, e := range existing {
		if !e.SyncedAt.Valid || e.Status == TemplateDeleted || seen[templateKey{e.ExternalID, e.Language}] {
			continue
		}
		e.Status = TemplateDeleted
		saved, err := s.st.PutSyncedCatalogEntry(ctx, e, a.Identity)
		if errors.Is(err, store.ErrHandMade) {
			continue // made by hand since it was read: not ours to mark
		}
		if err != nil {
			return res, err
		}
		res.Gone++
		res.Removed = append(res.Removed, catalogEntry(saved))
	}
	return res, nil
}

// notApproved notes e when it cannot be sent.
func (r *TemplateSync) notApproved(e CatalogEntry) {
	if !e.Approved() {
		r.NotApproved = append(r.NotApproved, e)
	}
}

// readTemplateLists reads the template list of every gateway that has
// one, checked and without duplicates, ordered by name and language.
// complete is false when a gateway was skipped as not set up.
func (s *Service) readTemplateLists(ctx context.Context, res *TemplateSync) (listed []listedTemplate, complete bool, err error) {
	complete = true
	var reasons []string
	red := s.shown(ctx)
	seen := map[templateKey]bool{}
	for _, g := range s.cfg.Gateways {
		if g.Templates == nil {
			continue
		}
		if g.Ready != nil {
			if reason := g.Ready(ctx); reason != "" {
				reasons, complete = append(reasons, g.Name+": "+red.text(reason)), false
				continue
			}
		}
		list, err := g.Templates(ctx)
		switch {
		case errors.Is(err, ErrNotSetUp):
			reasons, complete = append(reasons, g.Name+": "+red.text(ErrorMessage(err))), false
			continue
		case ctx.Err() != nil:
			return nil, false, ctx.Err()
		case err != nil:
			s.log.WarnContext(ctx, "template sync: reading the template list failed", "gateway", g.Name, "err", red.text(err.Error()))
			return nil, false, Errorf(ECONFLICT, "Could not read the templates from %s, so nothing changed: %s", g.Name, red.text(err.Error()))
		}
		res.Gateways = append(res.Gateways, g.Name)
		for _, e := range list {
			t, why := checkListedTemplate(e)
			if why != "" {
				res.Skipped = append(res.Skipped, why)
				continue
			}
			if seen[t.key] {
				continue
			}
			seen[t.key] = true
			listed = append(listed, t)
		}
	}
	if len(res.Gateways) == 0 {
		if len(reasons) == 0 {
			return nil, false, NotSetUp("No gateway here reads templates from an account; admins add them by hand on the admin page.")
		}
		return nil, false, NotSetUp("Templates cannot be read yet: " + strings.Join(reasons, "; ") + ".")
	}
	sort.Slice(listed, func(i, j int) bool {
		if listed[i].key.name != listed[j].key.name {
			return listed[i].key.name < listed[j].key.name
		}
		return listed[i].key.lang < listed[j].key.lang
	})
	return listed, complete, nil
}

// checkListedTemplate checks a listed template and returns it normalized,
// or why it cannot be saved.
func checkListedTemplate(e store.CatalogEntry) (listedTemplate, string) {
	id := strings.TrimSpace(e.ExternalID)
	if !externalIDShape(id) || len([]rune(id)) > maxExternalID {
		return listedTemplate{}, fmt.Sprintf("a template named %q: the name has a space or is longer than %d characters", Echo(id), maxExternalID)
	}
	lang, ok := languageCode(strings.TrimSpace(e.Language))
	if !ok {
		return listedTemplate{}, fmt.Sprintf("%s: %q is not a language code", id, Echo(e.Language))
	}
	status := strings.ToUpper(strings.TrimSpace(e.Status))
	if status == "" {
		status = templateUnknown
	}
	if e.ParamCount == 0 {
		e.ParamCount = e.Shape.BodyParams
	}
	out := store.CatalogEntry{ExternalID: id, Language: lang, ParamCount: e.ParamCount, Shape: e.Shape,
		Status: status, Category: strings.ToUpper(strings.TrimSpace(e.Category))}
	return listedTemplate{e: out, key: templateKey{id, lang}}, ""
}

// templateEntryName is the catalog name of a listed template (see the
// rule at the top of this file). langs is how many languages the account
// has the template's name in. clash says a hand-made entry holds the name;
// why, when set, says the template cannot have a name at all.
func templateEntryName(t listedTemplate, langs int, byName map[string]store.CatalogEntry, byKey map[templateKey]store.CatalogEntry) (name string, clash bool, why string) {
	if prev, ok := byKey[t.key]; ok {
		return prev.Name, false, ""
	}
	plain, err := catalogName(CatalogTemplate, t.key.name)
	if err != nil {
		return "", false, fmt.Sprintf("%s: %s", t.key.name, ErrorMessage(err))
	}
	if langs == 1 {
		prev, taken := byName[plain]
		switch {
		case !taken:
			return plain, false, ""
		case !prev.SyncedAt.Valid:
			return plain, true, ""
		}
		// Another language of it had the name (now gone from the
		// account): this one is told apart by its language.
	}
	name, err = catalogName(CatalogTemplate, t.key.name+" "+strings.ToLower(t.key.lang))
	if err != nil {
		return "", false, fmt.Sprintf("%s (%s): %s", t.key.name, t.key.lang, ErrorMessage(err))
	}
	if prev, taken := byName[name]; taken && !prev.SyncedAt.Valid {
		return name, true, ""
	}
	return name, false, ""
}

// sameTemplate reports whether a synced entry already holds what e says.
func sameTemplate(prev, e store.CatalogEntry) bool {
	a, errA := prev.Shape.Value()
	b, errB := e.Shape.Value()
	return errA == nil && errB == nil && a == b && prev.ExternalID == e.ExternalID && prev.Language == e.Language &&
		prev.ParamCount == e.ParamCount && prev.Status == e.Status && prev.Category == e.Category
}
