package alipaysim

import (
	"net/http"

	"github.com/f2fpay/f2fpay"
)

// The sign page is the wallet's 免密支付 page a page.sign link lands on: the buyer sees
// who asks to charge them without a password, for which product and scene, picks the
// account and agrees or declines. Agreeing signs the agreement (dut_user_sign follows)
// and sends the browser to the request's return_url.

type agreementSignPage struct {
	pageBase
	Req         *SignRequest
	ProductName string
	ValidUntil  string
	Buyers      []*Buyer
	Selected    string
}

type agreementDonePage struct {
	pageBase
	Agreement *Agreement
	Back      string
}

var productNames = map[string]string{
	"GENERAL_WITHHOLDING_P": "商家扣款 / merchant deduction",
	"ONE_TIME_AUTH_P":       "单次授权扣款 / one-time authorised deduction",
	"CYCLE_PAY_AUTH_P":      "周期扣款 / periodic deduction",
}

func (s *Sim) signRequest(token string) (*SignRequest, error) {
	var req *SignRequest
	s.e.view(func(t *txn) {
		if r := t.rec(kindSignRequest, token); r != nil {
			req = r.cloneRecord().(*SignRequest)
		}
	})
	if req == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "这个签约链接不存在 (no such sign link): open the merchant's page.sign link again")
	}
	return req, nil
}

func (s *Sim) agreementSignData(r *http.Request, req *SignRequest) agreementSignPage {
	p := agreementSignPage{pageBase: s.base("免密支付 / Password-free payment"), Req: req,
		ProductName: productNames[req.PersonalProductCode], Buyers: s.buyers(), Selected: s.rememberedBuyer(r)}
	if req.SignUserID != "" {
		p.Selected = req.SignUserID
	}
	p.ValidUntil = "长期 / open-ended"
	if req.Validity != "" {
		p.ValidUntil = fmtTime(validUntil(p.Now, req.Validity))
	}
	return p
}

func (s *Sim) agreementSignPage(w http.ResponseWriter, r *http.Request) {
	req, err := s.signRequest(r.PathValue("token"))
	if err != nil {
		s.renderError(w, "免密支付 / Password-free payment", err)
		return
	}
	if req.AgreementNo != "" {
		a, _ := s.Agreement(req.AgreementNo)
		s.render(w, http.StatusOK, "agreement_done", agreementDonePage{pageBase: s.base("免密支付"), Agreement: a, Back: signLink(req.ReturnURL)})
		return
	}
	if req.Declined || !s.clock.Now().Before(req.ExpiresAt) {
		s.renderError(w, "免密支付 / Password-free payment", f2fpay.Errorf(f2fpay.ECONFLICT,
			"签约链接已失效，请回到商户重新发起 (this sign link has expired or was declined: ask the merchant for a new one)"))
		return
	}
	s.render(w, http.StatusOK, "agreement_sign", s.agreementSignData(r, req))
}

// agreementSignAnswer is the buyer's 同意 or 暂不开通.
func (s *Sim) agreementSignAnswer(w http.ResponseWriter, r *http.Request) {
	if err := s.parseForm(w, r); err != nil {
		s.renderError(w, "免密支付", err)
		return
	}
	req, err := s.signRequest(r.PathValue("token"))
	if err != nil {
		s.renderError(w, "免密支付 / Password-free payment", err)
		return
	}
	buyer := r.PostForm.Get("buyer_id")
	if buyer == "" {
		p := s.agreementSignData(r, req)
		p.Error = "请选择签约账户 / Choose the account to sign with, or create one in the wallet first."
		s.render(w, http.StatusBadRequest, "agreement_sign", p)
		return
	}
	a, back, err := s.SignAgreement(r.Context(), AgreementSign{Token: req.Token, UserID: buyer, Allow: r.PostForm.Get("decision") == "allow"})
	if err != nil {
		p := s.agreementSignData(r, req)
		p.Selected = buyer
		p.Error = f2fpay.ErrorMessage(err)
		s.render(w, http.StatusBadRequest, "agreement_sign", p)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: walletCookie, Value: buyer, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	s.render(w, http.StatusOK, "agreement_done", agreementDonePage{pageBase: s.base("免密支付 / Password-free payment"), Agreement: a, Back: signLink(back)})
}

// walletUnsign is the buyer cancelling an agreement from the wallet.
func (s *Sim) walletUnsign(w http.ResponseWriter, r *http.Request) {
	a, err := s.Agreement(r.PathValue("agreement_no"))
	if err != nil || a.UserID != r.PathValue("user_id") {
		s.renderError(w, "免密支付", f2fpay.Errorf(f2fpay.ENOTFOUND, "no agreement %q for this account", r.PathValue("agreement_no")))
		return
	}
	if _, err := s.UnsignAgreement(r.Context(), a.AgreementNo); err != nil {
		s.renderError(w, "免密支付", err)
		return
	}
	http.Redirect(w, r, "/wallet/"+a.UserID+"?notice=unsigned", http.StatusSeeOther)
}
