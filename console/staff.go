package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// The staff page: an owner lists the staff of their scope and creates staff members,
// each with a random password shown once (docs/console.md "Staff and roles").

type staffView struct {
	Staff    []*f2fpay.Staff
	Roles    []f2fpay.StaffRole
	Created  *f2fpay.Staff
	Password string // the new member's password, shown once
	Problem  string
}

var allRoles = []f2fpay.StaffRole{f2fpay.RoleOwner, f2fpay.RoleFinance, f2fpay.RoleSupport, f2fpay.RoleReadOnly}

func (c *Console) staffPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.staff.Role.CanAudit() {
		return errForbidden
	}
	return c.renderStaff(w, r, s, http.StatusOK, staffView{})
}

func (c *Console) renderStaff(w http.ResponseWriter, r *http.Request, s *session, status int, v staffView) error {
	all, err := c.staff.ListStaff(r.Context())
	if err != nil {
		return err
	}
	for _, st := range all {
		// A merchant's owner sees that merchant's staff; the operator's see everyone.
		if s.staff.MerchantID == 0 || st.MerchantID == s.staff.MerchantID {
			v.Staff = append(v.Staff, st)
		}
	}
	v.Roles = allRoles
	return c.render(w, r, status, "staff", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "staff", Data: v})
}

func (c *Console) createStaff(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.staff.Role.CanAudit() {
		c.record(r.Context(), r, s.staff, s.staff.MerchantID, "create_user_refused", r.PostForm.Get("login"), "role "+string(s.staff.Role))
		return errForbidden
	}
	f := r.PostForm
	st := &f2fpay.Staff{Login: strings.TrimSpace(f.Get("login")), Name: strings.TrimSpace(f.Get("name")),
		Role: f2fpay.StaffRole(f.Get("role")), MerchantID: s.staff.MerchantID}
	if s.staff.MerchantID == 0 && f.Get("merchant") != "" {
		m, err := strconv.ParseInt(f.Get("merchant"), 10, 64)
		if err != nil || m < 0 {
			return c.renderStaff(w, r, s, http.StatusBadRequest, staffView{Problem: fmt.Sprintf("%s %q", s.lang.t("merchant"), f.Get("merchant"))})
		}
		if m > 0 {
			if _, err := c.store.FindMerchant(r.Context(), m); err != nil {
				return c.renderStaff(w, r, s, http.StatusBadRequest, staffView{Problem: f2fpay.ErrorMessage(err)})
			}
		}
		st.MerchantID = m
	}
	password := newToken()[:20]
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	st.PasswordHash = hash
	if len([]rune(st.Name)) > f2fpay.MaxNameLen {
		return c.renderStaff(w, r, s, http.StatusBadRequest, staffView{Problem: fmt.Sprintf("name: at most %d characters", f2fpay.MaxNameLen)})
	}
	if err := st.Validate(); err != nil {
		return c.renderStaff(w, r, s, http.StatusBadRequest, staffView{Problem: f2fpay.ErrorMessage(err)})
	}
	if err := c.staff.CreateStaff(r.Context(), st); err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			return c.renderStaff(w, r, s, http.StatusConflict, staffView{Problem: f2fpay.ErrorMessage(err)})
		}
		return err
	}
	if err := c.record(r.Context(), r, s.staff, st.MerchantID, "create_user", st.Login, fmt.Sprintf("role %s, merchant %d", st.Role, st.MerchantID)); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return c.renderStaff(w, r, s, http.StatusCreated, staffView{Created: st, Password: password})
}
