package cabinet

import (
	"context"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// NotifyPath is where Alipay posts an app's agreement notifications; the app's
// APPID follows.
const NotifyPath = "/alipay/agreements/notify/"

// SignLink is the page where a member signs.
type SignLink struct {
	Agreement *f2fpay.Agreement
	// URL is the signed gateway link (opens Alipay's signing page in a browser);
	// WalletURL the alipays:// link that opens it inside the Alipay app.
	URL, WalletURL string
}

// Sign returns the signing link of the member's agreement with the cabinet's app: a
// new PENDING agreement, or the one still pending (a second tap signs the same
// agreement). A member with an ACTIVE agreement is refused (signed_already).
func (s *Service) Sign(ctx context.Context, memberID, terminalID int64) (*SignLink, error) {
	m, term, err := s.memberAt(ctx, memberID, terminalID)
	if err != nil {
		return nil, err
	}
	var a *f2fpay.Agreement
	for a == nil {
		prev, err := s.store.LatestAgreement(ctx, m.ID, term.AppID)
		switch {
		case err == nil && prev.State == f2fpay.AgreementActive:
			return nil, refuse(ReasonSignedAlready, 0)
		case err == nil && prev.State == f2fpay.AgreementPending:
			a = prev
			continue
		case err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND:
			return nil, err
		}
		n := &f2fpay.Agreement{MerchantID: m.MerchantID, MemberID: m.ID, AppID: term.AppID,
			ExternalNo: "K" + randomHex(12), State: f2fpay.AgreementPending,
			PersonalProductCode: s.cfg.PersonalProductCode, SignScene: s.cfg.SignScene}
		if err := s.store.CreateAgreement(ctx, n); err != nil {
			if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
				continue // a concurrent tap created it: use that one
			}
			return nil, err
		}
		a = n
	}
	app, err := s.store.FindApp(ctx, a.AppID)
	if err != nil {
		return nil, err
	}
	req := &alipay.AgreementPageSignRequest{
		PersonalProductCode: a.PersonalProductCode, ProductCode: alipay.ProductGeneralWithholding,
		SignScene: a.SignScene, ExternalAgreementNo: a.ExternalNo,
		AccessParams: alipay.AccessParams{Channel: alipay.ChannelAlipayApp},
		DeviceParams: &alipay.AgreementDeviceParams{DeviceID: term.Code, DeviceName: term.Name, DeviceType: "VENDING_MACHINE"},
	}
	link, err := s.cfg.Alipay.AgreementSignURL(payment.ForMerchant(ctx, m.MerchantID), a.AppID, req,
		alipay.WithNotifyURL(s.cfg.PublicURL+NotifyPath+app.AppID),
		alipay.WithReturnURL(s.cfg.PublicURL+"/m/"+itoa(term.ID)))
	if err != nil {
		return nil, err
	}
	wallet, err := alipay.AgreementWalletLink(link)
	if err != nil {
		return nil, err
	}
	return &SignLink{Agreement: a, URL: link, WalletURL: wallet}, nil
}

// HandleNotification applies a dut_user_sign or dut_user_unsign notification POSTed
// for the app whose APPID is appAlipayID. It is used only once verified (the app's
// Alipay key), when it names an external_agreement_no the service gave that app, and
// when the account that signed is the member's identity in the app. It is applied as
// a fact about one agreement number, so duplicates change nothing and an unsign that
// overtook its sign stays unsigned. It returns nil once the fact is committed (the
// HTTP layer answers "success"); Alipay retries anything else.
func (s *Service) HandleNotification(ctx context.Context, appAlipayID string, body []byte) error {
	app, n, err := s.cfg.Alipay.ParseAgreementNotification(ctx, appAlipayID, body)
	if err != nil {
		return err
	}
	if n.ExternalAgreementNo == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "agreement %s carries no external_agreement_no: it was not signed through this service", n.AgreementNo)
	}
	log := s.cfg.Logger.With("app_id", app.AppID, "notify_type", n.NotifyType, "notify_id", n.NotifyID,
		"agreement_no", n.AgreementNo, "external_agreement_no", n.ExternalAgreementNo)
	for {
		a, err := s.store.FindAgreementByExternalNo(ctx, app.ID, n.ExternalAgreementNo)
		if err != nil {
			return err
		}
		if err := s.checkSigner(ctx, a, n); err != nil {
			log.Warn("agreement notification refused", "err", err.Error())
			return err
		}
		if a.AgreementNo != "" && a.AgreementNo != n.AgreementNo {
			// Another agreement number under our external number: Alipay's facts about
			// it do not change the one we hold.
			log.Warn("agreement notification names another agreement_no; ignored", "ours", a.AgreementNo)
			return nil
		}
		before := a.State
		switch {
		case n.NotifyType == alipay.NotifyAgreementUnsign:
			if a.State == f2fpay.AgreementUnsigned {
				return nil
			}
			a.State, a.AgreementNo = f2fpay.AgreementUnsigned, n.AgreementNo
			a.UnsignedAt = n.UnsignTime.Time
			if a.UnsignedAt.IsZero() {
				a.UnsignedAt = s.now()
			}
		case n.Signed():
			if a.State != f2fpay.AgreementPending {
				return nil // active already, or unsigned (final)
			}
			a.State, a.AgreementNo = f2fpay.AgreementActive, n.AgreementNo
			a.SignedAt = n.SignTime.Time
			if a.SignedAt.IsZero() {
				a.SignedAt = s.now()
			}
		default:
			log.Info("agreement notification with status " + n.Status + " changes nothing")
			return nil
		}
		a.AlipayUserID, a.AlipayOpenID = n.AlipayUserID, n.AlipayOpenID
		if n.PersonalProductCode != "" {
			a.PersonalProductCode = n.PersonalProductCode
		}
		if n.SignScene != "" {
			a.SignScene = n.SignScene
		}
		err = s.store.UpdateAgreement(ctx, a)
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			continue // a concurrent notification: apply to what it left
		}
		if err != nil {
			return err
		}
		log.Info("agreement "+strings.ToLower(string(a.State)), "member_id", a.MemberID, "from", before)
		if a.State == f2fpay.AgreementActive {
			s.wakeDebts(ctx, a.MemberID)
		}
		return nil
	}
}

// checkSigner refuses a notification whose account is not the member's in the app.
func (s *Service) checkSigner(ctx context.Context, a *f2fpay.Agreement, n *alipay.AgreementNotification) error {
	m, err := s.store.FindMember(ctx, a.MemberID)
	if err != nil {
		return err
	}
	for _, id := range m.Identities {
		if id.AppID != a.AppID {
			continue
		}
		if (n.AlipayUserID != "" && id.UserID == n.AlipayUserID) || (n.AlipayOpenID != "" && id.OpenID == n.AlipayOpenID) {
			return nil
		}
	}
	return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "agreement %s was signed by an Alipay account that is not member %d's", n.ExternalAgreementNo, a.MemberID)
}

// Unsign ends the member's active agreement with the cabinet's app through Alipay
// (alipay.user.agreement.unsign); it is UNSIGNED once Alipay answered 10000, or said
// the agreement is gone already.
func (s *Service) Unsign(ctx context.Context, memberID, terminalID int64) (*f2fpay.Agreement, error) {
	m, term, err := s.memberAt(ctx, memberID, terminalID)
	if err != nil {
		return nil, err
	}
	a, err := s.store.LatestAgreement(ctx, m.ID, term.AppID)
	if err != nil {
		return nil, err
	}
	if a.State != f2fpay.AgreementActive {
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "the agreement is %s; only an active agreement can be cancelled", a.State)
	}
	err = s.cfg.Alipay.AgreementUnsign(payment.ForMerchant(ctx, m.MerchantID), a.AppID,
		&alipay.AgreementUnsignRequest{AgreementRef: alipay.AgreementRef{AgreementNo: a.AgreementNo}})
	if err != nil && !alipay.IsAgreementGone(err) {
		if alipay.IsUnknown(err) {
			return nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "Alipay did not answer the cancellation; try again")
		}
		return nil, err
	}
	return s.markUnsigned(ctx, a)
}

// markUnsigned ends an agreement on Alipay's word, whatever happened to it meanwhile.
func (s *Service) markUnsigned(ctx context.Context, a *f2fpay.Agreement) (*f2fpay.Agreement, error) {
	for {
		if a.State == f2fpay.AgreementUnsigned {
			return a, nil
		}
		a.State, a.UnsignedAt = f2fpay.AgreementUnsigned, s.now()
		err := s.store.UpdateAgreement(ctx, a)
		if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
			return a, err
		}
		if a, err = s.store.FindAgreement(ctx, a.ID); err != nil {
			return nil, err
		}
	}
}
