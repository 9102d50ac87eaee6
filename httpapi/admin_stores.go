package httpapi

import (
	"net/http"

	"github.com/f2fpay/f2fpay"
)

type storeRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (s *Server) adminCreateStore(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	var req storeRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	st := &f2fpay.Store{MerchantID: m.ID, Code: req.Code, Name: req.Name}
	if err := st.Validate(); err != nil {
		return err
	}
	if err := s.store.CreateStore(r.Context(), st); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, st)
	return nil
}

func (s *Server) adminListStores(w http.ResponseWriter, r *http.Request) error {
	m, err := s.merchantParam(r)
	if err != nil {
		return err
	}
	sts, err := s.store.ListStores(r.Context(), m.ID)
	if err != nil {
		return err
	}
	if sts == nil {
		sts = []*f2fpay.Store{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"stores": sts})
	return nil
}
