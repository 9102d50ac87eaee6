package recon

import (
	"context"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// repairAll checks every entry that is not closed or pending with Alipay and applies
// what Alipay confirms. A run started again repeats the checks of entries whose
// outcome was not recorded: Engine.Reconcile changes nothing twice.
func (rn *run) repairAll(ctx context.Context, entries []*f2fpay.ReconEntry) error {
	for i, e := range entries {
		if e.Status != f2fpay.ReconOpen {
			continue
		}
		rn.repair(ctx, e)
		if err := rn.cfg.Store.UpdateReconEntry(ctx, e); err != nil {
			return err
		}
		rn.cfg.Progress("repair", int64(i+1), int64(len(entries)))
	}
	return ctx.Err()
}

// word describes Alipay's answer for the record.
func word(w *payment.AlipayWord) string {
	if !w.Answered {
		return "no answer (" + w.Error + ")"
	}
	s := w.Status
	if w.TradeNo != "" {
		s += " trade_no " + w.TradeNo
	}
	if w.Total != 0 {
		s += " total " + w.Total.String()
	}
	if w.Receipt != 0 {
		s += " receipt " + w.Receipt.String()
	}
	if w.Refund != 0 {
		s += " refund " + w.Refund.String()
	}
	return s
}

// repair decides one entry on Alipay's word and records what was done; it leaves the
// entry open with a reason when Alipay's word does not settle it.
func (rn *run) repair(ctx context.Context, e *f2fpay.ReconEntry) {
	by := "recon:" + rn.cfg.Owner
	now := rn.cfg.Clock.Now
	if e.Class == f2fpay.ReconFeeDiffers {
		e.Reason = "no query of Alipay tells the fee: the bill is Alipay's word on it; take the difference up with Alipay, or correct the app's agreed fee rate"
		return
	}
	req := ""
	if e.Class == f2fpay.ReconRefundAlipayOnly || e.Class == f2fpay.ReconRefundLocalOnly ||
		(e.OutRequestNo != "" && (e.Class == f2fpay.ReconAmountDiffers || e.Class == f2fpay.ReconDuplicate)) {
		req = e.OutRequestNo
	}
	o, w, err := rn.cfg.Engine.Reconcile(ctx, rn.app.ID, e.OutTradeNo, req)
	if err != nil {
		e.Actions = append(e.Actions, f2fpay.ReconAction{At: now(), By: by, What: "engine.reconcile", Outcome: "failed: " + f2fpay.ErrorMessage(err)})
		e.Reason = "the check with Alipay failed (" + f2fpay.ErrorMessage(err) + "): run again"
		return
	}
	act := f2fpay.ReconAction{At: now(), By: by, What: w.Method, Outcome: word(w)}
	if !w.Answered {
		e.Actions = append(e.Actions, act)
		e.Reason = "Alipay did not answer the check: run again"
		return
	}
	open := func(reason string) { e.Status, e.Reason = f2fpay.ReconOpen, reason }
	confirmed := func(reason string) { e.Status, e.Reason = f2fpay.ReconConfirmed, reason }
	switch e.Class {
	case f2fpay.ReconAlipayOnly:
		switch {
		case o != nil && o.State == f2fpay.OrderPaid:
			e.Status, e.Reason = f2fpay.ReconRepaired, "Alipay confirmed the payment; the order is PAID through the engine, and its event is in the outbox"
		case o != nil && o.State == f2fpay.OrderCancelling:
			open("the order is being cancelled: the cancel refunds the paid trade; run again once it has")
		case o != nil:
			open("Alipay says " + w.Status + " and the order is " + string(o.State) + ": a person must decide")
		case w.Paid():
			open("paid at Alipay with no order here (a sale made outside the service, or an order lost): refund the buyer or book the sale by hand")
		default:
			open("the bill lists a trade that Alipay's trade.query answers " + w.Status + " for: ask Alipay")
		}
	case f2fpay.ReconLocalOnly:
		if w.Paid() {
			confirmed("Alipay's trade.query confirms the payment: the bill lacks the row; nothing changed here (ask Alipay for a corrected bill)")
		} else {
			open("PAID here, and Alipay answers " + w.Status + ": a paid order never moves back; a person must find out what happened")
		}
	case f2fpay.ReconStatusDiffers:
		if w.Paid() {
			open("Alipay says paid and the order is " + string(o.State) + " here: a final order is not moved; refund the buyer or book the sale by hand")
		} else {
			confirmed("Alipay's trade.query agrees with the order (" + w.Status + "): the bill is wrong; nothing changed here")
		}
	case f2fpay.ReconAmountDiffers:
		switch {
		case req != "" && w.Status == "REFUND_SUCCESS" && w.Refund == e.LocalAmount:
			confirmed("Alipay's refund query agrees with the refund here: the bill's amount is wrong")
		case req == "" && o != nil && w.Paid() && w.Total == o.TotalAmount && (w.Receipt == 0 || w.Receipt == o.ReceiptAmount) && (w.TradeNo == "" || w.TradeNo == o.TradeNo):
			confirmed("Alipay's trade.query agrees with the order's amounts: the bill's are wrong; nothing changed here")
		default:
			open("Alipay's answer agrees with the bill: a paid order's amounts are not rewritten; correct it by hand")
		}
	case f2fpay.ReconRefundAlipayOnly:
		switch {
		case o != nil && w.Status == "REFUND_SUCCESS" && rn.refundSucceeded(ctx, o.ID, e.OutRequestNo):
			e.Status, e.Reason = f2fpay.ReconRepaired, "Alipay confirmed the refund; it is SUCCEEDED through the engine, and its event is in the outbox"
		case w.Status == "REFUND_SUCCESS":
			open("refunded at Alipay with no refund here (made outside the service): book it by hand")
		default:
			open("the bill lists a refund that Alipay's refund query answers " + w.Status + " for: ask Alipay")
		}
	case f2fpay.ReconRefundLocalOnly:
		if w.Status == "REFUND_SUCCESS" {
			confirmed("Alipay's refund query confirms the refund: the bill lacks the row; nothing changed here")
		} else {
			open("SUCCEEDED here, and Alipay's refund query answers " + w.Status + ": a person must find out what happened")
		}
	case f2fpay.ReconDuplicate:
		switch {
		case req == "" && w.Paid() && w.TradeNo == e.TradeNo:
			confirmed("Alipay has one trade for the order (" + w.TradeNo + "): the bill repeats its row; no double payment")
		case req != "" && w.Status == "REFUND_SUCCESS":
			confirmed("Alipay has the refund once: the bill repeats its row")
		default:
			open("a second trade for the order (a double payment): no refund policy is configured, so a person must refund the buyer")
		}
	}
	e.Actions = append(e.Actions, act)
}

func (rn *run) refundSucceeded(ctx context.Context, orderID int64, outRequestNo string) bool {
	r, err := rn.cfg.Store.FindRefund(ctx, orderID, outRequestNo)
	return err == nil && r.State == f2fpay.RefundSucceeded
}
