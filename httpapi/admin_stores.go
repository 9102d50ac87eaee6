package httpapi

import (
	"net/http"

	"github.com/f2fpay/f2fpay"
)

type storeRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (s *Server) adminCreateStore(w http.ResponseWriter, r *http.Request) {
	m, err := s.merchantParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var req storeRequest
	if err := s.decode(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// The code is sent to Alipay as store_id (at most 32 characters there).
	if err := checkID("code", req.Code, true, 32); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := checkText("name", req.Name, false, 128); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	st := &f2fpay.Store{MerchantID: m.ID, Code: req.Code, Name: req.Name}
	if err := s.store.CreateStore(r.Context(), st); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, st)
}

func (s *Server) adminListStores(w http.ResponseWriter, r *http.Request) {
	m, err := s.merchantParam(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sts, err := s.store.ListStores(r.Context(), m.ID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if sts == nil {
		sts = []*f2fpay.Store{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"stores": sts})
}
