package alipaysim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay/bill"
)

// Daily bills (对账单), as alipay.data.dataservice.bill.downloadurl.query serves them:
//
//   - bill_type trade (业务明细 + 业务明细(汇总)) or signcustomer (账务明细); bill_date a
//     Beijing day (yyyy-MM-dd) or month (yyyy-MM). Until the period is over on the
//     sandbox clock the answer is 40004 isp.bill_not_exist 账单不存在 (Alipay has no
//     same-day bill). A trade bill of a period with nothing in it still has a file, and
//     the answer says bill_file_code EMPTY_DATA_WITH_BILL_FILE; a signcustomer bill of a
//     period without balance movements does not exist (isp.bill_not_exist).
//   - Each query issues its own link, /downloadBillFile.resource?...&token=…, valid
//     BillURLTTL on the sandbox clock; later it answers HTTP 410.
//   - The zip is written by package alipay/bill, byte for byte Alipay's layout, from the
//     sandbox's state when it is downloaded: one 交易 row per trade paid in the period,
//     one 退款 row per refund made in it. 服务费 is FeeRate of 商家实收, rounded half up to
//     the fen, negative on the trade; a refund gives back the matching share, computed
//     cumulatively so refunds never return more than was charged. The fee is only
//     written in bills: it does not move the merchant's balance. 分润 on a 交易 row is
//     minus the royalties the trade paid out by the end of the period; on a 退款 row it
//     is what that refund took back from the receivers.
//   - signcustomer bills list the merchant's balance movements in the period (payments,
//     refunds, royalties out and back, royalties received) with the running balance,
//     which ends at the balance the sandbox shows at that moment.
//   - Bill faults make the bill a query's link serves disagree with the sandbox's
//     records, one per reconciliation class (docs/reconciliation.md), so each can be
//     tested: bill_missing_row (a row left out), bill_changed_amount (+0.01 on 订单金额
//     and 商家实收), bill_changed_discount (商家优惠 +0.01 and 商家实收 -0.01),
//     bill_changed_fee (0.01 more 服务费 charged), bill_extra_trade (a trade the sandbox
//     never had), bill_unpaid_trade (an unpaid trade of the period listed as paid),
//     bill_missing_refund (a 退款 row left out), bill_extra_refund (a 0.01 退款 the
//     sandbox never made) and bill_duplicate_row (a 交易 row listed twice). A fault acts
//     on the rows of its OutTradeNo when it names one, otherwise on the first row the
//     fault can act on.

const (
	// BillURLTTL is how long a bill_download_url works: Alipay's expire after 30 s.
	BillURLTTL = 30 * time.Second
	// FeeRate is the sandbox's service fee in basis points of 商家实收: 60 = 0.6%, the
	// standard rate of 当面付.
	FeeRate = 60
)

// Bill faults: they make the bill a link serves disagree with the sandbox's records.
const (
	FaultBillMissingRow    = "bill_missing_row"
	FaultBillChangedAmount = "bill_changed_amount"
	FaultBillExtraTrade    = "bill_extra_trade"
	FaultBillChangedDisc   = "bill_changed_discount"
	FaultBillChangedFee    = "bill_changed_fee"
	FaultBillUnpaidTrade   = "bill_unpaid_trade"
	FaultBillMissingRefund = "bill_missing_refund"
	FaultBillExtraRefund   = "bill_extra_refund"
	FaultBillDuplicateRow  = "bill_duplicate_row"
)

// BillLink is an issued bill_download_url.
type BillLink struct {
	Token     string    `json:"token"`
	AppID     string    `json:"app_id"`
	BillType  string    `json:"bill_type"`
	BillDate  string    `json:"bill_date"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Fault     string    `json:"fault,omitempty"`
	// FaultTarget is the out_trade_no the fault acts on; the first row when empty.
	FaultTarget string `json:"fault_target,omitempty"`
}

func (l *BillLink) recordKind() string  { return kindBillLink }
func (l *BillLink) recordID() string    { return l.Token }
func (l *BillLink) cloneRecord() record { c := *l; return &c }

// fee is the service fee on a receipt, rounded half up to the fen.
func fee(receipt f2fpay.Amount) f2fpay.Amount {
	if receipt <= 0 {
		return 0
	}
	return f2fpay.Amount((int64(receipt)*FeeRate*2 + 10000) / 20000)
}

// billPeriod parses bill_date: a day or a month, in Beijing time.
func billPeriod(date string) (start, end time.Time, month bool, err error) {
	if d, e := time.ParseInLocation("2006-01-02", date, beijing); e == nil && len(date) == 10 {
		return d, d.AddDate(0, 0, 1), false, nil
	}
	if d, e := time.ParseInLocation("2006-01", date, beijing); e == nil && len(date) == 7 {
		return d, d.AddDate(0, 1, 0), true, nil
	}
	return time.Time{}, time.Time{}, false, fmt.Errorf("bill_date %q 格式应为 yyyy-MM-dd 或 yyyy-MM", date)
}

// billURL is alipay.data.dataservice.bill.downloadurl.query.
func (t *txn) billURL(c *call) *node {
	var r struct {
		BillType string `json:"bill_type"`
		BillDate jstr   `json:"bill_date"`
		Smid     string `json:"smid"`
	}
	if err := json.Unmarshal([]byte(c.params["biz_content"]), &r); err != nil {
		return gatewayError(codeInvalid, "isv.invalid-parameter", "biz_content 格式错误 ("+err.Error()+")")
	}
	switch r.BillType {
	case "trade", "signcustomer":
	case "":
		return gatewayError(codeMissing, "isv.missing-parameter", "缺少必选参数 bill_type (trade or signcustomer)")
	default:
		return gatewayError(codeInvalid, "isv.invalid-parameter", "bill_type 沙箱只支持 trade 和 signcustomer")
	}
	start, end, month, err := billPeriod(string(r.BillDate))
	if err != nil {
		return gatewayError(codeInvalid, "isv.invalid-parameter", err.Error())
	}
	if t.now.Before(end) {
		return bizError("isp.bill_not_exist", "账单不存在")
	}
	empty := t.billEmpty(c.app, r.BillType, start, end)
	if empty && r.BillType == "signcustomer" {
		// A balance bill exists only for periods with movements (reported from
		// production use: no "empty file" answer for signcustomer).
		return bizError("isp.bill_not_exist", "账单不存在")
	}
	_, effect := t.e.faults.takeBill(c.method, c.app.AppID)
	link := &BillLink{AppID: c.app.AppID, BillType: r.BillType, BillDate: string(r.BillDate), IssuedAt: t.now, ExpiresAt: t.now.Add(BillURLTTL)}
	if effect != nil {
		link.Fault, link.FaultTarget = effect.Kind, effect.OutTradeNo
	}
	for link.Token == "" || t.rec(kindBillLink, link.Token) != nil {
		link.Token = strings.ToLower(hexDigits(t, 32))
	}
	t.putRec(link)
	pid := c.app.SellerID
	dates := start.Format("20060102")
	if month {
		dates = start.Format("200601")
	}
	name := billZipName(pid+"0156", start, month)
	q := url.Values{}
	q.Set("bizType", r.BillType)
	q.Set("userId", pid)
	q.Set("fileType", "csv.zip")
	q.Set("bizDates", dates)
	q.Set("downloadFileName", name)
	q.Set("fileId", strings.TrimSuffix(name, ".csv.zip"))
	q.Set("timestamp", strconv.FormatInt(t.now.UnixMilli(), 10))
	q.Set("token", link.Token)
	n := success().set("bill_download_url", strings.TrimSuffix(c.baseURL, "/")+"/downloadBillFile.resource?"+q.Encode())
	if empty {
		n.set("bill_file_code", "EMPTY_DATA_WITH_BILL_FILE")
	}
	return n
}

func billZipName(account string, start time.Time, month bool) string {
	if month {
		return account + "_" + start.Format("200601") + ".csv.zip"
	}
	return bill.ZipName(account, start)
}

func billEntryName(account string, start time.Time, month bool, k bill.Kind) string {
	if month {
		return account + "_" + start.Format("200601") + "_" + k.String() + ".csv"
	}
	return bill.EntryName(account, start, k)
}

// billEmpty reports whether the period has nothing for the bill.
func (t *txn) billEmpty(app *App, billType string, start, end time.Time) bool {
	in := func(x time.Time) bool { return !x.Before(start) && x.Before(end) }
	for _, tr := range t.e.trades {
		if tr.AppID == app.AppID {
			if tr.PaidAt != nil && in(*tr.PaidAt) {
				return false
			}
			for _, r := range tr.Refunds {
				if in(r.At) {
					return false
				}
			}
		}
		if billType == "signcustomer" {
			for _, x := range tr.Royalties {
				if (x.TransIn == app.SellerID || x.TransOut == app.SellerID) && x.Status == "SUCCESS" && in(x.At) {
					return false
				}
			}
		}
	}
	return true
}

// billData is what a bill is written from, copied out of the state under the lock.
type billData struct {
	kind string // trade or signcustomer
	info bill.FileInfo
	// unpaid are the trades created in the period and never paid, for
	// bill_unpaid_trade.
	unpaid []*bill.DetailRow
	month  bool
	detail []*bill.DetailRow
	acct   []*bill.AccountRow
}

// collectBill gathers the rows of an app's bill for a period.
func (t *txn) collectBill(app *App, billType string, start, end time.Time) *billData {
	d := &billData{kind: billType, info: bill.FileInfo{Account: app.SellerID + "0156", Start: start, End: end, ExportedAt: t.now}}
	in := func(x time.Time) bool { return !x.Before(start) && x.Before(end) }
	if billType == "signcustomer" {
		d.acct = t.accountRows(app, start, end)
		return d
	}
	for _, tr := range t.e.trades {
		if tr.AppID == app.AppID && tr.PaidAt == nil && tr.Visible && in(tr.CreatedAt) {
			d.unpaid = append(d.unpaid, &bill.DetailRow{
				TradeNo: tr.TradeNo, OutTradeNo: tr.OutTradeNo, Type: bill.BizTrade, Subject: tr.Subject,
				Created: tr.CreatedAt.In(beijing), Finished: tr.CreatedAt.In(beijing), OrderAmount: tr.Total,
				Receipt: tr.Total, ServiceFee: -fee(tr.Total),
			})
		}
		if tr.AppID != app.AppID || tr.PaidAt == nil {
			continue
		}
		if in(*tr.PaidAt) {
			row := &bill.DetailRow{
				TradeNo: tr.TradeNo, OutTradeNo: tr.OutTradeNo, Type: bill.BizTrade, Subject: tr.Subject,
				Created: tr.CreatedAt.In(beijing), Finished: tr.PaidAt.In(beijing), StoreID: tr.StoreID,
				Operator: tr.Operator, TerminalID: tr.Terminal, Counterparty: maskLogon(tr.BuyerLogonID),
				OrderAmount: tr.Total, Receipt: tr.Receipt, AlipayDiscount: tr.Discount, MerchantDiscount: tr.MDiscount,
				ServiceFee: -fee(tr.Receipt),
			}
			for _, v := range tr.Vouchers {
				row.VoucherAmount += v.Amount
				row.VoucherName = v.Name
			}
			for _, x := range tr.Royalties {
				if x.OperationType == "transfer" && x.Status == "SUCCESS" && x.At.Before(end) {
					row.Royalty -= x.Amount
				}
			}
			d.detail = append(d.detail, row)
		}
		var debited, feeBack f2fpay.Amount
		total := fee(tr.Receipt)
		for _, rf := range tr.Refunds {
			debited += rf.SellerDebit
			back := total
			if tr.Receipt > 0 {
				back = f2fpay.Amount((int64(total)*int64(debited)*2 + int64(tr.Receipt)) / (2 * int64(tr.Receipt)))
			}
			back = min(back, total)
			thisBack := back - feeBack
			feeBack = back
			if !in(rf.At) {
				continue
			}
			row := &bill.DetailRow{
				TradeNo: tr.TradeNo, OutTradeNo: tr.OutTradeNo, Type: bill.BizRefund, Subject: tr.Subject,
				Created: tr.CreatedAt.In(beijing), Finished: rf.At.In(beijing), StoreID: tr.StoreID,
				Operator: rf.OperatorID, TerminalID: rf.TerminalID, Counterparty: maskLogon(tr.BuyerLogonID),
				OrderAmount: -rf.Amount, Receipt: -rf.SellerDebit, MerchantDiscount: -(rf.Amount - rf.SellerDebit),
				RefundRequestNo: rf.OutRequestNo, ServiceFee: thisBack,
			}
			for _, x := range tr.Royalties {
				if x.OperationType == "transfer_refund" && x.Status == "SUCCESS" && x.RefundNo == rf.OutRequestNo {
					row.Royalty += x.Amount
				}
			}
			d.detail = append(d.detail, row)
		}
	}
	slices.SortFunc(d.detail, func(a, b *bill.DetailRow) int {
		return cmp.Or(a.Finished.Compare(b.Finished), strings.Compare(a.TradeNo, b.TradeNo),
			strings.Compare(string(a.Type), string(b.Type)), strings.Compare(a.RefundRequestNo, b.RefundRequestNo))
	})
	return d
}

// movement is one change of a merchant's balance, for the signcustomer bill.
type movement struct {
	at                        time.Time
	amount                    f2fpay.Amount // signed
	bizType                   string
	tradeNo, outTradeNo, subj string
	counterparty              string
}

var movementRank = map[string]int{"在线支付": 0, "分账": 1, "分账退回": 2, "交易退款": 3}

// accountRows lists the seller's balance movements in the period with the running
// balance: the opening balance is the current balance minus every movement since the
// period began.
func (t *txn) accountRows(app *App, start, end time.Time) []*bill.AccountRow {
	seller := app.SellerID
	var ms []movement
	for _, tr := range t.e.trades {
		mine := tr.SellerID == seller && tr.AppID == app.AppID
		if mine && tr.PaidAt != nil && tr.Receipt > 0 {
			ms = append(ms, movement{*tr.PaidAt, tr.Receipt, "在线支付", tr.TradeNo, tr.OutTradeNo, tr.Subject, maskLogon(tr.BuyerLogonID)})
		}
		if mine {
			for _, rf := range tr.Refunds {
				if rf.SellerDebit > 0 {
					ms = append(ms, movement{rf.At, -rf.SellerDebit, "交易退款", tr.TradeNo, tr.OutTradeNo, tr.Subject, maskLogon(tr.BuyerLogonID)})
				}
			}
		}
		for _, x := range tr.Royalties {
			if x.Status != "SUCCESS" {
				continue
			}
			switch {
			case x.OperationType == "transfer" && x.TransOut == seller:
				ms = append(ms, movement{x.At, -x.Amount, "分账", tr.TradeNo, tr.OutTradeNo, tr.Subject, x.TransIn})
			case x.OperationType == "transfer" && x.TransIn == seller:
				ms = append(ms, movement{x.At, x.Amount, "分账", tr.TradeNo, tr.OutTradeNo, tr.Subject, x.TransOut})
			case x.OperationType == "transfer_refund" && x.TransIn == seller:
				ms = append(ms, movement{x.At, x.Amount, "分账退回", tr.TradeNo, tr.OutTradeNo, tr.Subject, x.TransOut})
			case x.OperationType == "transfer_refund" && x.TransOut == seller:
				ms = append(ms, movement{x.At, -x.Amount, "分账退回", tr.TradeNo, tr.OutTradeNo, tr.Subject, x.TransIn})
			}
		}
	}
	slices.SortStableFunc(ms, func(a, b movement) int {
		// At one instant: the payment, then royalties out, then royalties back, which
		// come before the refund they fund (settle.go).
		return cmp.Or(a.at.Compare(b.at), strings.Compare(a.tradeNo, b.tradeNo), cmp.Compare(movementRank[a.bizType], movementRank[b.bizType]))
	})
	bal := t.app(app.AppID).Balance
	for _, m := range ms {
		if !m.at.Before(start) {
			bal -= m.amount
		}
	}
	var rows []*bill.AccountRow
	for i, m := range ms {
		if m.at.Before(start) || !m.at.Before(end) {
			continue
		}
		bal += m.amount
		row := &bill.AccountRow{
			JournalNo: m.at.In(beijing).Format("20060102") + fmt.Sprintf("%012d", i+1), BizNo: m.tradeNo,
			OutTradeNo: m.outTradeNo, Subject: m.subj, Time: m.at.In(beijing), Counterparty: m.counterparty,
			Balance: bal, Channel: "支付宝", BizType: m.bizType,
		}
		if m.amount >= 0 {
			row.Income = m.amount
		} else {
			row.Expense = m.amount
		}
		rows = append(rows, row)
	}
	return rows
}

// target returns the index of the first detail row the fault acts on: of the target
// out_trade_no when one is named, of the business type typ when it is set; -1 if none.
func (d *billData) target(outTradeNo string, typ bill.BizType) int {
	for i, r := range d.detail {
		if (outTradeNo == "" || r.OutTradeNo == outTradeNo) && (typ == "" || r.Type == typ) {
			return i
		}
	}
	return -1
}

// applyFault makes the bill disagree with the sandbox's records.
func (d *billData) applyFault(kind, outTradeNo string) {
	change := func(typ bill.BizType, f func(r *bill.DetailRow)) {
		if i := d.target(outTradeNo, typ); i >= 0 {
			r := *d.detail[i]
			f(&r)
			d.detail[i] = &r
		}
	}
	switch kind {
	case FaultBillMissingRow:
		if i := d.target(outTradeNo, ""); i >= 0 {
			d.detail = slices.Delete(d.detail, i, i+1)
		}
		if len(d.acct) > 0 {
			d.acct = d.acct[1:]
		}
	case FaultBillMissingRefund:
		if i := d.target(outTradeNo, bill.BizRefund); i >= 0 {
			d.detail = slices.Delete(d.detail, i, i+1)
		}
	case FaultBillChangedAmount:
		change("", func(r *bill.DetailRow) { r.OrderAmount, r.Receipt = r.OrderAmount+1, r.Receipt+1 })
		if len(d.acct) > 0 {
			r := *d.acct[0]
			if r.Income != 0 {
				r.Income++
			} else {
				r.Expense--
			}
			d.acct[0] = &r
		}
	case FaultBillChangedDisc:
		change(bill.BizTrade, func(r *bill.DetailRow) { r.MerchantDiscount, r.Receipt = r.MerchantDiscount+1, r.Receipt-1 })
	case FaultBillChangedFee:
		change(bill.BizTrade, func(r *bill.DetailRow) { r.ServiceFee-- })
	case FaultBillDuplicateRow:
		if i := d.target(outTradeNo, bill.BizTrade); i >= 0 {
			d.detail = slices.Insert(d.detail, i+1, d.detail[i])
		}
	case FaultBillExtraRefund:
		if i := d.target(outTradeNo, bill.BizTrade); i >= 0 {
			r := *d.detail[i]
			r.Type, r.RefundRequestNo = bill.BizRefund, "sandbox-extra-refund"
			r.OrderAmount, r.Receipt, r.MerchantDiscount, r.AlipayDiscount, r.VoucherAmount, r.ServiceFee, r.Royalty = -1, -1, 0, 0, 0, 0, 0
			d.detail = append(d.detail, &r)
		}
	case FaultBillUnpaidTrade:
		for _, r := range d.unpaid {
			if outTradeNo == "" || r.OutTradeNo == outTradeNo {
				d.detail = append(d.detail, r)
				break
			}
		}
	case FaultBillExtraTrade:
		at := d.info.End.Add(-time.Minute)
		no := at.Format("20060102") + "2200" + "9999999999999999"
		if d.kind == "signcustomer" {
			d.acct = append(d.acct, &bill.AccountRow{JournalNo: at.Format("20060102") + "999999999999", BizNo: no,
				OutTradeNo: "sandbox-extra-trade", Subject: "沙箱多出的交易", Time: at, Income: 100, Channel: "支付宝", BizType: "在线支付"})
			return
		}
		d.detail = append(d.detail, &bill.DetailRow{TradeNo: no, OutTradeNo: "sandbox-extra-trade", Type: bill.BizTrade,
			Subject: "沙箱多出的交易", Created: at, Finished: at, OrderAmount: 100, Receipt: 100, ServiceFee: -fee(100)})
	}
}

// write writes the bill zip.
func (d *billData) write(w io.Writer) error {
	z := bill.NewZipWriter(w)
	if d.kind == "signcustomer" {
		fw, err := z.Create(billEntryName(d.info.Account, d.info.Start, d.month, bill.KindAccountDetail), d.info.ExportedAt)
		if err != nil {
			return err
		}
		aw := bill.NewAccountWriter(fw, d.info)
		for _, r := range d.acct {
			if err := aw.WriteRow(r); err != nil {
				return err
			}
		}
		if err := aw.Close(); err != nil {
			return err
		}
		return z.Close()
	}
	fw, err := z.Create(billEntryName(d.info.Account, d.info.Start, d.month, bill.KindDetail), d.info.ExportedAt)
	if err != nil {
		return err
	}
	dw := bill.NewDetailWriter(fw, d.info)
	for _, r := range d.detail {
		if err := dw.WriteRow(r); err != nil {
			return err
		}
	}
	if err := dw.Close(); err != nil {
		return err
	}
	fw, err = z.Create(billEntryName(d.info.Account, d.info.Start, d.month, bill.KindSummary), d.info.ExportedAt)
	if err != nil {
		return err
	}
	if err := bill.WriteSummary(fw, d.info, dw.Summary()); err != nil {
		return err
	}
	return z.Close()
}

// WriteBill writes an app's bill zip for bill_type trade or signcustomer and a
// bill_date (yyyy-MM-dd or yyyy-MM) to w, from the current state and without faults,
// whether or not the period is over. It returns the zip's file name.
func (s *Sim) WriteBill(ctx context.Context, w io.Writer, appID, billType, billDate string) (string, error) {
	if billType != "trade" && billType != "signcustomer" {
		return "", f2fpay.Errorf(f2fpay.EINVALID, "bill_type must be trade or signcustomer")
	}
	start, end, month, err := billPeriod(billDate)
	if err != nil {
		return "", f2fpay.Errorf(f2fpay.EINVALID, "%v", err)
	}
	d, err := s.collect(appID, billType, start, end, month)
	if err != nil {
		return "", err
	}
	return billZipName(d.info.Account, start, month), d.write(w)
}

func (s *Sim) collect(appID, billType string, start, end time.Time, month bool) (*billData, error) {
	var d *billData
	s.e.view(func(t *txn) {
		if app := t.app(appID); app != nil {
			d = t.collectBill(app, billType, start, end)
			d.month = month
		}
	})
	if d == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no app %q", appID)
	}
	return d, nil
}

// serveBill is GET /downloadBillFile.resource?…&token=…: the zip behind a
// bill_download_url, while the link is valid.
func (s *Sim) serveBill(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	var link *BillLink
	s.e.view(func(t *txn) {
		if l, ok := t.rec(kindBillLink, token).(*BillLink); ok {
			link = l
		}
	})
	if token == "" || link == nil {
		http.Error(w, "bill download link unknown: ask alipay.data.dataservice.bill.downloadurl.query for a new one", http.StatusNotFound)
		return
	}
	if !s.clock.Now().Before(link.ExpiresAt) {
		http.Error(w, "bill download link expired ("+BillURLTTL.String()+" after it was issued): ask for a new one", http.StatusGone)
		return
	}
	start, end, month, err := billPeriod(link.BillDate)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d, err := s.collect(link.AppID, link.BillType, start, end, month)
	if err != nil {
		http.Error(w, f2fpay.ErrorMessage(err), http.StatusNotFound)
		return
	}
	d.applyFault(link.Fault, link.FaultTarget)
	var buf bytes.Buffer
	if err := d.write(&buf); err != nil {
		http.Error(w, "writing the bill: "+err.Error(), http.StatusInternalServerError)
		return
	}
	name := billZipName(d.info.Account, start, month)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}
