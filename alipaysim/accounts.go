package alipaysim

import (
	"context"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Validity of what the sandbox issues to buyers.
const (
	// PaymentCodeTTL is how long a payment code works: Alipay's codes refresh every
	// minute, and a screenshot of an older one must fail.
	PaymentCodeTTL = time.Minute
	// FaceTokenTTL is how long a face token from a (simulated) face scan works.
	FaceTokenTTL = 2 * time.Minute
	// CodeRetention is how long a payment code or face token is kept after it expired:
	// long enough for a cashier's late retry to be told the code is used or expired,
	// short enough that a sandbox issuing codes for hours does not keep them all.
	CodeRetention = 10 * time.Minute
)

// AppSpec registers an app.
type AppSpec struct {
	// PublicKey is the app public key, PEM or bare base64 (SPKI or PKCS#1), as uploaded
	// on Alipay's console.
	PublicKey string `json:"app_public_key"`
	// NotifyURL is the app's default notification address (a request's notify_url wins).
	NotifyURL string `json:"notify_url,omitempty"`
	// Balance is the merchant account's opening balance, which refunds draw on.
	Balance f2fpay.Amount `json:"balance,omitempty"`
}

// RegisterApp registers an app and opens its merchant account.
func (s *Sim) RegisterApp(ctx context.Context, spec AppSpec) (*App, error) {
	pub, err := alipay.ParsePublicKey(spec.PublicKey)
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "app_public_key: %v", err)
	}
	if pub.N.BitLen() < 1024 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "app_public_key is %d bits; Alipay requires RSA-2048", pub.N.BitLen())
	}
	if err := checkURL(spec.NotifyURL); err != nil {
		return nil, err
	}
	if spec.Balance < 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "balance must not be negative")
	}
	var app *App
	err = s.e.update(ctx, func(t *txn) error {
		id := "2021" + t.ids.digits(12)
		for t.app(id) != nil {
			id = "2021" + t.ids.digits(12)
		}
		app = &App{
			AppID: id, PublicKey: alipay.PublicKeyBase64(pub), NotifyURL: spec.NotifyURL,
			SellerID: "2088" + t.ids.digits(12), Balance: spec.Balance, CreatedAt: t.now, pub: pub,
		}
		t.putApp(app)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return app.clone(), nil
}

func checkURL(u string) error {
	if u == "" {
		return nil
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return f2fpay.Errorf(f2fpay.EINVALID, "notify_url %q must be an http:// or https:// URL", u)
	}
	if len(u) > 256 {
		return f2fpay.Errorf(f2fpay.EINVALID, "notify_url is longer than Alipay's 256 characters")
	}
	return nil
}

// BuyerSpec creates a buyer.
type BuyerSpec struct {
	Balance     f2fpay.Amount `json:"balance"`
	PayPassword string        `json:"pay_password,omitempty"`
	// PasswordThreshold: payments above it need the buyer's confirmation (10003). Nil
	// means every payment goes through without asking.
	PasswordThreshold *f2fpay.Amount `json:"password_threshold,omitempty"`
	// LogonID is the account name (phone or e-mail); one is made up when empty.
	LogonID string `json:"logon_id,omitempty"`
}

// CreateBuyer creates a sandbox Alipay user.
func (s *Sim) CreateBuyer(ctx context.Context, spec BuyerSpec) (*Buyer, error) {
	if spec.Balance < 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "balance must not be negative")
	}
	if spec.PasswordThreshold != nil && *spec.PasswordThreshold < 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "password_threshold must not be negative")
	}
	if len(spec.LogonID) > 100 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "logon_id is too long")
	}
	var b *Buyer
	err := s.e.update(ctx, func(t *txn) error {
		if spec.LogonID != "" && t.buyerByAny(spec.LogonID) != nil {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "a buyer with logon_id %q exists", spec.LogonID)
		}
		id := "2088" + t.ids.digits(12)
		for t.buyer(id) != nil {
			id = "2088" + t.ids.digits(12)
		}
		logon := spec.LogonID
		if logon == "" {
			logon = "1" + []string{"38", "39", "59", "86", "37"}[t.ids.intn(5)] + t.ids.digits(8)
		}
		b = &Buyer{
			UserID: id, OpenID: "0" + t.ids.digits(2) + strings.ToUpper(hexDigits(t, 40)), LogonID: logon,
			Balance: spec.Balance, PayPassword: spec.PayPassword, PasswordThreshold: spec.PasswordThreshold,
			CreatedAt: t.now,
		}
		t.putBuyer(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.clone(), nil
}

func hexDigits(t *txn, n int) string {
	d := t.ids.digits(n)
	b := []byte(d)
	for i := range b {
		if i%3 == 0 {
			b[i] = "abcdef0123456789"[(b[i]-'0'+byte(i))%16]
		}
	}
	return string(b)
}

// IssuePaymentCode gives the buyer a fresh 18-digit payment code, valid PaymentCodeTTL,
// usable once.
func (s *Sim) IssuePaymentCode(ctx context.Context, userID string) (*Code, error) {
	return s.issue(ctx, userID, "payment")
}

// IssueFaceToken is what a face scan yields: a token for scene=security_code.
func (s *Sim) IssueFaceToken(ctx context.Context, userID string) (*Code, error) {
	return s.issue(ctx, userID, "face")
}

func (s *Sim) issue(ctx context.Context, userID, kind string) (*Code, error) {
	var c *Code
	err := s.e.update(ctx, func(t *txn) error {
		if t.buyer(userID) == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q; create one with POST /sandbox/buyers", userID)
		}
		c = t.issueCode(userID, kind)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.clone(), nil
}

// issueCode issues a payment code or face token to a buyer who exists.
func (t *txn) issueCode(userID, kind string) *Code {
	t.purgeCodes()
	var code string
	for code == "" || t.code(code) != nil {
		if kind == "face" {
			code = "fp" + strings.ToLower(hexDigits(t, 33))
		} else {
			code = []string{"25", "26", "27", "28", "29", "30"}[t.ids.intn(6)] + t.ids.digits(16)
		}
	}
	ttl := PaymentCodeTTL
	if kind == "face" {
		ttl = FaceTokenTTL
	}
	c := &Code{Code: code, Kind: kind, UserID: userID, IssuedAt: t.now, ExpiresAt: t.now.Add(ttl)}
	t.putCode(c)
	return c
}

// AddVoucher gives a buyer a voucher, applied to their next payment above its amount.
func (s *Sim) AddVoucher(ctx context.Context, userID string, v Voucher) (*Voucher, error) {
	if v.MerchantContribute < 0 || v.OtherContribute < 0 || v.MerchantContribute+v.OtherContribute <= 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "a voucher needs merchant_contribute and/or other_contribute, neither negative")
	}
	if v.Amount == 0 {
		v.Amount = v.MerchantContribute + v.OtherContribute
	}
	if v.Amount != v.MerchantContribute+v.OtherContribute {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "amount must equal merchant_contribute + other_contribute")
	}
	if v.Name == "" {
		v.Name = "沙箱代金券"
	}
	if v.Type == "" {
		v.Type = "ALIPAY_FIX_VOUCHER"
	}
	err := s.e.update(ctx, func(t *txn) error {
		b := t.buyerW(userID)
		if b == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q", userID)
		}
		v.ID = "2024" + t.ids.digits(24)
		b.Vouchers = append(b.Vouchers, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// ScanSpec is a buyer scanning a precreate QR code.
type ScanSpec struct {
	BuyerID string `json:"buyer_id"`
	QRCode  string `json:"qr_code"` // the full qr_code URL, or its last path segment
	// Wait stops after the scan, leaving the trade WAIT_BUYER_PAY until confirm/reject;
	// otherwise the buyer pays at once (unless the amount needs the password).
	Wait bool `json:"wait,omitempty"`
}

// Scan makes the precreated trade exist, with this buyer, and pays it unless asked to
// wait or the amount is above the buyer's password threshold.
func (s *Sim) Scan(ctx context.Context, spec ScanSpec) (*Trade, error) {
	token := spec.QRCode
	if i := strings.LastIndexByte(token, '/'); i >= 0 {
		token = token[i+1:]
	}
	var out *Trade
	err := s.e.update(ctx, func(t *txn) error {
		no, ok := t.e.byQR[token]
		if !ok {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "qr_code %q was not issued by this sandbox (alipay.trade.precreate)", spec.QRCode)
		}
		b := t.buyerByAny(spec.BuyerID)
		if b == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q", spec.BuyerID)
		}
		tr := t.tradeW(no)
		switch {
		case tr.Status != WaitBuyerPay:
			return f2fpay.Errorf(f2fpay.ECONFLICT, "this QR code's trade is %s; it can no longer be paid", tr.Status)
		case tr.Visible && tr.BuyerID != b.UserID:
			return f2fpay.Errorf(f2fpay.ECONFLICT, "another buyer has already scanned this QR code")
		}
		if !tr.Visible {
			tr.Visible, tr.Pending = true, "buyer"
			t.attachBuyer(tr, b)
			t.putTrade(tr)
		}
		if !spec.Wait {
			if b.PasswordThreshold != nil && tr.Total > *b.PasswordThreshold {
				tr.Pending = "password"
			} else if sub, msg := t.settle(tr, b.UserID); sub != "" {
				return f2fpay.Errorf(f2fpay.ECONFLICT, "%s: %s (the scan is undone)", sub, msg)
			}
		}
		out = tr
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.clone(), nil
}

// Confirm is the buyer entering the payment password for a waiting trade (a 10003 pay,
// a scanned QR, a created trade).
func (s *Sim) Confirm(ctx context.Context, tradeNo, password string) (*Trade, error) {
	var out *Trade
	err := s.e.update(ctx, func(t *txn) error {
		tr, err := t.waitingTrade(tradeNo)
		if err != nil {
			return err
		}
		b := t.buyer(tr.BuyerID)
		if b == nil {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "the trade has no buyer yet; scan its QR code first")
		}
		if b.PayPassword != "" && b.PayPassword != password {
			return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "wrong pay_password for buyer %s", b.UserID)
		}
		tr = t.tradeW(tradeNo)
		if sub, msg := t.settle(tr, b.UserID); sub != "" {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "%s: %s", sub, msg)
		}
		out = tr
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.clone(), nil
}

// Reject is the buyer declining a waiting trade: it closes.
func (s *Sim) Reject(ctx context.Context, tradeNo string) (*Trade, error) {
	var out *Trade
	err := s.e.update(ctx, func(t *txn) error {
		if _, err := t.waitingTrade(tradeNo); err != nil {
			return err
		}
		out = t.tradeW(tradeNo)
		t.closeTrade(out)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.clone(), nil
}

func (t *txn) waitingTrade(no string) (*Trade, error) {
	tr := t.trade(no)
	switch {
	case tr == nil || (!tr.Visible && tr.QRToken == ""):
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no trade %q", no)
	case !tr.Visible:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "trade %s has not been scanned yet; POST /sandbox/scan first", no)
	case tr.Status != WaitBuyerPay:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "trade %s is %s, not waiting for the buyer", no, tr.Status)
	}
	return tr, nil
}

// purgeCodes drops the codes that expired more than CodeRetention ago, at most once a
// minute: issuing codes is what makes them pile up, so issuing is where they go. A
// purged code paid with later is unknown, which Alipay answers as it answers an
// expired one (ACQ.PAYMENT_AUTH_CODE_INVALID).
func (t *txn) purgeCodes() {
	if t.now.Sub(t.e.codesPurged) < time.Minute {
		return
	}
	t.e.codesPurged = t.now
	cut := t.now.Add(-CodeRetention)
	for code, c := range t.e.codes {
		if c.ExpiresAt.Before(cut) {
			t.dropCodes = append(t.dropCodes, code)
		}
	}
}
