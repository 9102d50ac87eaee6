package vend

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// Face payment with a QR fallback (docs/vending.md §11, "Face"). A face machine's vend
// is created with pay "face": the machine scans the buyer's face, and the service pays
// with the face token (trade.pay, scene security_code) under the vend's number — the
// face attempt, recorded on the vend before the call. When the face fails in a way the
// buyer can fix by scanning (weak light, not recognised, cancelled, a face payment
// refused or left unknown), the machine asks for the fallback: the face attempt is
// resolved first — queried, and cancelled through Alipay when its outcome is not final
// (a cancel refunds a payment that went through) — and only a face attempt that ended
// unpaid lets the vend switch to a new QR order. A face attempt that turns out paid is
// dispensed instead. So the buyer can never pay both.

// PayFace pays a face vend with the face token the machine obtained. It returns the
// vend (DISPENSING once paid) and the face order. The same request again returns the
// same order (the engine's request key); one face attempt per vend — after it, the
// buyer pays by QR (Fallback).
func (s *Service) PayFace(ctx context.Context, terminalID, id int64, ftoken string) (*f2fpay.VendOrder, *f2fpay.Order, error) {
	v, _, err := s.Find(ctx, terminalID, id)
	if err != nil {
		return nil, nil, err
	}
	if v.PayKind != f2fpay.KindFace {
		return nil, nil, f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d is paid by QR (it fell back from the face); show its QR code", id)
	}
	if v.State != f2fpay.VendAwaitingPayment {
		return nil, nil, f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d is %s; it takes no payment now", id, v.State)
	}
	// The attempt first: a fallback that comes after this write resolves the face
	// order under this number before it shows a QR.
	if v.FaceOutTradeNo == "" {
		if v, err = s.update(ctx, v, func(n *f2fpay.VendOrder) error {
			if n.State != f2fpay.VendAwaitingPayment || n.PayKind != f2fpay.KindFace {
				return f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d is paid by QR (it fell back from the face); show its QR code", id)
			}
			if n.FaceOutTradeNo != "" {
				return errSkip
			}
			n.FaceOutTradeNo = n.OutTradeNo
			return nil
		}); err != nil {
			return nil, nil, err
		}
	}
	subject, goods := describe(v.Items)
	ctx = payment.ForMerchant(ctx, v.MerchantID)
	o, err := s.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: v.TerminalID, AuthCode: ftoken, Amount: v.Total,
		Subject: subject, Goods: goods, Scene: alipay.SceneSecurityCode, OutTradeNo: v.FaceOutTradeNo,
		RequestKey: "vend:" + strconv.FormatInt(v.ID, 10) + ":face"})
	if o != nil && o.State == f2fpay.OrderPaid {
		if n, serr := s.Step(ctx, v); serr == nil {
			v = n
		}
	}
	return v, o, err
}

// Fallback switches a face vend to a QR order once its face attempt, if any, ended
// unpaid. While the face attempt's outcome is not final it is cancelled through Alipay
// and ECONFLICT is answered ("ask again in a moment"): no QR is shown while the face
// payment might still go through. A face attempt that went through makes the vend
// DISPENSING instead. Falling back again returns the QR order.
func (s *Service) Fallback(ctx context.Context, terminalID, id int64, deadline time.Duration) (*f2fpay.VendOrder, *f2fpay.Order, error) {
	v, o, err := s.Find(ctx, terminalID, id)
	if err != nil {
		return nil, nil, err
	}
	ctx = payment.ForMerchant(ctx, v.MerchantID)
	switch {
	case v.PayKind == f2fpay.KindQR && v.FaceOutTradeNo != v.OutTradeNo:
		return v, o, nil // fell back already
	case v.PayKind != f2fpay.KindFace:
		return nil, nil, f2fpay.Errorf(f2fpay.EINVALID, "vend %d is not a face vend", id)
	case v.State != f2fpay.VendAwaitingPayment:
		return v, o, nil // paid (by face) or over: nothing to fall back from
	}
	p := s.engine.Policy()
	if v.FaceOutTradeNo != "" {
		switch {
		case o == nil && s.now().Before(v.UpdatedAt.Add(p.CallTimeout+p.Handover)):
			return nil, nil, f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d: the face payment is being made; ask again in a moment", id)
		case o != nil && !o.State.Final():
			if o, err = s.engine.Cancel(ctx, v.AppID, o.OutTradeNo); err != nil && f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
				return nil, nil, err
			}
			if o, err = s.order(ctx, v); err != nil {
				return nil, nil, err
			}
			if !o.State.Final() {
				return nil, nil, f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d: the face payment is being cancelled with Alipay; ask again in a moment", id)
			}
		}
		if o != nil && o.State == f2fpay.OrderPaid {
			v, err = s.Step(ctx, v)
			return v, o, err
		}
	}
	win := deadline
	if win <= 0 {
		win = p.QRWindow
	}
	now := s.now()
	qrNo := "vd" + randomHex(12)
	if v, err = s.update(ctx, v, func(n *f2fpay.VendOrder) error {
		if n.State != f2fpay.VendAwaitingPayment || n.PayKind != f2fpay.KindFace {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d changed meanwhile (%s, %s); ask for it again", id, n.State, n.PayKind)
		}
		if n.FaceOutTradeNo != v.FaceOutTradeNo {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d: a face payment started meanwhile; ask again in a moment", id)
		}
		n.OutTradeNo, n.PayKind = qrNo, f2fpay.KindQR
		n.PayDeadline, n.NextCheckAt = now.Add(win+p.CallTimeout+p.Handover), now.Add(s.poll)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	s.log.InfoContext(ctx, "vend falls back from face to QR", "vend_id", v.ID, "face_out_trade_no", v.FaceOutTradeNo, "out_trade_no", v.OutTradeNo)
	subject, goods := describe(v.Items)
	o, err = s.engine.PrecreateQR(ctx, payment.QRRequest{TerminalID: v.TerminalID, Amount: v.Total, Subject: subject, Goods: goods,
		Deadline: win, OutTradeNo: v.OutTradeNo, RequestKey: "vend:" + strconv.FormatInt(v.ID, 10) + ":qr"})
	if err != nil {
		if _, ferr := s.store.FindMerchantOrder(ctx, v.AppID, v.MerchantID, v.OutTradeNo); f2fpay.ErrorCode(ferr) == f2fpay.ENOTFOUND {
			if cv, cerr := s.cancel(ctx, v); cerr == nil {
				v = cv
			}
		}
	}
	return v, o, err
}

// faceGuard is the safety net behind Fallback: a face attempt that is not the vend's
// payment any more (it fell back to a QR) must never keep the buyer's money. Should it
// be found paid — it cannot, unless a face payment stalled past every deadline — it is
// refunded in full through the engine, once (its refund id is the vend's).
func (s *Service) faceGuard(ctx context.Context, v *f2fpay.VendOrder) {
	if v.FaceOutTradeNo == "" || v.FaceOutTradeNo == v.OutTradeNo {
		return
	}
	o, err := s.store.FindMerchantOrder(ctx, v.AppID, v.MerchantID, v.FaceOutTradeNo)
	if err != nil || o.State != f2fpay.OrderPaid || o.RefundedAmount >= o.TotalAmount {
		return
	}
	s.log.Error("vend: the face attempt of a vend that fell back to a QR was paid; refunding it in full", "vend_id", v.ID, "face_out_trade_no", o.OutTradeNo)
	if _, err := s.engine.Refund(ctx, payment.RefundRequest{AppID: v.AppID, OutTradeNo: o.OutTradeNo, RefundID: fmt.Sprintf("vend-%d-face", v.ID),
		Amount: o.TotalAmount - o.RefundedAmount, Reason: "face payment replaced by a QR payment"}); err != nil {
		s.log.Error("vend: refunding the face attempt failed, retried later", "vend_id", v.ID, "err", err)
	}
}

// FaceInitialize starts a face session for a face machine (the engine calls Alipay).
func (s *Service) FaceInitialize(ctx context.Context, terminalID int64, metainfo string) (*payment.FaceSession, error) {
	dev, err := s.devices.FindDevice(ctx, terminalID)
	if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		return nil, err
	}
	if dev == nil || dev.Machine != f2fpay.MachineFace {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "this machine has no face camera; pay by QR")
	}
	return s.engine.FaceInitialize(ctx, terminalID, metainfo)
}
