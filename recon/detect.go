package recon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// fee is the service fee the agreed rate (basis points) gives on a receipt, rounded
// half up to the fen, as Alipay rounds it.
func fee(receipt f2fpay.Amount, bp int) f2fpay.Amount {
	if receipt <= 0 {
		return 0
	}
	return f2fpay.Amount((int64(receipt)*int64(bp)*2 + 10000) / 20000)
}

func (rn *run) entry(class f2fpay.ReconClass, key string) *f2fpay.ReconEntry {
	return &f2fpay.ReconEntry{ReportID: rn.rep.ID, AppID: rn.app.ID, Day: rn.day, Class: class, Key: key,
		Status: f2fpay.ReconOpen, Reason: "not checked with Alipay yet: run with -repair to check and repair"}
}

func (rn *run) add(ctx context.Context, e *f2fpay.ReconEntry) error {
	_, err := rn.cfg.Store.AddReconEntry(ctx, e)
	return err
}

// detect joins the staged bill with the service's orders and refunds and records
// every difference.
func (rn *run) detect(ctx context.Context) error {
	st := rn.cfg.Store
	var n int64
	total := int64(rn.rep.BillTrades + rn.rep.BillRefunds)
	err := st.MatchBillTrades(ctx, rn.rep.ID, rn.app.ID, func(m *f2fpay.ReconTradeMatch) error {
		n++
		if n%1000 == 0 {
			rn.cfg.Progress("match", n, total)
		}
		for _, e := range rn.classifyTrade(m) {
			if err := rn.add(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = st.MatchBillRefunds(ctx, rn.rep.ID, rn.app.ID, func(m *f2fpay.ReconRefundMatch) error {
		n++
		if n%1000 == 0 {
			rn.cfg.Progress("match", n, total)
		}
		if e := rn.classifyRefund(m); e != nil {
			return rn.add(ctx, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	rn.cfg.Progress("match", n, total)
	pendingFrom := rn.to.Add(-rn.cfg.PendingWindow)
	until := rn.from.AddDate(0, 0, 2).Format("2006-01-02")
	err = st.UnbilledOrders(ctx, rn.rep.ID, rn.app.ID, rn.from, rn.to, func(o *f2fpay.Order) error {
		e := rn.entry(f2fpay.ReconLocalOnly, o.OutTradeNo)
		e.OutTradeNo, e.TradeNo, e.OrderID, e.LocalAmount = o.OutTradeNo, o.TradeNo, o.ID, o.TotalAmount
		e.Detail = fmt.Sprintf("PAID here at %s; the bill has no 交易 row", o.PaidAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04:05"))
		if !o.PaidAt.Before(pendingFrom) {
			e.Status, e.PendingUntil = f2fpay.ReconPending, until
			e.Reason = "paid within " + rn.cfg.PendingWindow.String() + " of midnight: matched again against the bills up to " + until
		}
		return rn.add(ctx, e)
	})
	if err != nil {
		return err
	}
	return st.UnbilledRefunds(ctx, rn.rep.ID, rn.app.ID, rn.from, rn.to, func(u *f2fpay.ReconUnbilledRefund) error {
		r := u.Refund
		e := rn.entry(f2fpay.ReconRefundLocalOnly, u.OutTradeNo+"/"+r.OutRequestNo)
		e.OutTradeNo, e.TradeNo, e.OutRequestNo, e.OrderID, e.LocalAmount = u.OutTradeNo, u.TradeNo, r.OutRequestNo, r.OrderID, r.Amount
		e.Detail = "refund SUCCEEDED here; the bill has no 退款 row"
		if !r.RefundedAt.Before(pendingFrom) {
			e.Status, e.PendingUntil = f2fpay.ReconPending, until
			e.Reason = "refunded within " + rn.cfg.PendingWindow.String() + " of midnight: matched again against the bills up to " + until
		}
		return rn.add(ctx, e)
	})
}

// classifyTrade returns the entries a 交易 row makes.
func (rn *run) classifyTrade(m *f2fpay.ReconTradeMatch) []*f2fpay.ReconEntry {
	r, o := &m.Row, m.Order
	mk := func(class f2fpay.ReconClass, key, detail string) *f2fpay.ReconEntry {
		e := rn.entry(class, key)
		e.OutTradeNo, e.TradeNo, e.BillAmount, e.Detail = r.OutTradeNo, r.TradeNo, r.OrderAmount, detail
		if o != nil {
			e.OrderID, e.LocalAmount = o.ID, o.TotalAmount
		}
		return e
	}
	if m.Earlier > 0 {
		return []*f2fpay.ReconEntry{mk(f2fpay.ReconDuplicate, fmt.Sprintf("trade/%s/%d", r.OutTradeNo, m.Earlier),
			fmt.Sprintf("the bill lists a 交易 of out_trade_no %s again (line %d, trade_no %s)", r.OutTradeNo, r.Line, r.TradeNo))}
	}
	switch {
	case o == nil:
		return []*f2fpay.ReconEntry{mk(f2fpay.ReconAlipayOnly, r.OutTradeNo, "paid at Alipay; no order here")}
	case !o.State.Final():
		return []*f2fpay.ReconEntry{mk(f2fpay.ReconAlipayOnly, r.OutTradeNo, "paid at Alipay; the order is "+string(o.State)+" here")}
	case o.State == f2fpay.OrderCancelled && o.CancelAction == "refund":
		return nil // paid, then refunded in full by the cancel: its 退款 row follows
	case o.State != f2fpay.OrderPaid:
		return []*f2fpay.ReconEntry{mk(f2fpay.ReconStatusDiffers, r.OutTradeNo, "paid at Alipay; the order is "+string(o.State)+" here")}
	}
	var out []*f2fpay.ReconEntry
	var diffs []string
	var billAmt, localAmt f2fpay.Amount
	diff := func(what string, b, l f2fpay.Amount) {
		if b != l {
			if len(diffs) == 0 {
				billAmt, localAmt = b, l
			}
			diffs = append(diffs, fmt.Sprintf("%s %s at Alipay, %s here", what, b, l))
		}
	}
	if o.TradeNo != "" && o.TradeNo != r.TradeNo {
		diffs = append(diffs, fmt.Sprintf("trade_no %s at Alipay, %s here", r.TradeNo, o.TradeNo))
	}
	var vouchers f2fpay.Amount
	for _, v := range o.Vouchers {
		vouchers += v.Amount
	}
	diff("total (订单金额)", r.OrderAmount, o.TotalAmount)
	diff("receipt (商家实收)", r.Receipt, o.ReceiptAmount)
	diff("merchant discount (商家优惠)", r.MerchantDiscount, o.MerchantDiscountAmount)
	diff("vouchers (券核销金额)", r.VoucherAmount, vouchers)
	if len(diffs) > 0 {
		e := mk(f2fpay.ReconAmountDiffers, r.OutTradeNo, strings.Join(diffs, "; "))
		e.BillAmount, e.LocalAmount = billAmt, localAmt
		out = append(out, e)
	}
	if want := fee(r.Receipt, rn.feeRate); -r.ServiceFee != want {
		e := mk(f2fpay.ReconFeeDiffers, r.OutTradeNo, fmt.Sprintf("服务费 %s charged; the agreed %d.%02d%% of %s is %s",
			-r.ServiceFee, rn.feeRate/100, rn.feeRate%100, r.Receipt, want))
		e.BillAmount, e.LocalAmount = -r.ServiceFee, want
		out = append(out, e)
	}
	return out
}

// classifyRefund returns the entry a 退款 row makes, nil when it matches.
func (rn *run) classifyRefund(m *f2fpay.ReconRefundMatch) *f2fpay.ReconEntry {
	r := &m.Row
	key := r.OutTradeNo + "/" + r.OutRequestNo
	mk := func(class f2fpay.ReconClass, detail string) *f2fpay.ReconEntry {
		e := rn.entry(class, key)
		e.OutTradeNo, e.TradeNo, e.OutRequestNo, e.BillAmount, e.LocalAmount = r.OutTradeNo, r.TradeNo, r.OutRequestNo, -r.OrderAmount, m.RefundAmount
		e.OrderID, e.Detail = m.OrderID, detail
		return e
	}
	switch {
	case m.Earlier > 0:
		e := mk(f2fpay.ReconDuplicate, fmt.Sprintf("the bill lists refund %s of %s again (line %d)", r.OutRequestNo, r.OutTradeNo, r.Line))
		e.Key = fmt.Sprintf("refund/%s/%d", key, m.Earlier)
		return e
	case m.RefundID != 0 && m.RefundState == f2fpay.RefundSucceeded:
		if -r.OrderAmount != m.RefundAmount {
			return mk(f2fpay.ReconAmountDiffers, fmt.Sprintf("refund %s: %s at Alipay, %s here", r.OutRequestNo, -r.OrderAmount, m.RefundAmount))
		}
		return nil
	case m.RefundID == 0 && m.OrderState == f2fpay.OrderCancelled && m.CancelAction == "refund":
		return nil // the refund of a cancel (action refund)
	case m.OrderID == 0:
		return mk(f2fpay.ReconRefundAlipayOnly, "refunded at Alipay; no order here")
	case m.RefundID == 0:
		return mk(f2fpay.ReconRefundAlipayOnly, "refunded at Alipay; no refund "+r.OutRequestNo+" here")
	default:
		return mk(f2fpay.ReconRefundAlipayOnly, "refunded at Alipay; the refund is "+string(m.RefundState)+" here")
	}
}

// settlePending matches the pending entries of the two days before against this day's
// bill: found → matched; past their last day → they count (open), and are repaired
// with this run when it repairs.
func (rn *run) settlePending(ctx context.Context, opts Options) error {
	st := rn.cfg.Store
	pend, err := st.PendingReconEntries(ctx, rn.app.ID, rn.day)
	if err != nil {
		return err
	}
	touched := map[int64]bool{}
	for _, e := range pend {
		kind, req := "trade", ""
		if e.Class == f2fpay.ReconRefundLocalOnly {
			kind, req = "refund", e.OutRequestNo
		}
		found, err := st.BillHasRow(ctx, rn.rep.ID, kind, e.OutTradeNo, req)
		if err != nil {
			return err
		}
		now := rn.cfg.Clock.Now()
		switch {
		case found:
			e.Status, e.Reason = f2fpay.ReconMatched, "found in the bill of "+rn.day
			e.Actions = append(e.Actions, f2fpay.ReconAction{At: now, By: "recon:" + rn.cfg.Owner, What: "bill " + rn.day, Outcome: "row found"})
		case rn.day >= e.PendingUntil:
			e.Status, e.Reason = f2fpay.ReconOpen, "not in the bills up to "+rn.day+": it counts"
			e.Actions = append(e.Actions, f2fpay.ReconAction{At: now, By: "recon:" + rn.cfg.Owner, What: "bill " + rn.day, Outcome: "row not found; pending period over"})
			if opts.Repair {
				rn.repair(ctx, e)
			}
		default:
			continue
		}
		if err := st.UpdateReconEntry(ctx, e); err != nil {
			return err
		}
		touched[e.ReportID] = true
	}
	for id := range touched {
		if err := rn.resummarize(ctx, id, pend); err != nil {
			return err
		}
	}
	return nil
}

// resummarize recomputes an earlier day's report after its pending entries changed.
func (rn *run) resummarize(ctx context.Context, reportID int64, hint []*f2fpay.ReconEntry) error {
	var day string
	for _, e := range hint {
		if e.ReportID == reportID {
			day = e.Day
		}
	}
	rep, err := rn.cfg.Store.FindReconReport(ctx, rn.app.ID, day)
	if err != nil {
		return err
	}
	rep.Summarize(rep.Entries)
	return rn.cfg.Store.UpdateReconSummary(ctx, rep)
}
