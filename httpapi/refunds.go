package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// RefundEngine is the refund half of Engine.
type RefundEngine interface {
	Refund(ctx context.Context, req payment.RefundRequest) (*f2fpay.Refund, error)
	RefundStatus(ctx context.Context, appID int64, outTradeNo, refundID string) (*f2fpay.Refund, error)
}

// maxRefundIDLen bounds a terminal's refund_id: it becomes Alipay's out_request_no
// behind a prefix (payment.OutRequestNo), which must stay within
// alipay.LimitOutRequestNo.
const maxRefundIDLen = 60

type refundRequest struct {
	RefundID string `json:"refund_id"`
	Amount   string `json:"amount"`
	Reason   string `json:"reason"`
}

// RefundView is a refund as the terminal API shows it, with the order's refunded total
// so the cashier sees what is left.
type RefundView struct {
	RefundID       string        `json:"refund_id"`
	OutTradeNo     string        `json:"out_trade_no"`
	Amount         f2fpay.Amount `json:"amount"`
	Reason         string        `json:"reason,omitempty"`
	State          string        `json:"state"`
	Final          bool          `json:"final"`
	FailCode       string        `json:"fail_code,omitempty"`
	FailReason     string        `json:"fail_reason,omitempty"`
	TotalAmount    f2fpay.Amount `json:"total_amount"`
	RefundedAmount f2fpay.Amount `json:"refunded_amount"`
	RefundedAt     *time.Time    `json:"refunded_at,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
}

func showRefund(refundID string, o *f2fpay.Order, r *f2fpay.Refund) RefundView {
	return RefundView{
		RefundID: refundID, OutTradeNo: o.OutTradeNo, Amount: r.Amount, Reason: r.Reason, State: string(r.State),
		Final: r.State.Final(), FailCode: r.FailCode, FailReason: r.FailReason, TotalAmount: o.TotalAmount,
		RefundedAmount: o.RefundedAmount, RefundedAt: f2fpay.PublicTime(r.RefundedAt), CreatedAt: r.CreatedAt.UTC(),
	}
}

func (s *Server) postRefund(w http.ResponseWriter, r *http.Request) error {
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
	o, err := s.orderFor(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(actionWait, s.maxWait))
	defer cancel()
	rf, err := s.engine.Refund(ctx, payment.RefundRequest{AppID: o.AppID, OutTradeNo: o.OutTradeNo, RefundID: req.RefundID, Amount: amount, Reason: req.Reason})
	if err != nil {
		return err
	}
	return s.answerRefund(w, r, req.RefundID, rf)
}

func (s *Server) getRefund(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("refund_id")
	infoOf(r.Context()).refundID = id
	if err := f2fpay.CheckID("refund_id", id, true, maxRefundIDLen); err != nil {
		return err
	}
	o, err := s.orderFor(r)
	if err != nil {
		return err
	}
	rf, err := s.engine.RefundStatus(r.Context(), o.AppID, o.OutTradeNo, id)
	if err != nil {
		return err
	}
	return s.answerRefund(w, r, id, rf)
}

func (s *Server) answerRefund(w http.ResponseWriter, r *http.Request, refundID string, rf *f2fpay.Refund) error {
	// Reread the order: its refunded total moved with the refund.
	o, err := s.store.FindOrderByID(context.WithoutCancel(r.Context()), rf.OrderID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showRefund(refundID, o, rf))
	return nil
}
