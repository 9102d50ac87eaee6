package httpapi

import (
	"context"
	"net/http"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// adminRefund is the answer of a back-office refund: the refund and the order as it
// now stands (its refunded_amount moved with the refund).
type adminRefund struct {
	Refund f2fpay.PublicRefund `json:"refund"`
	Order  f2fpay.PublicOrder  `json:"order"`
}

// adminPostRefund refunds an order from the back office (POST
// /admin/orders/{out_trade_no}/refunds, ?app_id= when the number is used by orders of
// several apps): the body is a terminal's refund body, {"refund_id","amount","reason"},
// and the refund goes through the payment engine like a terminal's. The refund_id is
// the refund's idempotency key: sent again with the same amount it answers the same
// refund (its current state) and refunds nothing more; with another amount it is 409.
// refund_ids share one namespace per order with the terminals' (and the console's
// "console-…"), so give back-office refunds a prefix of their own ("bo-…").
func (s *Server) adminPostRefund(w http.ResponseWriter, r *http.Request) error {
	no := r.PathValue("out_trade_no")
	infoOf(r.Context()).outTradeNo = no
	appID, err := queryID(r.URL.Query(), "app_id")
	if err != nil {
		return err
	}
	var req refundRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if err := f2fpay.CheckID("refund_id", req.RefundID, true, maxRefundIDLen); err != nil {
		return err
	}
	infoOf(r.Context()).refundID = req.RefundID
	amount, err := parseAmountField("amount", req.Amount)
	if err != nil {
		return err
	}
	if err := checkAlipayText("reason", req.Reason, false, alipay.LimitRefundReason); err != nil {
		return err
	}
	if s.engine == nil {
		return f2fpay.Errorf(f2fpay.ENOTIMPLEMENTED, "this server has no payment engine; refunds need one")
	}
	o, err := s.adminFindOrder(r.Context(), appID, no)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(actionWait, s.maxWait))
	defer cancel()
	rf, err := s.engine.Refund(ctx, payment.RefundRequest{AppID: o.AppID, OutTradeNo: o.OutTradeNo, RefundID: req.RefundID, Amount: amount, Reason: req.Reason})
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "back-office refund", "merchant_id", o.MerchantID, "out_trade_no", o.OutTradeNo,
		"refund_id", req.RefundID, "amount", amount.String(), "state", rf.State)
	if o, err = s.store.FindOrderByID(context.WithoutCancel(r.Context()), rf.OrderID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminRefund{Refund: rf.Public(o), Order: o.Public()})
	return nil
}
