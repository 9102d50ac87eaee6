package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Sales: how a vending machine puts what the buyer chose on the member's H5 page
// (docs/vending.md §8.3). The machine posts a sale; the page for the machine
// (/m/{terminal}) shows its newest open sale to a signed-in member, who pays it with
// one tap (trade.create + tradePay); the machine long-polls the sale, which carries
// the payment once a member took it.

type saleRequest struct {
	Amount     string `json:"amount"`
	Subject    string `json:"subject"`
	OutTradeNo string `json:"out_trade_no"`
	// ExpiresInSeconds is how long the sale stays on the page; 120 by default, at
	// most 900.
	ExpiresInSeconds *int `json:"expires_in_seconds"`
}

// Sale is a sale as the terminal API shows it.
type Sale struct {
	ID         int64         `json:"id"`
	OutTradeNo string        `json:"out_trade_no"`
	Amount     f2fpay.Amount `json:"amount"`
	Subject    string        `json:"subject"`
	State      string        `json:"state"`
	ExpiresAt  time.Time     `json:"expires_at"`
	// PageURL is the machine's member page, for its QR code.
	PageURL string `json:"page_url,omitempty"`
	// Payment is the JSAPI order once a member took the sale.
	Payment *Payment `json:"payment,omitempty"`
}

func (s *Server) showSale(r *http.Request, sl *f2fpay.Sale, o *f2fpay.Order) Sale {
	out := Sale{ID: sl.ID, OutTradeNo: sl.OutTradeNo, Amount: sl.Amount, Subject: sl.Subject, State: string(sl.State),
		ExpiresAt: sl.ExpiresAt}
	if s.publicURL != "" {
		out.PageURL = fmt.Sprintf("%s/m/%d", s.publicURL, sl.TerminalID)
	}
	if o != nil {
		p := s.payment(r, o)
		out.Payment = &p
	}
	return out
}

func (s *Server) postSale(w http.ResponseWriter, r *http.Request) error {
	var req saleRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	t := terminalOf(r.Context())
	amount, err := f2fpay.ParseAmount(req.Amount)
	if err != nil || amount <= 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "amount %q must be a positive amount in yuan with at most two decimals, such as \"3.50\"", req.Amount)
	}
	if err := alipay.LimitSubject.Check(req.Subject); err != nil || req.Subject == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "subject is required (what the buyer sees), at most %d bytes", alipay.LimitSubject.Max)
	}
	ttl := 120 * time.Second
	if req.ExpiresInSeconds != nil {
		if *req.ExpiresInSeconds < 10 || *req.ExpiresInSeconds > 900 {
			return f2fpay.Errorf(f2fpay.EINVALID, "expires_in_seconds must be between 10 and 900")
		}
		ttl = time.Duration(*req.ExpiresInSeconds) * time.Second
	}
	otn := req.OutTradeNo
	if otn == "" {
		otn = "V" + s.clock.Now().In(alipay.Beijing()).Format("20060102150405") + randomName()
	} else if err := f2fpay.CheckID("out_trade_no", otn, true, 64); err != nil {
		return err
	}
	sl := &f2fpay.Sale{MerchantID: t.MerchantID, TerminalID: t.ID, OutTradeNo: otn, Amount: amount, Subject: req.Subject,
		ExpiresAt: s.clock.Now().Add(ttl)}
	if err := s.store.CreateSale(r.Context(), sl); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.showSale(r, sl, nil))
	return nil
}

// saleFor loads the sale in the path; another terminal's sale is not found.
func (s *Server) saleFor(r *http.Request) (*f2fpay.Sale, error) {
	id, err := pathID(r, "id", "sale id")
	if err != nil {
		return nil, err
	}
	sl, err := s.store.FindSale(r.Context(), id)
	if err == nil && sl.TerminalID != terminalOf(r.Context()).ID {
		err = f2fpay.Errorf(f2fpay.ENOTFOUND, "sale %d not found", id)
	}
	return sl, err
}

// getSale answers the sale; with ?wait= it waits until a member took it and its
// payment is final, or the wait ends.
func (s *Server) getSale(w http.ResponseWriter, r *http.Request) error {
	wait, err := s.parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		return err
	}
	sl, err := s.saleFor(r)
	if err != nil {
		return err
	}
	t := terminalOf(r.Context())
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	// Until a member takes it the sale has no order; the page's tap is rare enough
	// that a read every half second costs nothing.
	for wait > 0 && sl.State == f2fpay.SaleOpen && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
			if sl, err = s.store.FindSale(r.Context(), sl.ID); err != nil {
				return err
			}
		}
	}
	var o *f2fpay.Order
	if sl.State == f2fpay.SaleTaken {
		o, err = s.engine.Order(r.Context(), t.AppID, sl.OutTradeNo)
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			o, err = nil, nil // taken, trade being created
		}
		if err != nil {
			return err
		}
		if o != nil && !o.State.Final() && ctx.Err() == nil {
			if d := time.Until(deadlineOf(ctx)); d > 0 {
				if n, err := s.engine.WaitOrder(ctx, t.AppID, o.OutTradeNo, d); err == nil && n != nil {
					o = n
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, s.showSale(r, sl, o))
	return nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

func (s *Server) postSaleCancel(w http.ResponseWriter, r *http.Request) error {
	sl, err := s.saleFor(r)
	if err != nil {
		return err
	}
	sl, err = s.store.CancelSale(r.Context(), sl.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.showSale(r, sl, nil))
	return nil
}
