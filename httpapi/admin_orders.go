package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// adminOrder is an order with its whole story: every gateway call (method, code,
// sub_code, latency) and its refunds — what support needs to answer "was I charged?".
type adminOrder struct {
	Order   f2fpay.PublicOrder    `json:"order"`
	Calls   []*f2fpay.GatewayCall `json:"calls"`
	Refunds []f2fpay.PublicRefund `json:"refunds"`
}

// adminFindOrder finds an order by its number for support, who often know nothing
// else: numbers are unique per app (docs/orders.md), so without appID the number must
// be unambiguous across apps, or the answer lists the apps that have it.
func (s *Server) adminFindOrder(ctx context.Context, appID *int64, no string) (*f2fpay.Order, error) {
	if appID != nil {
		return s.store.FindOrder(ctx, *appID, no)
	}
	os, err := s.store.ListOrders(ctx, f2fpay.OrderFilter{OutTradeNo: no, Limit: 10})
	if err != nil {
		return nil, err
	}
	switch len(os) {
	case 0:
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no order with out_trade_no %q", no)
	case 1:
		return os[0], nil
	}
	apps := make([]string, len(os))
	for i, o := range os {
		apps[i] = strconv.FormatInt(o.AppID, 10)
	}
	return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "out_trade_no %q is used by orders of several apps (app ids %s); add app_id=<id> to say which", no, strings.Join(apps, ", "))
}

func (s *Server) adminGetOrder(w http.ResponseWriter, r *http.Request) error {
	no := r.PathValue("out_trade_no")
	infoOf(r.Context()).outTradeNo = no
	appID, err := queryID(r.URL.Query(), "app_id")
	if err != nil {
		return err
	}
	o, err := s.adminFindOrder(r.Context(), appID, no)
	if err != nil {
		return err
	}
	calls, err := s.store.OrderCalls(r.Context(), o.ID)
	if err != nil {
		return err
	}
	refunds, err := s.store.ListRefunds(r.Context(), o.ID)
	if err != nil {
		return err
	}
	if calls == nil {
		calls = []*f2fpay.GatewayCall{}
	}
	shown := make([]f2fpay.PublicRefund, 0, len(refunds))
	for _, rf := range refunds {
		shown = append(shown, rf.Public(o))
	}
	writeJSON(w, http.StatusOK, adminOrder{Order: o.Public(), Calls: calls, Refunds: shown})
	return nil
}

func (s *Server) adminListOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f f2fpay.OrderFilter
	var err error
	if f.MerchantID, err = queryID(q, "merchant_id"); err != nil {
		return err
	}
	if f.TerminalID, err = queryID(q, "terminal_id"); err != nil {
		return err
	}
	if f.AppID, err = queryID(q, "app_id"); err != nil {
		return err
	}
	f.OutTradeNo = q.Get("out_trade_no")
	// Keyset pagination: before=<id> continues after the page that ended at that id
	// (orders come newest first), so pages neither skip nor repeat orders while new
	// ones arrive.
	if before, err := queryID(q, "before"); err != nil {
		return err
	} else if before != nil {
		f.BeforeID = *before
	}
	if v := q.Get("state"); v != "" {
		for _, st := range strings.Split(v, ",") {
			st := f2fpay.OrderState(strings.ToUpper(strings.TrimSpace(st)))
			if !st.Valid() {
				return f2fpay.Errorf(f2fpay.EINVALID, "state %q is not an order state; use PAYING, WAITING, UNKNOWN, PENDING, CANCELLING, PAID, FAILED, CANCELLED or CLOSED (several separated by commas)", st)
			}
			f.States = append(f.States, st)
		}
	}
	if f.Limit, err = queryLimit(q); err != nil {
		return err
	}
	os, err := s.store.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	shown := make([]f2fpay.PublicOrder, 0, len(os))
	for _, o := range os {
		shown = append(shown, o.Public())
	}
	page := map[string]any{"orders": shown}
	if len(os) == f.Limit {
		// There may be more: the next page starts below the last id of this one.
		last := os[len(os)-1].ID
		page["next_before"] = last
		next := *r.URL
		nq := next.Query()
		nq.Set("before", strconv.FormatInt(last, 10))
		next.RawQuery = nq.Encode()
		page["next"] = next.RequestURI()
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
