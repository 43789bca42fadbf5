package webadmin

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/messagebridge/messagebridge/commands/ops"
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
		if ops.ErrorCode(err) == ops.EINVALID {
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
