package httpapi

import (
	"net/http"
	"strconv"

	"github.com/f2fpay/f2fpay"
)

// Members, as an operator sees them: phone numbers masked, never in the clear
// (docs/vending.md §8.4). Unlink removes one linked Alipay account; erase drops the
// person and keeps the orders.

// memberParam loads the member in the path.
func (s *Server) memberParam(r *http.Request) (*f2fpay.Member, error) {
	id, err := pathID(r, "id", "member id")
	if err != nil {
		return nil, err
	}
	return s.store.FindMember(r.Context(), id)
}

func (s *Server) adminListMembers(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	f := f2fpay.MemberFilter{MerchantID: m.ID}
	q := r.URL.Query()
	if v := q.Get("after_id"); v != "" {
		if f.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterID < 0 {
			return f2fpay.Errorf(f2fpay.EINVALID, "after_id %q is not a member id", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 500 {
			return f2fpay.Errorf(f2fpay.EINVALID, "limit %q must be between 1 and 500", v)
		}
	}
	list, err := s.store.ListMembers(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*f2fpay.Member{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": list})
	return nil
}

func (s *Server) adminGetMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.memberParam(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) adminUnlinkIdentity(w http.ResponseWriter, r *http.Request) error {
	m, err := s.memberParam(r)
	if err != nil {
		return err
	}
	iid, err := pathID(r, "identity", "identity id")
	if err != nil {
		return err
	}
	if err := s.store.UnlinkIdentity(r.Context(), m.ID, iid); err != nil {
		return err
	}
	if m, err = s.store.FindMember(r.Context(), m.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) adminEraseMember(w http.ResponseWriter, r *http.Request) error {
	m, err := s.memberParam(r)
	if err != nil {
		return err
	}
	if err := s.decodeEmpty(w, r); err != nil && r.ContentLength > 0 {
		return err
	}
	if err := s.store.EraseMember(r.Context(), m.ID); err != nil {
		return err
	}
	if m, err = s.store.FindMember(r.Context(), m.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}
