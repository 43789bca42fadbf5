package webadmin

import (
	"net/http"
	"strings"

	"github.com/messagebridge/messagebridge/commands/ops"
)

type accountsData struct {
	Accounts []ops.AdminAccount
	Username string
}

// accountsPage lists the web admin accounts: separate from the chat
// operators, they sign in to this page.
func (s *server) accountsPage(w http.ResponseWriter, r *http.Request) {
	s.renderAccounts(w, r, http.StatusOK, "", nil)
}

func (s *server) renderAccounts(w http.ResponseWriter, r *http.Request, code int, username string, errs []string) {
	list, err := s.ops.AdminAccounts(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.render(w, r, code, "accounts", page{Title: "Admin accounts", Nav: "accounts", Errors: errs,
		Data: accountsData{Accounts: list, Username: username}})
}

type accountForm struct {
	Username, Password, Confirm string
}

func (f accountForm) Validate() []string {
	var errs []string
	if f.Username == "" {
		errs = append(errs, "Type a username.")
	}
	if f.Password == "" {
		errs = append(errs, "Type a password.")
	} else if f.Password != f.Confirm {
		errs = append(errs, "The two passwords differ.")
	}
	return errs
}

func accountFormFrom(r *http.Request) accountForm {
	return accountForm{Username: strings.TrimSpace(r.PostFormValue("username")),
		Password: r.PostFormValue("password"), Confirm: r.PostFormValue("confirm")}
}

func (s *server) accountCreate(w http.ResponseWriter, r *http.Request) {
	f := accountFormFrom(r)
	if errs := f.Validate(); len(errs) > 0 {
		s.renderAccounts(w, r, http.StatusUnprocessableEntity, f.Username, errs)
		return
	}
	a, err := s.ops.CreateAdmin(r.Context(), actor(r), f.Username, f.Password)
	if err != nil {
		s.fail(w, r, "/admin/accounts", err)
		return
	}
	s.done(w, r, "/admin/accounts", "Admin account %s is ready; give them the password in person.", a.Username)
}

func (s *server) accountPassword(w http.ResponseWriter, r *http.Request) {
	f := accountFormFrom(r)
	if errs := f.Validate(); len(errs) > 0 {
		s.renderAccounts(w, r, http.StatusUnprocessableEntity, "", errs)
		return
	}
	if err := s.ops.SetAdminPassword(r.Context(), actor(r), f.Username, f.Password); err != nil {
		s.fail(w, r, "/admin/accounts", err)
		return
	}
	// A changed password ends every session of the account; one's own
	// goes on under the new password.
	if me, _ := accountFrom(r.Context()); strings.EqualFold(me.Username, f.Username) {
		sess, err := s.ops.Login(r.Context(), me.Username, f.Password, s.deps.SessionIdle)
		if err != nil {
			s.fail(w, r, "/admin/login", err)
			return
		}
		setSession(w, r, sess.Token)
		s.done(w, r, "/admin/accounts", "Your password is changed; your other sessions are signed out.")
		return
	}
	s.done(w, r, "/admin/accounts", "The password of %s is changed; their sessions are signed out.", f.Username)
}

func (s *server) accountRemove(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("username"))
	if err := s.ops.RemoveAdmin(r.Context(), actor(r), name); err != nil {
		s.fail(w, r, "/admin/accounts", err)
		return
	}
	s.done(w, r, "/admin/accounts", "Admin account %s is removed.", name)
}
