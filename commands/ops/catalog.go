package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/messagebridge/messagebridge/store"
	"github.com/messagebridge/messagebridge/store/words"
)

// The catalog: flows and templates an admin saved under a name, so
// operators can pick them by name (flow=welcome) instead of typing the
// provider's id. Names compare without regard to case: they are kept
// lower-cased, with single spaces. A campaign stores what a name resolved
// to (the flow id; the template's name, language and parameters), never
// the name, so an entry may be changed or removed while campaigns use it.

// CatalogKind names one list of the catalog.
type CatalogKind string

// The catalog kinds.
const (
	CatalogFlow     CatalogKind = store.CatalogFlow
	CatalogTemplate CatalogKind = store.CatalogTemplate
)

// Catalog limits.
const (
	maxCatalogName   = 64
	maxExternalID    = 128
	maxCatalogParams = 20
	// maxListedNames bounds the saved names an error message lists.
	maxListedNames = 10
)

// CatalogEntry is a flow or template saved under a name.
type CatalogEntry struct {
	Kind CatalogKind
	// Name is the entry's name, lower-cased.
	Name string
	// ExternalID is the provider's id: a flow id, or a template's name.
	ExternalID string
	// Language is a WhatsApp language code (en, en_US); a template's is
	// required, a flow's optional.
	Language string
	// Params is how many body parameters the template takes.
	Params int
	// Shape is what a template expects in a send (header, named
	// parameters, URL buttons); Status is Meta's (APPROVED, PAUSED, …;
	// "" for one typed in by hand); Synced says it came from the account.
	Shape     store.TemplateShape
	Status    string
	Category  string
	Synced    bool
	UpdatedAt time.Time
	UpdatedBy string
}

func catalogEntry(e store.CatalogEntry) CatalogEntry {
	return CatalogEntry{Kind: CatalogKind(e.Kind), Name: e.Name, ExternalID: e.ExternalID, Language: e.Language,
		Params: e.ParamCount, Shape: e.Shape, Status: e.Status, Category: e.Category, Synced: e.SyncedAt.Valid,
		UpdatedAt: e.UpdatedAt, UpdatedBy: e.UpdatedBy}
}

// plural is the kind's list as people say it: "flows", "templates".
func (k CatalogKind) plural() string { return words.Plural(string(k)) }

func checkKind(k CatalogKind) error {
	if k != CatalogFlow && k != CatalogTemplate {
		return Errorf(EINVALID, "Unknown kind %q: use flow or template.", Echo(string(k)))
	}
	return nil
}

// Catalog lists the saved entries of a kind by name.
func (s *Service) Catalog(ctx context.Context, kind CatalogKind) ([]CatalogEntry, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	list, err := s.st.CatalogEntries(ctx, string(kind))
	if err != nil {
		return nil, err
	}
	out := make([]CatalogEntry, len(list))
	for i, e := range list {
		out[i] = catalogEntry(e)
	}
	return out, nil
}

// CatalogEntry returns the saved entry of a kind with a name, in any case;
// ENOTFOUND when there is none.
func (s *Service) CatalogEntry(ctx context.Context, kind CatalogKind, name string) (CatalogEntry, error) {
	if err := checkKind(kind); err != nil {
		return CatalogEntry{}, err
	}
	e, ok, err := s.lookupCatalog(ctx, kind, name)
	if err != nil {
		return CatalogEntry{}, err
	}
	if !ok {
		return CatalogEntry{}, Errorf(ENOTFOUND, "There is no saved %s called %q; /%s lists them.", kind, Echo(name), kind.plural())
	}
	return e, nil
}

// lookupCatalog finds the entry named name (in any case); ok is false
// when there is none, or name cannot be a name at all.
func (s *Service) lookupCatalog(ctx context.Context, kind CatalogKind, name string) (CatalogEntry, bool, error) {
	key, err := catalogName(kind, name)
	if err != nil {
		return CatalogEntry{}, false, nil
	}
	e, err := s.st.CatalogEntry(ctx, string(kind), key)
	if errors.Is(err, store.ErrNotFound) {
		return CatalogEntry{}, false, nil
	}
	if err != nil {
		return CatalogEntry{}, false, err
	}
	return catalogEntry(e), true, nil
}

// PutCatalogEntry saves e under its kind and name: a new entry, or new
// values for the hand-made entry of that name (one synced from the
// account is the sync's to change). Admins only. The name is stored
// lower-cased; a template needs a language.
func (s *Service) PutCatalogEntry(ctx context.Context, a Actor, e CatalogEntry) (CatalogEntry, error) {
	if err := s.require(a, RoleAdmin, "managing saved flows and templates"); err != nil {
		return CatalogEntry{}, err
	}
	e, err := validCatalogEntry(e)
	if err != nil {
		return CatalogEntry{}, err
	}
	if prev, ok, err := s.lookupCatalog(ctx, e.Kind, e.Name); err != nil {
		return CatalogEntry{}, err
	} else if ok && prev.Synced {
		err := Errorf(ECONFLICT, "%q came from the account's template list, and each sync keeps it as the account has it; save yours under another name.", e.Name)
		s.audit(ctx, a, "catalog.put", describeEntry(e), outcome(err))
		return CatalogEntry{}, err
	}
	saved, err := s.st.PutCatalogEntry(ctx, store.CatalogEntry{Kind: string(e.Kind), Name: e.Name, ExternalID: e.ExternalID,
		Language: e.Language, ParamCount: e.Params}, a.Identity)
	s.audit(ctx, a, "catalog.put", describeEntry(e), outcome(err))
	if err != nil {
		return CatalogEntry{}, err
	}
	return catalogEntry(saved), nil
}

// RemoveCatalogEntry removes the saved entry of a kind with a name, in any
// case. Admins only. Campaigns that used it keep what it resolved to.
func (s *Service) RemoveCatalogEntry(ctx context.Context, a Actor, kind CatalogKind, name string) error {
	if err := s.require(a, RoleAdmin, "managing saved flows and templates"); err != nil {
		return err
	}
	if err := checkKind(kind); err != nil {
		return err
	}
	key, err := catalogName(kind, name)
	if err != nil {
		return Errorf(ENOTFOUND, "There is no saved %s called %q.", kind, Echo(name))
	}
	err = s.st.DeleteCatalogEntry(ctx, string(kind), key)
	if errors.Is(err, store.ErrNotFound) {
		err = Errorf(ENOTFOUND, "There is no saved %s called %q.", kind, key)
	}
	s.audit(ctx, a, "catalog.remove", string(kind)+" "+key, outcome(err))
	return err
}

// describeEntry is an entry in one line, for the audit log.
func describeEntry(e CatalogEntry) string {
	d := fmt.Sprintf("%s %s → %s", e.Kind, e.Name, e.ExternalID)
	if e.Language != "" {
		d += " " + e.Language
	}
	if e.Kind == CatalogTemplate || e.Params > 0 {
		d += " (" + words.Count(e.Params, "param") + ")"
	}
	return d
}

// validCatalogEntry checks an entry and returns it normalized.
func validCatalogEntry(e CatalogEntry) (CatalogEntry, error) {
	if err := checkKind(e.Kind); err != nil {
		return CatalogEntry{}, err
	}
	name, err := catalogName(e.Kind, e.Name)
	if err != nil {
		return CatalogEntry{}, err
	}
	id := strings.TrimSpace(e.ExternalID)
	what := "flow id"
	if e.Kind == CatalogTemplate {
		what = "template name (as WhatsApp knows it)"
	}
	switch {
	case id == "":
		return CatalogEntry{}, Errorf(EINVALID, "Give the %s that %q stands for.", what, name)
	case len([]rune(id)) > maxExternalID:
		return CatalogEntry{}, Errorf(EINVALID, "The %s is too long: at most %d characters.", what, maxExternalID)
	case !externalIDShape(id):
		return CatalogEntry{}, Errorf(EINVALID, "The %s %q has a space or a control character; it cannot hold either.", what, id)
	}
	lang, err := normLanguage(e.Language)
	switch {
	case err != nil:
		return CatalogEntry{}, err
	case lang == "" && e.Kind == CatalogTemplate:
		return CatalogEntry{}, Errorf(EINVALID, "A template needs its language, a WhatsApp language code such as en, en_US or hi.")
	}
	if e.Params < 0 || e.Params > maxCatalogParams {
		return CatalogEntry{}, Errorf(EINVALID, "A %s takes 0 to %d parameters, not %d.", e.Kind, maxCatalogParams, e.Params)
	}
	return CatalogEntry{Kind: e.Kind, Name: name, ExternalID: id, Language: lang, Params: e.Params}, nil
}

// catalogName checks a saved name and returns it lower-cased with single
// spaces: 1 to 64 letters, digits, spaces, dots, underscores and hyphens,
// with at least one letter, so that a name is never taken for an id made
// of digits.
func catalogName(kind CatalogKind, raw string) (string, error) {
	name := strings.ToLower(strings.Join(strings.Fields(raw), " "))
	switch n := len([]rune(name)); {
	case n == 0:
		return "", Errorf(EINVALID, "Give the %s a name of 1 to %d characters, e.g. \"order update\".", kind, maxCatalogName)
	case n > maxCatalogName:
		return "", Errorf(EINVALID, "The name %q is too long: at most %d characters.", Echo(name), maxCatalogName)
	}
	letter := false
	for _, r := range name {
		switch {
		case unicode.IsLetter(r):
			letter = true
		case unicode.IsMark(r), unicode.IsDigit(r), r == ' ', r == '.', r == '_', r == '-':
			// Marks: the vowel signs of Indic scripts are not letters.
		default:
			return "", Errorf(EINVALID, "The name %q holds %q: a name has only letters, digits, spaces and . _ -", name, string(r))
		}
	}
	if !letter {
		return "", Errorf(EINVALID, "The name %q has no letter: a name needs one, so it is never taken for a %s's id.", name, kind)
	}
	return name, nil
}

// externalIDShape reports whether id has no spaces or control characters.
func externalIDShape(id string) bool {
	return id != "" && !strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// normLanguage trims and normalizes a WhatsApp language code; "" stays
// "", and a code that is not one is EINVALID.
func normLanguage(raw string) (string, error) {
	lang := strings.TrimSpace(raw)
	if lang == "" {
		return "", nil
	}
	norm, ok := languageCode(lang)
	if !ok {
		return "", Errorf(EINVALID, "%q is not a WhatsApp language code such as en, en_US or hi.", Echo(lang))
	}
	return norm, nil
}

// languageCode checks a WhatsApp language code (two or three letters,
// optionally a region: en, fil, en_US, pt-br) and returns it as WhatsApp
// writes it: en, fil, en_US, pt_BR.
func languageCode(s string) (string, bool) {
	lang, region, hasRegion := strings.Cut(strings.ReplaceAll(s, "-", "_"), "_")
	letters := func(v string, minLen, maxLen int) bool {
		if len(v) < minLen || len(v) > maxLen {
			return false
		}
		for _, r := range v {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
				return false
			}
		}
		return true
	}
	if !letters(lang, 2, 3) {
		return "", false
	}
	if !hasRegion {
		return strings.ToLower(lang), true
	}
	if !letters(region, 2, 2) {
		return "", false
	}
	return strings.ToLower(lang) + "_" + strings.ToUpper(region), true
}

// looksLikeFlowID reports whether v can be a flow id typed as is: no
// spaces or control characters, and at least one digit (Meta's flow ids
// are numbers). A saved name is looked up before this is asked.
func looksLikeFlowID(v string) bool {
	return externalIDShape(v) && len([]rune(v)) <= maxExternalID && strings.ContainsFunc(v, unicode.IsDigit)
}

// resolveFlow turns what was given for a campaign's flow into the flow id
// it sends: the id of the saved flow of that name (in any case), or else
// the text itself when it looks like a flow id.
func (s *Service) resolveFlow(ctx context.Context, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", Errorf(EINVALID, "A flow needs a saved name or its id, e.g. flow=welcome or flow=1234567890.")
	}
	e, ok, err := s.lookupCatalog(ctx, CatalogFlow, v)
	if err != nil {
		return "", err
	}
	if ok {
		return e.ExternalID, nil
	}
	if looksLikeFlowID(v) {
		return v, nil
	}
	return "", s.unknownName(ctx, CatalogFlow, v, "A flow that is not saved is given by its id, which has digits, e.g. flow=1234567890.")
}

// unknownName is the refusal of a name that matches no saved entry and is
// no id either: it lists the saved names (the first few) and how to give
// an id instead.
func (s *Service) unknownName(ctx context.Context, kind CatalogKind, name, howRaw string) error {
	name = Echo(name)
	list, err := s.Catalog(ctx, kind)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return Errorf(ENOTFOUND, "There is no saved %s called %q, and no %s are saved yet (admins add them on the admin page). %s",
			kind, name, kind.plural(), howRaw)
	}
	var names []string
	for _, e := range list[:min(len(list), maxListedNames)] {
		names = append(names, quoteName(e.Name))
	}
	saved := strings.Join(names, ", ")
	if more := len(list) - maxListedNames; more > 0 {
		saved += fmt.Sprintf(" and %s more (/%s lists them all)", words.Number(more), kind.plural())
	}
	return Errorf(ENOTFOUND, "There is no saved %s called %q. Saved %s: %s. %s", kind, name, kind.plural(), saved, howRaw)
}
