package webadmin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/messagebridge/messagebridge/commands/ops"
	"github.com/messagebridge/messagebridge/store/words"
)

type catalogData struct {
	Flows, Templates []ops.CatalogEntry
	Form             catalogForm
}

// catalogPage lists the named flow IDs and template IDs that campaigns
// pick by name (/campaign set <id> flow=<name> template=<name>).
func (s *server) catalogPage(w http.ResponseWriter, r *http.Request) {
	s.renderCatalog(w, r, http.StatusOK, catalogForm{Kind: string(ops.CatalogTemplate)}, nil)
}

func (s *server) renderCatalog(w http.ResponseWriter, r *http.Request, code int, f catalogForm, errs []string) {
	var d catalogData
	var err error
	if d.Flows, err = s.ops.Catalog(r.Context(), ops.CatalogFlow); err != nil {
		s.failPage(w, r, err)
		return
	}
	if d.Templates, err = s.ops.Catalog(r.Context(), ops.CatalogTemplate); err != nil {
		s.failPage(w, r, err)
		return
	}
	d.Form = f
	s.render(w, r, code, "catalog", page{Title: "Flows and templates", Nav: "catalog", Errors: errs, Data: d})
}

type catalogForm struct {
	Kind, Name, ExternalID, Language, Params string
}

func (f catalogForm) Validate() []string {
	var errs []string
	if f.Kind != string(ops.CatalogFlow) && f.Kind != string(ops.CatalogTemplate) {
		errs = append(errs, "Choose flow or template.")
	}
	if f.Name == "" {
		errs = append(errs, "Give it a name operators will type.")
	}
	if f.ExternalID == "" {
		errs = append(errs, "Type the provider's id.")
	}
	if f.Params != "" {
		if n, err := strconv.Atoi(f.Params); err != nil || n < 0 {
			errs = append(errs, "Parameters is a count: 0, 1, 2…")
		}
	}
	return errs
}

func (s *server) catalogSave(w http.ResponseWriter, r *http.Request) {
	f := catalogForm{Kind: r.PostFormValue("kind"), Name: strings.TrimSpace(r.PostFormValue("name")),
		ExternalID: strings.TrimSpace(r.PostFormValue("external_id")), Language: strings.TrimSpace(r.PostFormValue("language")),
		Params: strings.TrimSpace(r.PostFormValue("params"))}
	if errs := f.Validate(); len(errs) > 0 {
		s.renderCatalog(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	n, _ := strconv.Atoi(f.Params)
	e, err := s.ops.PutCatalogEntry(r.Context(), actor(r), ops.CatalogEntry{Kind: ops.CatalogKind(f.Kind), Name: f.Name,
		ExternalID: f.ExternalID, Language: f.Language, Params: n})
	if err != nil {
		if code := ops.ErrorCode(err); code == ops.EINVALID || code == ops.ECONFLICT {
			s.renderCatalog(w, r, http.StatusUnprocessableEntity, f, []string{ops.ErrorMessage(err)})
			return
		}
		s.fail(w, r, "/admin/catalog", err)
		return
	}
	s.done(w, r, "/admin/catalog", "Saved %s %q (%s); operators can now use %s=%s.", e.Kind, e.Name, e.ExternalID, e.Kind, e.Name)
}

func (s *server) catalogRemove(w http.ResponseWriter, r *http.Request) {
	kind, name := ops.CatalogKind(r.PostFormValue("kind")), r.PostFormValue("name")
	if err := s.ops.RemoveCatalogEntry(r.Context(), actor(r), kind, name); err != nil {
		s.fail(w, r, "/admin/catalog", err)
		return
	}
	s.done(w, r, "/admin/catalog", "Removed %s %q.", kind, name)
}

// maxFlashNames bounds the templates a sync's message names.
const maxFlashNames = 5

// catalogSync reads the templates from the account (Sync from Meta) and
// comes back to the page with the counts and what needs attention.
func (s *server) catalogSync(w http.ResponseWriter, r *http.Request) {
	res, err := s.ops.SyncTemplates(r.Context(), actor(r))
	if err != nil {
		s.fail(w, r, "/admin/catalog", err)
		return
	}
	msg := fmt.Sprintf("Templates synced from %s: %s.", words.List(res.Gateways), res.Summary())
	if len(res.NotApproved) > 0 {
		var names []string
		for _, e := range res.NotApproved {
			names = append(names, fmt.Sprintf("%s (%s)", e.Name, e.Status))
		}
		msg += " Not approved, so campaigns cannot send them: " + flashList(names) + "."
	}
	if len(res.Removed) > 0 {
		var names []string
		for _, e := range res.Removed {
			names = append(names, e.Name)
		}
		msg += " No longer in the account (kept as DELETED): " + flashList(names) + "."
	}
	if len(res.Clashes) > 0 {
		var names []string
		for _, c := range res.Clashes {
			names = append(names, c.Name)
		}
		msg += " Hand-made entries left alone (remove one to use the account's template of that name): " + flashList(names) + "."
	}
	if len(res.Skipped) > 0 {
		msg += " Skipped: " + flashList(res.Skipped) + "."
	}
	s.done(w, r, "/admin/catalog", "%s", msg)
}

// flashList joins the first few names and says how many more there are.
func flashList(names []string) string {
	shown := names[:min(len(names), maxFlashNames)]
	out := strings.Join(shown, ", ")
	if more := len(names) - len(shown); more > 0 {
		out += fmt.Sprintf(" and %s more", words.Number(more))
	}
	return words.Cut(out, 400)
}
