package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// Refunds above a merchant's threshold wait for a second person (docs/console.md
// "Refund approvals"): the form's refund is kept as a pending approval; another staff
// member with a refunding role approves it, and only then is the refund sent, through
// the same engine and with the same refund_id (the engine's idempotency key), or
// rejects it. Every step is audited.

// askApproval keeps the refund as a pending approval instead of sending it.
func (c *Console) askApproval(w http.ResponseWriter, r *http.Request, s *session, o *f2fpay.Order, refundID string, amount f2fpay.Amount, reason, detail string) error {
	a := &f2fpay.RefundApproval{MerchantID: o.MerchantID, OrderID: o.ID, OutTradeNo: o.OutTradeNo, RefundID: refundID,
		Amount: amount, Reason: reason, RequestedBy: s.staff.ID, RequestedLogin: s.staff.Login}
	if err := c.approval.RequestRefundApproval(r.Context(), a); err != nil {
		return err
	}
	if a.OrderID != o.ID {
		return f2fpay.Errorf(f2fpay.ECONFLICT, "refund_id %s belongs to another order; reload the order page and try again", refundID)
	}
	if err := c.record(r.Context(), r, s.staff, o.MerchantID, "refund_requested", "order "+o.OutTradeNo,
		fmt.Sprintf("approval %d, %s", a.ID, detail)); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/console/orders/%d?approval=%d#approvals", o.ID, a.ID), http.StatusSeeOther)
	return nil
}

type approvalsView struct {
	Approvals []*f2fpay.RefundApproval
	CanDecide bool
}

// approvals lists the pending refunds of the staff member's scope.
func (c *Console) approvals(w http.ResponseWriter, r *http.Request, s *session) error {
	as, err := c.approval.ListRefundApprovals(r.Context(), f2fpay.RefundApprovalFilter{MerchantID: scope(s.staff),
		State: f2fpay.ApprovalPending, Limit: 200})
	if err != nil {
		return err
	}
	v := approvalsView{Approvals: as, CanDecide: s.staff.Role.CanRefund() && c.refunder != nil}
	return c.render(w, r, http.StatusOK, "approvals", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "approvals", Data: v})
}

// decide approves or rejects a pending refund. Approving a refund the same person
// approved already sends it again with the same refund_id, which the engine answers
// with the refund it made: a resent form, or one whose refund failed to go out,
// refunds once.
func (c *Console) decide(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no approval %q", r.PathValue("id"))
	}
	var state f2fpay.ApprovalState
	switch r.PathValue("decision") {
	case "approve":
		state = f2fpay.ApprovalApproved
	case "reject":
		state = f2fpay.ApprovalRejected
	default:
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no decision %q", r.PathValue("decision"))
	}
	target := "approval " + r.PathValue("id")
	if !s.staff.Role.CanRefund() || c.refunder == nil {
		c.record(ctx, r, s.staff, s.staff.MerchantID, "refund_refused", target, "role "+string(s.staff.Role))
		return errForbidden
	}
	a, err := c.approval.FindRefundApproval(ctx, id)
	if err != nil {
		return err
	}
	if !s.staff.Sees(a.MerchantID) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "approval %d not found", id)
	}
	o, err := c.store.FindOrderByID(ctx, a.OrderID)
	if err != nil {
		return err
	}
	a, err = c.approval.DecideRefundApproval(ctx, id, state, s.staff)
	switch f2fpay.ErrorCode(err) {
	case "":
	case f2fpay.EINVALID, f2fpay.ECONFLICT:
		c.record(ctx, r, s.staff, o.MerchantID, "refund_refused", target, f2fpay.ErrorMessage(err))
		return c.renderOrder(w, r, s, o, http.StatusConflict, f2fpay.ErrorMessage(err))
	default:
		return err
	}
	detail := fmt.Sprintf("order %s, amount %s, refund_id %s, asked by %s", a.OutTradeNo, a.Amount, a.RefundID, a.RequestedLogin)
	if state == f2fpay.ApprovalRejected {
		if err := c.record(ctx, r, s.staff, o.MerchantID, "refund_rejected", target, detail); err != nil {
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/console/orders/%d?approval=%d#approvals", o.ID, a.ID), http.StatusSeeOther)
		return nil
	}
	// Audited before the refund is sent, like a refund without approval.
	if err := c.record(ctx, r, s.staff, o.MerchantID, "refund_approved", target, detail); err != nil {
		return err
	}
	_, err = c.refunder.Refund(ctx, payment.RefundRequest{
		AppID: o.AppID, OutTradeNo: o.OutTradeNo, RefundID: a.RefundID, Amount: a.Amount, Reason: a.Reason,
	})
	if err != nil {
		switch f2fpay.ErrorCode(err) {
		case f2fpay.EINVALID, f2fpay.ECONFLICT:
			c.record(ctx, r, s.staff, o.MerchantID, "refund_refused", target, f2fpay.ErrorMessage(err))
			return c.renderOrder(w, r, s, o, http.StatusConflict, f2fpay.ErrorMessage(err))
		}
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/console/orders/%d?refund=%s#refunds", o.ID, url.QueryEscape(a.RefundID)), http.StatusSeeOther)
	return nil
}
