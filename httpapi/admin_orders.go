package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/f2fpay/f2fpay"
)

const maxListLimit = 1000

// adminOrder is an order with its whole story: every gateway call (method, code,
// sub_code, latency) and its refunds — what support needs to answer "was I charged?".
type adminOrder struct {
	Order   f2fpay.PublicOrder    `json:"order"`
	Calls   []*f2fpay.GatewayCall `json:"calls"`
	Refunds []f2fpay.PublicRefund `json:"refunds"`
}

func (s *Server) adminGetOrder(w http.ResponseWriter, r *http.Request) {
	no := r.PathValue("out_trade_no")
	infoOf(r.Context()).outTradeNo = no
	o, err := s.store.FindOrder(r.Context(), no)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	calls, err := s.store.OrderCalls(r.Context(), o.ID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	refunds, err := s.store.ListRefunds(r.Context(), o.ID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if calls == nil {
		calls = []*f2fpay.GatewayCall{}
	}
	shown := make([]f2fpay.PublicRefund, 0, len(refunds))
	for _, rf := range refunds {
		shown = append(shown, rf.Public(o))
	}
	writeJSON(w, http.StatusOK, adminOrder{Order: o.Public(), Calls: calls, Refunds: shown})
}

func (s *Server) adminListOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f f2fpay.OrderFilter
	var err error
	if f.MerchantID, err = queryID(q, "merchant_id"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if f.TerminalID, err = queryID(q, "terminal_id"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if v := q.Get("state"); v != "" {
		for _, st := range strings.Split(v, ",") {
			st := f2fpay.OrderState(strings.ToUpper(strings.TrimSpace(st)))
			if !st.Valid() {
				writeError(w, r, s.log, f2fpay.Errorf(f2fpay.EINVALID, "state %q is not an order state; use PAYING, WAITING, UNKNOWN, PENDING, CANCELLING, PAID, FAILED, CANCELLED or CLOSED (several separated by commas)", st))
				return
			}
			f.States = append(f.States, st)
		}
	}
	if f.Limit, err = queryLimit(q); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	os, err := s.store.ListOrders(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	shown := make([]f2fpay.PublicOrder, 0, len(os))
	for _, o := range os {
		shown = append(shown, o.Public())
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": shown})
}

func queryID(q url.Values, name string) (*int64, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "query parameter %s=%q is not a positive whole number", name, v)
	}
	return &id, nil
}

func queryLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > maxListLimit {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "query parameter limit=%q must be a whole number from 1 to %d", v, maxListLimit)
	}
	return n, nil
}
