package cabinet

import (
	"context"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/internal/rounds"
	"github.com/f2fpay/f2fpay/payment"
)

// FailNoAgreement is the FailCode of a debt that waits for the member to sign again:
// there is no active agreement to charge it through.
const FailNoAgreement = "NO_ACTIVE_AGREEMENT"

// step moves a CHARGING or DEBT session as far as Alipay's answers take it now:
//
//   - CHARGING after an attempt: the outcome is unknown, so trade.query first — paid →
//     PAID; no trade → the same pay again; closed unpaid → the next number, then pay;
//     still unknown → asked again later.
//   - CHARGING before any attempt, or DEBT: trade.pay with the member's active
//     agreement, under the session's number.
//
// Before a pay is sent, Attempts is counted and NextCheckAt pushed past the call in a
// compare-and-set, so of two instances only one sends it (a second send of the same
// number would be harmless at Alipay anyway).
func (s *Service) step(ctx context.Context, sess *f2fpay.CabinetSession) (*f2fpay.CabinetSession, error) {
	ctx = payment.ForMerchant(ctx, sess.MerchantID)
	log := s.cfg.Logger.With("session_id", sess.ID, "out_trade_no", sess.OutTradeNo)
	if sess.State == f2fpay.CabinetCharging && sess.Attempts > 0 {
		ch, err := s.charge(ctx, sess, nil)
		if err != nil {
			return sess, err
		}
		res, err := s.cfg.Alipay.AgreementChargeStatus(ctx, ch)
		if err != nil {
			return sess, err
		}
		switch res.Status {
		case payment.ChargePaid:
			return s.apply(ctx, sess, res)
		case payment.ChargeUnknown:
			log.Info("cabinet charge still unknown", "reason", res.FailReason)
			return s.reschedule(ctx, sess, s.cfg.UnknownDelay)
		case payment.ChargeClosed:
			log.Warn("cabinet charge's trade closed unpaid; next number")
			return s.pay(ctx, sess, true)
		}
		// Not there: Alipay never received the pay. Send it (the same number).
	} else if sess.State != f2fpay.CabinetCharging && sess.State != f2fpay.CabinetDebt {
		return sess, nil
	}
	return s.pay(ctx, sess, false)
}

// charge describes the session's charge through agreement a (the member's active one
// when a is nil; ENOTFOUND-free: a missing agreement gives an empty number).
func (s *Service) charge(ctx context.Context, sess *f2fpay.CabinetSession, a *f2fpay.Agreement) (payment.AgreementCharge, error) {
	ch := payment.AgreementCharge{TerminalID: sess.TerminalID, OutTradeNo: sess.OutTradeNo, Amount: sess.Amount,
		Subject: subject(sess)}
	for _, it := range sess.Items {
		ch.Goods = append(ch.Goods, alipay.GoodsDetail{GoodsID: it.GoodsID, GoodsName: it.Name, Quantity: int64(it.Count), Price: it.Price})
	}
	if a != nil {
		ch.AgreementNo, ch.BuyerID, ch.BuyerOpenID = a.AgreementNo, a.AlipayUserID, a.AlipayOpenID
	}
	return ch, nil
}

// subject is what the member's Alipay bill says.
func subject(sess *f2fpay.CabinetSession) string {
	if len(sess.Items) == 1 {
		return "无限宝盒 " + sess.Items[0].Name
	}
	return "无限宝盒购物"
}

// pay sends trade.pay for the session (the next number first when next).
func (s *Service) pay(ctx context.Context, sess *f2fpay.CabinetSession, next bool) (*f2fpay.CabinetSession, error) {
	a, err := s.store.LatestAgreement(ctx, sess.MemberID, sess.AppID)
	if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		return sess, err
	}
	now := s.now()
	if a == nil || a.State != f2fpay.AgreementActive {
		// Nothing to charge through: a debt that waits for the member to sign again
		// (signing wakes it), looked at again on the slowest schedule meanwhile.
		sess.State, sess.FailCode = f2fpay.CabinetDebt, FailNoAgreement
		sess.FailReason = "No active password-free payment agreement: the member must sign again."
		sess.NextCheckAt = now.Add(s.cfg.Backoff[len(s.cfg.Backoff)-1])
		return sess, s.store.UpdateCabinetSession(ctx, sess)
	}
	// Claim the attempt: counted, and due again only after the call and the handover.
	if next {
		sess.Generation++
		sess.OutTradeNo = OutTradeNo(sess.ID, sess.Generation)
	}
	sess.State, sess.AgreementID = f2fpay.CabinetCharging, a.ID
	sess.Attempts++
	sess.NextCheckAt = now.Add(s.cfg.Handover)
	if err := s.store.UpdateCabinetSession(ctx, sess); err != nil {
		return sess, err // ECONFLICT: another instance is at it
	}
	ch, _ := s.charge(ctx, sess, a)
	res, err := s.cfg.Alipay.AgreementPay(ctx, ch)
	if err != nil {
		// Not sent (or its answer could not be recorded): the retrier queries after the
		// handover, as after a crash.
		return sess, err
	}
	return s.apply(ctx, sess, res)
}

// apply records a charge's outcome on the session, reloading it after a conflict;
// a session that is PAID already stays so.
func (s *Service) apply(ctx context.Context, sess *f2fpay.CabinetSession, res *payment.ChargeResult) (*f2fpay.CabinetSession, error) {
	log := s.cfg.Logger.With("session_id", sess.ID, "out_trade_no", sess.OutTradeNo)
	for {
		if sess.State == f2fpay.CabinetPaid {
			return sess, nil
		}
		now := s.now()
		switch res.Status {
		case payment.ChargePaid:
			sess.State, sess.OrderID, sess.TradeNo = f2fpay.CabinetPaid, res.Order.ID, res.Order.TradeNo
			sess.OutTradeNo = res.Order.OutTradeNo
			sess.PaidAt, sess.NextCheckAt, sess.FailCode, sess.FailReason = res.Order.PaidAt, time.Time{}, "", ""
			if sess.PaidAt.IsZero() {
				sess.PaidAt = now
			}
		case payment.ChargeRefused:
			sess.State, sess.FailCode, sess.FailReason = f2fpay.CabinetDebt, res.FailCode, res.FailReason
			sess.NextCheckAt = now.Add(s.backoff(sess.Attempts))
		default: // unknown: query after a while
			sess.NextCheckAt = now.Add(s.cfg.UnknownDelay)
		}
		err := s.store.UpdateCabinetSession(ctx, sess)
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			if sess, err = s.store.FindCabinetSession(ctx, sess.ID); err != nil {
				return nil, err
			}
			if res.Status != payment.ChargePaid {
				return sess, nil // someone else moved it; their word is as good
			}
			continue
		}
		if err != nil {
			return sess, err
		}
		switch sess.State {
		case f2fpay.CabinetPaid:
			log.Info("cabinet session paid", "order_id", sess.OrderID, "amount", sess.Amount.String())
		case f2fpay.CabinetDebt:
			log.Info("cabinet charge refused: a debt", "sub_code", sess.FailCode, "retry_at", sess.NextCheckAt)
			if res.AgreementGone {
				s.checkAgreement(ctx, sess)
			}
		}
		return sess, nil
	}
}

// checkAgreement asks Alipay about the agreement a charge was refused on as gone, and
// ends it when Alipay confirms: the member's door then stays shut until they sign again.
func (s *Service) checkAgreement(ctx context.Context, sess *f2fpay.CabinetSession) {
	a, err := s.store.FindAgreement(ctx, sess.AgreementID)
	if err != nil || a.State != f2fpay.AgreementActive {
		return
	}
	q, err := s.cfg.Alipay.AgreementQuery(ctx, a.AppID, &alipay.AgreementRef{AgreementNo: a.AgreementNo})
	if (err != nil && alipay.IsAgreementGone(err)) || (err == nil && q.Status != alipay.AgreementNormal) {
		if _, err := s.markUnsigned(ctx, a); err != nil {
			s.cfg.Logger.Warn("ending a gone agreement failed", "agreement_id", a.ID, "err", err.Error())
		}
	}
}

func (s *Service) reschedule(ctx context.Context, sess *f2fpay.CabinetSession, after time.Duration) (*f2fpay.CabinetSession, error) {
	sess.NextCheckAt = s.now().Add(after)
	return sess, s.store.UpdateCabinetSession(ctx, sess)
}

// wakeDebts makes the member's debts due now and tries them (a member who just signed
// again, or asked to pay now). Errors are logged: the retrier goes on anyway.
func (s *Service) wakeDebts(ctx context.Context, memberID int64) []*f2fpay.CabinetSession {
	debts, err := s.store.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{MemberID: memberID,
		States: []f2fpay.CabinetSessionState{f2fpay.CabinetDebt}, Limit: 100})
	if err != nil {
		s.cfg.Logger.Warn("listing debts failed", "member_id", memberID, "err", err.Error())
		return nil
	}
	var out []*f2fpay.CabinetSession
	for _, d := range debts {
		n, err := s.step(ctx, d)
		if err != nil {
			s.cfg.Logger.Warn("retrying a debt failed", "session_id", d.ID, "err", err.Error())
		}
		out = append(out, n)
	}
	return out
}

// PayNow retries the member's debts at once (the "pay now" button of their page) and
// returns what they owe afterwards.
func (s *Service) PayNow(ctx context.Context, memberID, terminalID int64) (*Access, error) {
	m, term, err := s.memberAt(ctx, memberID, terminalID)
	if err != nil {
		return nil, err
	}
	s.wakeDebts(ctx, m.ID)
	return s.access(ctx, m, term)
}

// Refund refunds part or all of a paid session (a dispute) through the payment
// engine: refundID is the idempotency key (the same id is the same refund), the
// amount at most what was paid less earlier refunds.
func (s *Service) Refund(ctx context.Context, sessionID int64, refundID string, amount f2fpay.Amount, reason string) (*f2fpay.Refund, error) {
	sess, err := s.store.FindCabinetSession(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	if sess.State != f2fpay.CabinetPaid {
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "cabinet session %d is %s; only a paid session can be refunded", sessionID, sess.State)
	}
	return s.cfg.Alipay.Refund(payment.ForMerchant(ctx, sess.MerchantID), payment.RefundRequest{
		AppID: sess.AppID, OutTradeNo: sess.OutTradeNo, RefundID: refundID, Amount: amount, Reason: reason})
}

// Run retries due charges and debts, and abandons doors that never closed, until ctx
// ends. Several instances may run it: sessions are claimed with a lease.
func (s *Service) Run(ctx context.Context) {
	lastSweep := time.Time{}
	// RunOnce drains what is due itself (batch 0: no second round at once).
	rounds.Run(ctx, s.cfg.Poll, 0, func(ctx context.Context) (int, error) {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("cabinet retrier", "err", err.Error())
		}
		if now := s.now(); now.Sub(lastSweep) >= time.Minute {
			lastSweep = now
			if _, err := s.Abandon(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("cabinet abandon sweep", "err", err.Error())
			}
		}
		return 0, nil
	}, nil)
}

// RunOnce claims the due sessions and steps each; it returns how many it stepped.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	n := 0
	for {
		due, err := s.store.ClaimDueCabinetSessions(ctx, s.cfg.Owner, s.now(), s.cfg.Lease, 20)
		if err != nil || len(due) == 0 {
			return n, err
		}
		for _, sess := range due {
			if _, err := s.step(ctx, sess); err != nil && f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
				s.cfg.Logger.Warn("cabinet charge step failed", "session_id", sess.ID, "err", err.Error())
			}
			n++
		}
		if len(due) < 20 {
			return n, nil
		}
	}
}

// Abandon ends OPEN sessions whose door command was never acknowledged (expired, or
// never enqueued) and that got no close report for AbandonAfter; it returns how many.
func (s *Service) Abandon(ctx context.Context) (int, error) {
	now := s.now()
	open, err := s.store.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{States: []f2fpay.CabinetSessionState{f2fpay.CabinetOpen},
		CreatedBefore: now.Add(-s.cfg.DoorTTL - s.cfg.AbandonAfter), Limit: 100})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sess := range open {
		if sess.CommandID != 0 {
			c, err := s.cfg.Devices.FindCommand(ctx, sess.CommandID)
			if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
				return n, err
			}
			if err == nil && (c.State == f2fpay.CommandAcked || (c.State == f2fpay.CommandPending && now.Before(c.ExpiresAt))) {
				continue // the door opened (or may still): wait for the report
			}
		}
		sess.State = f2fpay.CabinetAbandoned
		if err := s.store.UpdateCabinetSession(ctx, sess); err != nil {
			if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
				continue
			}
			return n, err
		}
		s.cfg.Logger.Info("cabinet session abandoned: the door never opened", "session_id", sess.ID)
		n++
	}
	return n, nil
}
