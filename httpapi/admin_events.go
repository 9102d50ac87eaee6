package httpapi

import (
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
)

func (s *Server) adminListEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f f2fpay.EventFilter
	var err error
	if f.MerchantID, err = queryID(q, "merchant_id"); err != nil {
		return err
	}
	if f.OrderID, err = queryID(q, "order_id"); err != nil {
		return err
	}
	if v := q.Get("out_trade_no"); v != "" {
		appID, err := queryID(q, "app_id")
		if err != nil {
			return err
		}
		o, err := s.adminFindOrder(r.Context(), appID, v)
		if err != nil {
			return err
		}
		f.OrderID = &o.ID
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f2fpay.Errorf(f2fpay.EINVALID, "query parameter since=%q is not an RFC 3339 time; write it like 2026-01-02T15:04:05+08:00", v)
		}
		f.Since = &t
	}
	switch v := q.Get("undelivered"); v {
	case "", "false", "0":
	case "true", "1":
		f.Undelivered = true
	default:
		return f2fpay.Errorf(f2fpay.EINVALID, "query parameter undelivered=%q must be true or false", v)
	}
	if f.Limit, err = queryLimit(q); err != nil {
		return err
	}
	es, err := s.store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	if es == nil {
		es = []*f2fpay.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": es})
	return nil
}

type replayRequest struct {
	MerchantID int64  `json:"merchant_id"`
	OrderID    int64  `json:"order_id"`
	OutTradeNo string `json:"out_trade_no"`
	// AppID (the service's app id) says whose out_trade_no it is, when several apps
	// have an order with that number.
	AppID       int64  `json:"app_id"`
	Since       string `json:"since"`
	Undelivered bool   `json:"undelivered"`
	// All must be set to replay every event: a replay without any filter resends the
	// merchant's whole history, which nobody should do by accident.
	All bool `json:"all"`
}

func (s *Server) adminReplayEvents(w http.ResponseWriter, r *http.Request) error {
	var req replayRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	var f f2fpay.EventFilter
	if req.MerchantID > 0 {
		f.MerchantID = &req.MerchantID
	}
	if req.OrderID > 0 {
		f.OrderID = &req.OrderID
	}
	if req.OutTradeNo != "" {
		var appID *int64
		if req.AppID > 0 {
			appID = &req.AppID
		}
		o, err := s.adminFindOrder(r.Context(), appID, req.OutTradeNo)
		if err != nil {
			return err
		}
		f.OrderID = &o.ID
	}
	if req.Since != "" {
		t, err := time.Parse(time.RFC3339, req.Since)
		if err != nil {
			return f2fpay.Errorf(f2fpay.EINVALID, "since %q is not an RFC 3339 time; write it like 2026-01-02T15:04:05+08:00", req.Since)
		}
		f.Since = &t
	}
	f.Undelivered = req.Undelivered
	if f.MerchantID == nil && f.OrderID == nil && f.Since == nil && !f.Undelivered && !req.All {
		return f2fpay.Errorf(f2fpay.EINVALID, "give at least one of merchant_id, order_id, out_trade_no, since or undelivered, or \"all\": true to replay every event")
	}
	n, err := s.store.ReplayEvents(r.Context(), f, s.clock.Now())
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "events replayed", "count", n)
	writeJSON(w, http.StatusOK, map[string]any{"replayed": n})
	return nil
}
