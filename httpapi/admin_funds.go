package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// FundEngine is what the fund-rule endpoints need of the engine (docs/vending.md §9).
type FundEngine interface {
	// SaveFundRule binds the receivers with Alipay, then saves the rule.
	SaveFundRule(ctx context.Context, r *f2fpay.FundRule) error
	FinalizeSale(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Settlement, error)
}

// fundRuleBody is a fund rule as the admin API reads and shows it: settle_delay as a
// Go duration ("24h", "90m").
type fundRuleBody struct {
	ID          int64                 `json:"id,omitempty"`
	StoreID     int64                 `json:"store_id,omitempty"`
	TerminalID  int64                 `json:"terminal_id,omitempty"`
	Mode        f2fpay.FundMode       `json:"mode"`
	Receivers   []f2fpay.FundReceiver `json:"receivers"`
	SettleDelay string                `json:"settle_delay,omitempty"`
	CreatedAt   *time.Time            `json:"created_at,omitempty"`
	UpdatedAt   *time.Time            `json:"updated_at,omitempty"`
}

func showFundRule(r *f2fpay.FundRule) fundRuleBody {
	b := fundRuleBody{ID: r.ID, StoreID: r.StoreID, TerminalID: r.TerminalID, Mode: r.Mode, Receivers: r.Receivers,
		CreatedAt: &r.CreatedAt, UpdatedAt: &r.UpdatedAt}
	if b.Receivers == nil {
		b.Receivers = []f2fpay.FundReceiver{}
	}
	if r.SettleDelay > 0 {
		b.SettleDelay = r.SettleDelay.String()
	}
	return b
}

// fundScope is the store or terminal a fund-rule request names.
func (s *Server) fundScope(r *http.Request, terminal bool) (merchantID, storeID, terminalID int64, err error) {
	if terminal {
		t, err := s.terminalParam(r)
		if err != nil {
			return 0, 0, 0, err
		}
		return t.MerchantID, 0, t.ID, nil
	}
	id, err := pathID(r, "id", "store id")
	if err != nil {
		return 0, 0, 0, err
	}
	st, err := s.store.FindStore(r.Context(), id)
	if err != nil {
		return 0, 0, 0, err
	}
	return st.MerchantID, st.ID, 0, nil
}

func (s *Server) adminPutFundRule(terminal bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		mid, sid, tid, err := s.fundScope(r, terminal)
		if err != nil {
			return err
		}
		var req fundRuleBody
		if err := s.decode(w, r, &req); err != nil {
			return err
		}
		rule := &f2fpay.FundRule{MerchantID: mid, StoreID: sid, TerminalID: tid, Mode: req.Mode, Receivers: req.Receivers}
		switch {
		case req.SettleDelay != "":
			d, err := time.ParseDuration(strings.TrimSpace(req.SettleDelay))
			if err != nil {
				return f2fpay.Errorf(f2fpay.EINVALID, "settle_delay %q is not a duration such as \"24h\" or \"90m\"", req.SettleDelay)
			}
			rule.SettleDelay = d
		case req.Mode == f2fpay.FundAsync:
			rule.SettleDelay = f2fpay.DefaultSettleDelay
		}
		if err := s.engine.SaveFundRule(r.Context(), rule); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, showFundRule(rule))
		return nil
	}
}

func (s *Server) adminGetFundRule(terminal bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, sid, tid, err := s.fundScope(r, terminal)
		if err != nil {
			return err
		}
		rule, err := s.store.FindFundRule(r.Context(), sid, tid)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, showFundRule(rule))
		return nil
	}
}

func (s *Server) adminDeleteFundRule(terminal bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		_, sid, tid, err := s.fundScope(r, terminal)
		if err != nil {
			return err
		}
		if err := s.store.DeleteFundRule(r.Context(), sid, tid); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// postFinal is POST /v1/payments/{out_trade_no}/final: the machine says the sale is
// final, so an asynchronous sharing settles now.
func (s *Server) postFinal(w http.ResponseWriter, r *http.Request) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) != "" {
		var empty struct{}
		if err := decodeJSON(body, &empty); err != nil {
			return err
		}
	}
	o, err := s.orderFor(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(actionWait, s.maxWait))
	defer cancel()
	st, err := s.engine.FinalizeSale(ctx, o.AppID, o.OutTradeNo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
