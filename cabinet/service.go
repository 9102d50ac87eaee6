// Package cabinet is the service side of the open-door cabinet (无限宝盒,
// docs/vending.md §12): members sign a withholding agreement once, open a cabinet's
// door from their page, and are charged — through the agreement, without being there —
// for what the cabinet reports taken when the door closes. A refused charge is a debt:
// retried on a backoff by Run, shown on the member's page, and in the way of the next
// opening.
//
// The rules it keeps (docs/state_machine.md, "Cabinet sessions"):
//
//   - Every charge attempt of a session sends the same out_trade_no; Alipay pays a
//     number at most once, so no retry, restart or second instance charges twice.
//   - A charge whose outcome is unknown is resolved by trade.query, never by paying
//     again blindly; a number moves on only when Alipay says its trade closed unpaid.
//   - Agreements change only on a verified notification or Alipay's answer.
package cabinet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// Alipay is what the service asks of Alipay; *payment.Engine implements it.
type Alipay interface {
	AgreementSignURL(ctx context.Context, appID int64, req *alipay.AgreementPageSignRequest, opts ...alipay.CallOption) (string, error)
	AgreementQuery(ctx context.Context, appID int64, ref *alipay.AgreementRef) (*alipay.AgreementQueryResponse, error)
	AgreementUnsign(ctx context.Context, appID int64, req *alipay.AgreementUnsignRequest) error
	ParseAgreementNotification(ctx context.Context, appAlipayID string, body []byte) (*f2fpay.App, *alipay.AgreementNotification, error)
	AgreementPay(ctx context.Context, ch payment.AgreementCharge) (*payment.ChargeResult, error)
	AgreementChargeStatus(ctx context.Context, ch payment.AgreementCharge) (*payment.ChargeResult, error)
	Refund(ctx context.Context, req payment.RefundRequest) (*f2fpay.Refund, error)
}

// Devices is the part of the device channel the service uses: the cabinet's
// description (its planogram prices the report) and the open_door command.
// f2fpay.DeviceStore implements it.
type Devices interface {
	FindDevice(ctx context.Context, terminalID int64) (*f2fpay.Device, error)
	TakeStock(ctx context.Context, terminalID int64, slot string, n int) error
	EnqueueCommand(ctx context.Context, c *f2fpay.Command) (stored *f2fpay.Command, created bool, err error)
	FindCommand(ctx context.Context, id int64) (*f2fpay.Command, error)
}

// Commander enqueues device-channel commands and wakes the machine's long-poll;
// *device.Service implements it.
type Commander interface {
	Enqueue(ctx context.Context, terminalID int64, kind f2fpay.CommandKind, key string, payload any, ttl time.Duration) (*f2fpay.Command, bool, error)
}

// Config configures a Service.
type Config struct {
	Store   f2fpay.Storage
	Devices Devices
	// Commands enqueues the open_door command (the device channel's service, which
	// wakes the cabinet's long-poll at once); Devices.EnqueueCommand when nil, which
	// the long-poll finds at its next read of the store.
	Commands Commander
	Alipay   Alipay
	// PublicURL is where Alipay and buyers reach the service: the agreement
	// notifications go to PublicURL/alipay/agreements/notify/{app APPID}, and the
	// signing page returns to the member's page under PublicURL/m/.
	PublicURL string
	// PersonalProductCode and SignScene are what members sign (the merchant's
	// contract with Alipay decides which are allowed); GENERAL_WITHHOLDING_P and
	// INDUSTRY|VENDING_MACHINE by default.
	PersonalProductCode string
	SignScene           string
	// Backoff schedules the retries of a debt; the last entry repeats. Default 1 min,
	// 10 min, 1 h, 6 h.
	Backoff []time.Duration
	// UnknownDelay is the wait before a charge whose outcome was unknown is queried
	// (5 s); Handover how long a charge under way is left to the request driving it
	// before the retrier takes over (30 s, more than one Alipay call lasts).
	UnknownDelay, Handover time.Duration
	// DoorTTL is how long the open_door command waits for the cabinet (2 min);
	// AbandonAfter how long after that a session with no close report is abandoned
	// (10 min).
	DoorTTL, AbandonAfter time.Duration
	// Poll is how often Run looks for due work (2 s); Lease how long it holds a
	// session (1 min).
	Poll, Lease time.Duration
	Owner       string
	Clock       f2fpay.Clock
	Logger      *slog.Logger
}

// Service runs agreements and cabinet sessions. Safe for concurrent use; several
// instances may share one store.
type Service struct {
	cfg   Config
	store f2fpay.Storage
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Devices == nil || cfg.Alipay == nil || cfg.PublicURL == "" {
		return nil, errors.New("cabinet: Store, Devices, Alipay and PublicURL are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cabinet: PublicURL %q must be an absolute http(s) URL", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.PersonalProductCode == "" {
		cfg.PersonalProductCode = alipay.PersonalGeneralWithholding
	}
	if cfg.SignScene == "" {
		cfg.SignScene = alipay.SceneVendingMachine
	}
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}
	}
	for _, b := range cfg.Backoff {
		if b <= 0 {
			return nil, errors.New("cabinet: Backoff entries must be positive")
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.UnknownDelay, 5*time.Second)
	def(&cfg.Handover, 30*time.Second)
	def(&cfg.DoorTTL, 2*time.Minute)
	def(&cfg.AbandonAfter, 10*time.Minute)
	def(&cfg.Poll, 2*time.Second)
	def(&cfg.Lease, time.Minute)
	if cfg.Owner == "" {
		cfg.Owner = "cabinet-" + randomHex(6)
	}
	if cfg.Clock == nil {
		cfg.Clock = f2fpay.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{cfg: cfg, store: cfg.Store}, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock.Now().UTC().Truncate(time.Microsecond) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("cabinet: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// backoff is the wait after the n-th refused attempt (n ≥ 1).
func (s *Service) backoff(n int) time.Duration {
	i := min(max(n-1, 0), len(s.cfg.Backoff)-1)
	return s.cfg.Backoff[i]
}

// Refusal says why the door stays shut, or why signing cannot go on: in Chinese and
// English, what happened and what to do.
type Refusal struct {
	// Reason is a stable code: not_signed, pending, unsigned, debt, busy, elsewhere,
	// not_cabinet, signed_already.
	Reason string
	ZH, EN string
	// Owed is what the member owes, for Reason debt.
	Owed f2fpay.Amount
}

func (r *Refusal) Error() string { return "cabinet: " + r.Reason + ": " + r.EN }

// Reasons of refusals.
const (
	ReasonNotSigned     = "not_signed"
	ReasonPending       = "pending"
	ReasonUnsigned      = "unsigned"
	ReasonDebt          = "debt"
	ReasonBusy          = "busy"
	ReasonElsewhere     = "elsewhere"
	ReasonNotCabinet    = "not_cabinet"
	ReasonSignedAlready = "signed_already"
)

func refuse(reason string, owed f2fpay.Amount) *Refusal {
	r := &Refusal{Reason: reason, Owed: owed}
	switch reason {
	case ReasonNotSigned:
		r.ZH, r.EN = "开门前请先开通免密支付：关门后按所取商品自动扣款。", "Sign the password-free payment agreement first: after you close the door, what you took is charged automatically."
	case ReasonPending:
		r.ZH, r.EN = "支付宝还没有确认你的免密支付签约。请在支付宝中完成签约，然后刷新本页。", "Alipay has not confirmed your password-free payment agreement yet. Finish signing in Alipay, then reload this page."
	case ReasonUnsigned:
		r.ZH, r.EN = "你已解约免密支付，柜门不能再为你打开。重新开通后即可使用。", "You cancelled password-free payment, so the door cannot open for you. Sign again to use the cabinet."
	case ReasonDebt:
		r.ZH = "你上次购物还有 ¥" + owed.String() + " 未支付成功。请补缴后再开门。"
		r.EN = "¥" + owed.String() + " from an earlier visit is still unpaid. Pay it to open the door again."
	case ReasonBusy:
		r.ZH, r.EN = "柜门正在被其他顾客使用，请等待关门后再试。", "Someone else is using this cabinet. Try again once its door is closed."
	case ReasonElsewhere:
		r.ZH, r.EN = "你在另一台柜子的柜门还开着。请先关好那扇门。", "You have a cabinet door open elsewhere. Close that door first."
	case ReasonNotCabinet:
		r.ZH, r.EN = "这台设备不是开门柜。", "This machine is not an open-door cabinet."
	case ReasonSignedAlready:
		r.ZH, r.EN = "你已开通免密支付。", "You have signed the password-free payment agreement already."
	}
	return r
}

// DebtReason says to the member, in Chinese and English, why a charge was refused and
// what to do, from Alipay's sub_code (FailCode).
func DebtReason(failCode string) (zh, en string) {
	switch failCode {
	case "ACQ.BUYER_BALANCE_NOT_ENOUGH", "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH":
		return "支付宝余额不足：请充值或在支付宝中更换付款方式，然后点“立即补缴”。",
			"Your Alipay balance is not enough: top up, or choose another funding source in Alipay, then tap Pay now."
	case FailNoAgreement, "ACQ.AGREEMENT_NOT_EXIST", "ACQ.AGREEMENT_INVALID", "ACQ.AGREEMENT_STATUS_NOT_NORMAL":
		return "免密支付协议已失效：请重新开通，欠款将自动扣除。",
			"Your password-free payment agreement no longer works: sign again, and what you owe is charged automatically."
	case "":
		return "扣款结果确认中。", "Waiting for Alipay's answer."
	}
	return "支付宝未能扣款（" + failCode + "）：请检查支付宝账户，然后点“立即补缴”。",
		"Alipay could not charge you (" + failCode + "): check your Alipay account, then tap Pay now."
}
