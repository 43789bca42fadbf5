package webadmin

import (
	"net/http"

	"github.com/messagebridge/messagebridge/commands/ops"
)

type operatorsData struct {
	Operators []ops.Operator
	Roles     []string
	Identity  string
	Role      string
}

// operatorsPage lists the chat identities that may use the bot, with
// their roles.
func (s *server) operatorsPage(w http.ResponseWriter, r *http.Request) {
	s.renderOperators(w, r, http.StatusOK, operatorForm{Role: ops.RoleStaff}, nil)
}

func (s *server) renderOperators(w http.ResponseWriter, r *http.Request, code int, f operatorForm, errs []string) {
	list, err := s.ops.Operators(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, code, "operators", page{Title: "Operators", Nav: "operators", Errors: errs,
		Data: operatorsData{Operators: list, Roles: ops.Roles(), Identity: f.Identity, Role: f.Role}})
}

type operatorForm struct {
	Identity, Role string
}

func (f operatorForm) Validate() []string {
	var errs []string
	if f.Identity == "" {
		errs = append(errs, "Type the chat identity: telegram:<user id> or whatsapp:<number>.")
	}
	if f.Role == "" {
		errs = append(errs, "Choose a role.")
	}
	return errs
}

func (s *server) operatorSave(w http.ResponseWriter, r *http.Request) {
	f := operatorForm{Identity: r.PostFormValue("identity"), Role: r.PostFormValue("role")}
	if errs := f.Validate(); len(errs) > 0 {
		s.renderOperators(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	op, err := s.ops.PutOperator(r.Context(), actor(r), f.Identity, f.Role)
	if err != nil {
		s.fail(w, r, "/admin/operators", err)
		return
	}
	s.done(w, r, "/admin/operators", "%s may now use the bot as %s.", op.Identity, op.Role)
}

func (s *server) operatorRemove(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("identity")
	if err := s.ops.RemoveOperator(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, "/admin/operators", err)
		return
	}
	s.done(w, r, "/admin/operators", "%s may no longer use the bot.", id)
}
