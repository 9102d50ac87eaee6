package f2fpay

import (
	"context"
	"time"
)

// Reconciliation (对账) closes one app's Beijing day against Alipay's trade bill: every
// row of the bill is matched with the service's orders and refunds, and every
// difference becomes a ReconEntry of one class of a closed list. docs/reconciliation.md
// describes the classes and how each is checked and repaired; package recon runs it.

// ReconClass is what kind of difference an entry is. The list is closed.
type ReconClass string

const (
	// ReconAlipayOnly (单边账): the bill has the trade paid, and here there is no order
	// for it or the order's outcome is not known yet (PAYING, WAITING, UNKNOWN,
	// PENDING, CANCELLING).
	ReconAlipayOnly ReconClass = "alipay_only"
	// ReconLocalOnly: the order is PAID here and the bill has no trade row for it.
	ReconLocalOnly ReconClass = "local_only"
	// ReconStatusDiffers: the bill has the trade paid, and the order here is final
	// without being paid (FAILED, CLOSED, or CANCELLED without a refund).
	ReconStatusDiffers ReconClass = "status_differs"
	// ReconAmountDiffers: a paid order's total, receipt, merchant discount or vouchers
	// differ from the bill's 订单金额, 商家实收, 商家优惠 or 券核销金额, or its trade_no does.
	ReconAmountDiffers ReconClass = "amount_differs"
	// ReconFeeDiffers: the bill's 服务费 differs from the app's agreed fee rate applied
	// to 商家实收.
	ReconFeeDiffers ReconClass = "fee_differs"
	// ReconRefundAlipayOnly: the bill has a refund that is not SUCCEEDED here.
	ReconRefundAlipayOnly ReconClass = "refund_alipay_only"
	// ReconRefundLocalOnly: a refund SUCCEEDED here and the bill has no row for it.
	ReconRefundLocalOnly ReconClass = "refund_local_only"
	// ReconDuplicate: the bill lists a trade (or a refund) of the same out_trade_no
	// (and out_request_no) more than once.
	ReconDuplicate ReconClass = "duplicate"
)

// ReconClasses is the closed list, in report order.
var ReconClasses = []ReconClass{ReconAlipayOnly, ReconLocalOnly, ReconStatusDiffers, ReconAmountDiffers,
	ReconFeeDiffers, ReconRefundAlipayOnly, ReconRefundLocalOnly, ReconDuplicate}

// ReconStatus is where an entry stands.
type ReconStatus string

const (
	// ReconPending: a one-sided entry near midnight, matched again against the next
	// two days' bills before it counts.
	ReconPending ReconStatus = "pending"
	// ReconOpen: found, not (yet) repaired; Reason says why and what a person should do.
	ReconOpen ReconStatus = "open"
	// ReconRepaired: changed here on Alipay's word, through the payment engine.
	ReconRepaired ReconStatus = "repaired"
	// ReconConfirmed: Alipay's query agrees with the service, so nothing here changes;
	// the bill was wrong or late (Reason says which).
	ReconConfirmed ReconStatus = "confirmed"
	// ReconMatched: a pending entry found in a later day's bill.
	ReconMatched ReconStatus = "matched"
)

// Closed reports whether the entry no longer needs anyone.
func (s ReconStatus) Closed() bool {
	return s == ReconRepaired || s == ReconConfirmed || s == ReconMatched
}

// ReconAction is one thing done about an entry, with who or what decided it.
type ReconAction struct {
	At time.Time `json:"at"`
	// By is who decided: "recon" (the run, on Alipay's word), "policy:<name>" (a rule
	// the operator chose), or "operator:<name>".
	By      string `json:"by"`
	What    string `json:"what"`    // e.g. "alipay.trade.query", "engine.reconcile"
	Outcome string `json:"outcome"` // what Alipay said, what changed
}

// ReconEntry is one difference between the bill and the service.
type ReconEntry struct {
	ID       int64       `json:"id"`
	ReportID int64       `json:"report_id"`
	AppID    int64       `json:"app_id"`
	Day      string      `json:"day"` // yyyy-MM-dd, Beijing
	Class    ReconClass  `json:"class"`
	Status   ReconStatus `json:"status"`
	// Key identifies the entry within its report and class, so that a run started
	// again records it once.
	Key          string `json:"-"`
	OutTradeNo   string `json:"out_trade_no"`
	TradeNo      string `json:"trade_no,omitempty"`
	OutRequestNo string `json:"out_request_no,omitempty"`
	OrderID      int64  `json:"order_id,omitempty"`
	// BillAmount and LocalAmount are the amounts that differ (for one-sided entries,
	// the side's amount and 0), in fen.
	BillAmount  Amount `json:"bill_amount"`
	LocalAmount Amount `json:"local_amount"`
	// Detail says what differs; Reason why the entry is in its status.
	Detail  string        `json:"detail"`
	Reason  string        `json:"reason,omitempty"`
	Actions []ReconAction `json:"actions,omitempty"`
	// PendingUntil is the last day whose bill may still match a pending entry.
	PendingUntil string    `json:"pending_until,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// ReconReportStatus is where a day of an app stands.
type ReconReportStatus string

const (
	ReconRunning  ReconReportStatus = "running"  // a run holds the day
	ReconBalanced ReconReportStatus = "balanced" // every entry closed (or none)
	ReconHasOpen  ReconReportStatus = "open"     // entries need a person
	ReconWaiting  ReconReportStatus = "pending"  // only pending entries remain: later bills decide
	ReconFailed   ReconReportStatus = "failed"   // the run could not finish (Error)
)

// ReconClassSum counts and sums a class's entries by status.
type ReconClassSum struct {
	Class  ReconClass  `json:"class"`
	Status ReconStatus `json:"status"`
	Count  int         `json:"count"`
	// BillAmount and LocalAmount are the sums of the entries' amounts.
	BillAmount  Amount `json:"bill_amount"`
	LocalAmount Amount `json:"local_amount"`
}

// ReconReport is the reconciliation of one app's day.
type ReconReport struct {
	ID       int64             `json:"id"`
	AppID    int64             `json:"app_id"`
	Day      string            `json:"day"`
	Status   ReconReportStatus `json:"status"`
	Attempts int               `json:"attempts"`
	// Owner holds the day while Status is running, until LeaseUntil.
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitempty"`
	Error      string    `json:"error,omitempty"`
	// What the bill held: 交易 and 退款 rows and the sums of their 订单金额.
	BillTrades       int    `json:"bill_trades"`
	BillRefunds      int    `json:"bill_refunds"`
	BillTradeAmount  Amount `json:"bill_trade_amount"`
	BillRefundAmount Amount `json:"bill_refund_amount"`
	// Summary counts and sums the entries per class and status.
	Summary []ReconClassSum `json:"summary"`
	// Entries are filled by FindReconReport, not by listings.
	Entries []*ReconEntry `json:"entries,omitempty"`
}

// Summarize computes the summary and the status of a finished report from entries.
func (r *ReconReport) Summarize(entries []*ReconEntry) {
	idx := map[[2]string]int{}
	r.Summary = r.Summary[:0]
	open, pending := false, false
	for _, e := range entries {
		k := [2]string{string(e.Class), string(e.Status)}
		i, ok := idx[k]
		if !ok {
			i = len(r.Summary)
			idx[k] = i
			r.Summary = append(r.Summary, ReconClassSum{Class: e.Class, Status: e.Status})
		}
		s := &r.Summary[i]
		s.Count++
		s.BillAmount += e.BillAmount
		s.LocalAmount += e.LocalAmount
		open = open || e.Status == ReconOpen
		pending = pending || e.Status == ReconPending
	}
	switch {
	case open:
		r.Status = ReconHasOpen
	case pending:
		r.Status = ReconWaiting
	default:
		r.Status = ReconBalanced
	}
}

// ReconBillRow is the part of a bill row that reconciliation matches, staged in the
// database so that the day's rows are joined with the orders there rather than held
// in memory.
type ReconBillRow struct {
	Line             int
	Kind             string // "trade", "refund", or "other"
	TradeNo          string
	OutTradeNo       string
	OutRequestNo     string
	OrderAmount      Amount
	Receipt          Amount
	MerchantDiscount Amount
	VoucherAmount    Amount
	ServiceFee       Amount
	Finished         time.Time
}

// ReconTradeMatch is a 交易 row of the bill with the app's order of its out_trade_no.
type ReconTradeMatch struct {
	Row ReconBillRow
	// Earlier counts the 交易 rows of the same out_trade_no before this one.
	Earlier int
	// Order is nil when the app has no order of the out_trade_no; it carries the
	// fields reconciliation compares.
	Order *Order
}

// ReconRefundMatch is a 退款 row with its order and refund here, when there are.
type ReconRefundMatch struct {
	Row     ReconBillRow
	Earlier int
	// OrderID is 0 when there is no order; RefundID 0 when there is no refund.
	OrderID      int64
	OrderState   OrderState
	CancelAction string
	RefundID     int64
	RefundState  RefundState
	RefundAmount Amount
}

// ReconUnbilledRefund is a refund SUCCEEDED here that the bill does not list.
type ReconUnbilledRefund struct {
	Refund     *Refund
	OutTradeNo string
	TradeNo    string
}

// ReconFilter selects reports; zero fields do not filter.
type ReconFilter struct {
	AppID  int64
	Status ReconReportStatus
	// From and To bound the days (yyyy-MM-dd, both included).
	From, To string
	Limit    int // 0: 100
}

// ReconStore keeps reconciliation reports and stages bills.
type ReconStore interface {
	// ClaimReconReport makes the report of (appID, day) owner's until now+lease,
	// creating it; a report someone else holds with a live lease is ECONFLICT. A
	// report claimed again (a crashed run, a second run) keeps its entries and counts
	// one more attempt.
	ClaimReconReport(ctx context.Context, appID int64, day, owner string, now time.Time, lease time.Duration) (*ReconReport, error)
	// FinishReconReport writes a claimed report's status, error, bill counts and
	// summary and releases it, enqueuing events (the day closed with open entries) in
	// the same transaction; ECONFLICT when owner no longer holds it (nothing written).
	FinishReconReport(ctx context.Context, r *ReconReport, owner string, events ...*Event) error
	// UpdateReconSummary rewrites a report's status and summary (after a later day
	// settled its pending entries).
	UpdateReconSummary(ctx context.Context, r *ReconReport) error
	// FindReconReport returns the report of (appID, day) with its entries; ENOTFOUND
	// when the day was never reconciled.
	FindReconReport(ctx context.Context, appID int64, day string) (*ReconReport, error)
	// FindReconReportByID returns a report with its entries; ENOTFOUND when none.
	FindReconReportByID(ctx context.Context, id int64) (*ReconReport, error)
	// ListReconReports returns reports, the latest day first, without entries.
	ListReconReports(ctx context.Context, f ReconFilter) ([]*ReconReport, error)
	// CountOpenReconEntries counts the open entries of every report by class.
	CountOpenReconEntries(ctx context.Context) (map[ReconClass]int, error)

	// ClearBillRows drops a report's staged bill rows; AddBillRows stages rows (one
	// transaction per call, lazily durable: a lost batch is read again from the bill).
	ClearBillRows(ctx context.Context, reportID int64) error
	AddBillRows(ctx context.Context, reportID int64, rows []ReconBillRow) error
	// MatchBillTrades, MatchBillRefunds, UnbilledOrders and UnbilledRefunds stream the
	// join of the staged rows with the app's orders and refunds to fn (which may write
	// entries: the stream holds a read connection of its own); an error of fn stops
	// the stream and is returned.
	MatchBillTrades(ctx context.Context, reportID, appID int64, fn func(*ReconTradeMatch) error) error
	MatchBillRefunds(ctx context.Context, reportID, appID int64, fn func(*ReconRefundMatch) error) error
	// UnbilledOrders: the app's orders PAID in [from, to) that no 交易 row lists.
	UnbilledOrders(ctx context.Context, reportID, appID int64, from, to time.Time, fn func(*Order) error) error
	// UnbilledRefunds: the app's refunds SUCCEEDED in [from, to) that no 退款 row lists.
	UnbilledRefunds(ctx context.Context, reportID, appID int64, from, to time.Time, fn func(*ReconUnbilledRefund) error) error
	// BillHasRow reports whether the staged rows list kind ("trade" or "refund") for
	// the out_trade_no (and out_request_no).
	BillHasRow(ctx context.Context, reportID int64, kind, outTradeNo, outRequestNo string) (bool, error)

	// AddReconEntry records e unless its report already has an entry of its class and
	// key (added false: a run started again).
	AddReconEntry(ctx context.Context, e *ReconEntry) (added bool, err error)
	// UpdateReconEntry writes e's status, reason and actions.
	UpdateReconEntry(ctx context.Context, e *ReconEntry) error
	// ReconEntries returns a report's entries in the order they were found.
	ReconEntries(ctx context.Context, reportID int64) ([]*ReconEntry, error)
	// PendingReconEntries returns the app's pending entries of days before day.
	PendingReconEntries(ctx context.Context, appID int64, day string) ([]*ReconEntry, error)

	// AppFeeRate returns the app's agreed service fee in basis points of 商家实收;
	// ok false when none was set.
	AppFeeRate(ctx context.Context, appID int64) (bp int, ok bool, err error)
	SetAppFeeRate(ctx context.Context, appID int64, bp int) error
}

// ReconOpenEntries is the payload of a reconciliation.open_entries event: a day of an
// app closed with open entries. Like PublicOrder it is a contract (docs/api.md,
// "Webhooks"): fields are added, never renamed or dropped.
type ReconOpenEntries struct {
	ReportID int64 `json:"report_id"`
	// AppID is the service's id of the app, AlipayAppID Alipay's APPID.
	AppID       int64             `json:"app_id"`
	AlipayAppID string            `json:"alipay_app_id"`
	Day         string            `json:"day"`
	Status      ReconReportStatus `json:"status"`
	Attempt     int               `json:"attempt"`
	// Open counts the open entries; Entries lists them (at most ReconEventEntries:
	// Truncated says more exist; the admin API's report has them all).
	Open      int                `json:"open"`
	Summary   []ReconClassSum    `json:"summary"`
	Entries   []PublicReconEntry `json:"entries"`
	Truncated bool               `json:"truncated,omitempty"`
}

// ReconEventEntries bounds the entries a reconciliation.open_entries event lists.
const ReconEventEntries = 100

// PublicReconEntry is an entry as merchants' systems see it.
type PublicReconEntry struct {
	Class        ReconClass  `json:"class"`
	Status       ReconStatus `json:"status"`
	OutTradeNo   string      `json:"out_trade_no"`
	TradeNo      string      `json:"trade_no,omitempty"`
	OutRequestNo string      `json:"out_request_no,omitempty"`
	OrderID      int64       `json:"order_id,omitempty"`
	BillAmount   Amount      `json:"bill_amount"`
	LocalAmount  Amount      `json:"local_amount"`
	Detail       string      `json:"detail"`
	Reason       string      `json:"reason,omitempty"`
}

// OpenEntries returns the payload of the event announcing r's open entries, with
// app's APPID; ok false when r has none open.
func (r *ReconReport) OpenEntries(alipayAppID string) (p ReconOpenEntries, ok bool) {
	p = ReconOpenEntries{ReportID: r.ID, AppID: r.AppID, AlipayAppID: alipayAppID, Day: r.Day, Status: r.Status,
		Attempt: r.Attempts, Summary: r.Summary, Entries: []PublicReconEntry{}}
	for _, e := range r.Entries {
		if e.Status != ReconOpen {
			continue
		}
		p.Open++
		if len(p.Entries) == ReconEventEntries {
			p.Truncated = true
			continue
		}
		p.Entries = append(p.Entries, PublicReconEntry{Class: e.Class, Status: e.Status, OutTradeNo: e.OutTradeNo,
			TradeNo: e.TradeNo, OutRequestNo: e.OutRequestNo, OrderID: e.OrderID, BillAmount: e.BillAmount,
			LocalAmount: e.LocalAmount, Detail: e.Detail, Reason: e.Reason})
	}
	return p, p.Open > 0
}
