package member

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/cabinet"
)

// The open-door cabinet's pages (docs/vending.md §12): at a cabinet, /m/{terminal}
// shows the member where they stand — sign the password-free payment agreement, open
// the door, what they owe and why, their last visits — in Chinese and English.

// Cabinet is the open-door cabinet service; *cabinet.Service implements it.
type Cabinet interface {
	Access(ctx context.Context, memberID, terminalID int64) (*cabinet.Access, error)
	Sign(ctx context.Context, memberID, terminalID int64) (*cabinet.SignLink, error)
	Open(ctx context.Context, memberID, terminalID int64) (*f2fpay.CabinetSession, error)
	PayNow(ctx context.Context, memberID, terminalID int64) (*cabinet.Access, error)
	Unsign(ctx context.Context, memberID, terminalID int64) (*f2fpay.Agreement, error)
}

var _ Cabinet = (*cabinet.Service)(nil)

// cabinetTexts are the cabinet pages' words, added to texts.
var cabinetTexts = map[string][2]string{
	"cabTitle":        {"无限宝盒", "Open-door cabinet"},
	"cabIntro":        {"开通免密支付后，扫码开门，取走商品关门即可，系统按所取商品自动扣款。", "Sign password-free payment once; then scan, open the door, take what you want and close it. What you took is charged automatically."},
	"cabSign":         {"开通免密支付", "Sign password-free payment"},
	"cabSignAgain":    {"重新开通免密支付", "Sign password-free payment again"},
	"cabSignTitle":    {"开通免密支付", "Sign password-free payment"},
	"cabSignDo":       {"在支付宝中确认签约，完成后返回本页。", "Confirm the agreement in Alipay, then come back to this page."},
	"cabSignOpen":     {"去支付宝签约", "Sign in Alipay"},
	"cabBack":         {"返回", "Back"},
	"cabOpen":         {"开门", "Open the door"},
	"cabOpened":       {"柜门已打开。取走商品后请关好柜门，系统将自动扣款。", "The door is open. Take your goods and close the door; you will be charged automatically."},
	"cabOwe":          {"待支付", "You owe"},
	"cabPayNow":       {"立即补缴", "Pay now"},
	"cabDebtWhy":      {"原因", "Why"},
	"cabCharging":     {"扣款结果确认中", "Waiting for Alipay's answer"},
	"cabRecent":       {"最近购物", "Your last visits"},
	"cabUnsign":       {"解约免密支付", "Cancel password-free payment"},
	"cabSigned":       {"已开通免密支付", "Password-free payment is on"},
	"cabSt:OPEN":      {"柜门已开", "door open"},
	"cabSt:EMPTY":     {"未取商品", "nothing taken"},
	"cabSt:CHARGING":  {"扣款中", "charging"},
	"cabSt:DEBT":      {"扣款失败，待补缴", "unpaid"},
	"cabSt:PAID":      {"已支付", "paid"},
	"cabSt:ABANDONED": {"柜门未打开", "door never opened"},
}

func init() {
	for k, v := range cabinetTexts {
		texts[k] = v
	}
}

// cabinetView is what the cabinet page shows.
type cabinetView struct {
	Access *cabinet.Access
	// Message is a refusal or a notice, already in the page's language.
	Message string
	Opened  bool
	// SignURL is the link to Alipay's signing page (the sign page).
	SignURL string
}

// isCabinet reports whether the terminal is an open-door cabinet this handler serves.
func (h *Handler) isCabinet(ctx context.Context, terminalID int64) (bool, error) {
	if h.cfg.Cabinet == nil {
		return false, nil
	}
	d, err := h.cfg.Store.FindDevice(ctx, terminalID)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.Machine == f2fpay.MachineCabinet, nil
}

// cabinetPage renders the member's page at a cabinet.
func (h *Handler) cabinetPage(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, m *f2fpay.Member, term *f2fpay.Terminal,
	status int, v cabinetView) error {
	if v.Access == nil {
		ac, err := h.cfg.Cabinet.Access(r.Context(), m.ID, term.ID)
		if err != nil {
			return err
		}
		v.Access = ac
	}
	v.Opened = v.Opened || (v.Access.Open != nil && v.Access.Open.TerminalID == term.ID)
	h.render(w, r, status, "cabinet", pageData{Session: s, Member: m, Terminal: term, CSRF: h.csrf(s), Cabinet: &v})
	return nil
}

// cabinetStep runs a POST of the cabinet page for the signed-in member.
func (h *Handler) cabinetStep(step func(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, m *f2fpay.Member, term *f2fpay.Terminal) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		term, _, err := h.terminal(r.Context(), r.PathValue("terminal"))
		if err != nil {
			return err
		}
		if ok, err := h.isCabinet(r.Context(), term.ID); err != nil {
			return err
		} else if !ok {
			return refuse(http.StatusNotFound, "noMachine", "scanAgain")
		}
		s, m, _, err := h.member(r, term)
		if err != nil {
			return err
		}
		err = step(w, r, s, m, term)
		var rf *cabinet.Refusal
		if errors.As(err, &rf) {
			status := http.StatusConflict
			if rf.Reason == cabinet.ReasonNotSigned || rf.Reason == cabinet.ReasonUnsigned || rf.Reason == cabinet.ReasonPending {
				status = http.StatusForbidden
			}
			return h.cabinetPage(w, r, s, m, term, status, cabinetView{Message: refusalText(lang(w, r), rf)})
		}
		return err
	}
}

func refusalText(lang string, rf *cabinet.Refusal) string {
	if lang == "en" {
		return rf.EN
	}
	return rf.ZH
}

// cabinetSign is POST /m/{terminal}/cabinet/sign: the page with the link to Alipay's
// signing page — the alipays:// link inside the Alipay app, the gateway link (which
// opens Alipay's signing page, or the offline sandbox's) elsewhere.
func (h *Handler) cabinetSign(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, m *f2fpay.Member, term *f2fpay.Terminal) error {
	link, err := h.cfg.Cabinet.Sign(r.Context(), m.ID, term.ID)
	if err != nil {
		return err
	}
	target := link.URL
	if strings.Contains(r.UserAgent(), "AlipayClient") {
		target = link.WalletURL
	}
	h.render(w, r, http.StatusOK, "cabinet_sign", pageData{Member: m, Terminal: term, Cabinet: &cabinetView{SignURL: target}})
	return nil
}

// cabinetOpen is POST /m/{terminal}/cabinet/open: the door is commanded open, or the
// page says why not.
func (h *Handler) cabinetOpen(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, m *f2fpay.Member, term *f2fpay.Terminal) error {
	if _, err := h.cfg.Cabinet.Open(r.Context(), m.ID, term.ID); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/m/%d", term.ID), http.StatusSeeOther)
	return nil
}

// cabinetPay is POST /m/{terminal}/cabinet/pay: retry what the member owes now.
func (h *Handler) cabinetPay(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, m *f2fpay.Member, term *f2fpay.Terminal) error {
	if _, err := h.cfg.Cabinet.PayNow(r.Context(), m.ID, term.ID); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/m/%d", term.ID), http.StatusSeeOther)
	return nil
}

// cabinetUnsign is POST /m/{terminal}/cabinet/unsign: end the agreement through Alipay.
func (h *Handler) cabinetUnsign(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, m *f2fpay.Member, term *f2fpay.Terminal) error {
	if _, err := h.cfg.Cabinet.Unsign(r.Context(), m.ID, term.ID); err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			http.Redirect(w, r, fmt.Sprintf("/m/%d", term.ID), http.StatusSeeOther)
			return nil
		}
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/m/%d?%s", term.ID, url.Values{"unsigned": {"1"}}.Encode()), http.StatusSeeOther)
	return nil
}
