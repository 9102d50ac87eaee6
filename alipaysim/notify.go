package alipaysim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

// retrySchedule is Alipay's: after the first attempt, retries 4m, 10m, 10m, 1h, 2h, 6h
// and 15h apart — eight attempts in about 25 hours (docs/alipay-protocol.md §8.1).
var retrySchedule = []time.Duration{4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour,
	2 * time.Hour, 6 * time.Hour, 15 * time.Hour}

// notify records a trade_status_sync notification of tr's current state (a snapshot,
// as Alipay's are) when the trade or its app has a notify_url. rf is the refund that
// caused it, if any.
func (t *txn) notify(tr *Trade, rf *Refund) {
	app := t.app(tr.AppID)
	u := tr.NotifyURL
	if u == "" && app != nil {
		u = app.NotifyURL
	}
	if u == "" {
		return
	}
	p := map[string]string{
		"notify_type": "trade_status_sync", "app_id": tr.AppID, "auth_app_id": tr.AppID,
		"charset": "utf-8", "version": "1.0", "trade_no": tr.TradeNo, "out_trade_no": tr.OutTradeNo,
		"buyer_id": tr.BuyerID, "buyer_logon_id": maskLogon(tr.BuyerLogonID), "buyer_open_id": tr.BuyerOpenID,
		"seller_id": tr.SellerID, "trade_status": tr.Status, "total_amount": tr.Total.String(),
		"subject": tr.Subject, "body": tr.Body, "gmt_create": fmtTime(tr.CreatedAt),
		"passback_params": tr.Passback,
	}
	if tr.ISVAppID != "" {
		p["app_id"] = tr.ISVAppID // a service provider's call: auth_app_id stays the merchant's
	}
	if tr.PaidAt != nil {
		p["gmt_payment"] = fmtTime(*tr.PaidAt)
		p["receipt_amount"] = tr.Receipt.String()
		p["invoice_amount"] = tr.Invoice.String()
		p["buyer_pay_amount"] = tr.BuyerPay.String()
		p["point_amount"] = tr.Point.String()
		p["fund_bill_list"] = camelFundBills(tr.FundBills)
		if len(tr.Vouchers) > 0 {
			p["voucher_detail_list"] = camelVouchers(tr.Vouchers)
		}
	}
	if tr.ClosedAt != nil {
		p["gmt_close"] = fmtTime(*tr.ClosedAt)
	}
	if rf != nil {
		p["refund_fee"] = tr.RefundFee.String()
		// Real refund notifications carry milliseconds here (docs/alipay-protocol.md §8.1, V4).
		p["gmt_refund"] = rf.At.In(beijing).Format("2006-01-02 15:04:05.000")
		p["out_biz_no"] = rf.OutRequestNo
	}
	for k, v := range p {
		if v == "" {
			delete(p, k) // never send empty values: SDKs disagree on whether they are signed
		}
	}
	t.e.notifSeq++
	seq := t.e.notifSeq
	n := &Notification{
		NotifyID: t.now.In(beijing).Format("20060102") + "00222" + t.ids.digits(21),
		AppID:    tr.AppID, TradeNo: tr.TradeNo, OutTradeNo: tr.OutTradeNo, Status: tr.Status,
		URL: u, SignType: tr.SignType, Params: p, CreatedAt: t.now, Seq: seq, Attempts: []Attempt{},
	}
	t.queueNotif(n, tr.Method, tr.OutTradeNo, tr.TradeNo)
}

// queueNotif applies the notify faults that match (method, app, outNo) and schedules
// the first attempt. key groups the notifications notify_reorder orders: a trade's, or
// an agreement's.
func (t *txn) queueNotif(n *Notification, method, outNo, key string) {
	if n.SignType == "" {
		n.SignType = string(alipay.RSA2)
	}
	at := t.now
	fs := t.e.faults
	_, f := fs.take(method, n.AppID, outNo, func(k string) bool {
		return k == FaultNotifyDup || k == FaultNotifyReorder || k == FaultNotifyDelay || k == FaultNotifyDrop
	})
	// A notification held back by notify_reorder goes right after this one.
	fs.mu.Lock()
	if heldID, ok := fs.held[key]; ok {
		delete(fs.held, key)
		if h := t.notifW(heldID); h != nil && h.NextAt != nil && !h.Delivered {
			later := at.Add(time.Second)
			h.NextAt, h.HeldFor = &later, n.NotifyID
		}
	}
	fs.mu.Unlock()
	if f != nil {
		switch f.Kind {
		case FaultNotifyDrop:
			n.Dropped = true
		case FaultNotifyDup:
			n.Duplicate = true
		case FaultNotifyDelay:
			at = at.Add(f.Delay.D())
		case FaultNotifyReorder:
			at = at.Add(f.Delay.D())
			fs.mu.Lock()
			fs.held[key] = n.NotifyID
			fs.mu.Unlock()
		}
	}
	if !n.Dropped {
		n.NextAt = &at
	}
	t.putNotif(n)
}

func camelFundBills(fb []FundBill) string {
	l := make([]map[string]string, 0, len(fb))
	for _, b := range fb {
		l = append(l, map[string]string{"amount": b.Amount.String(), "fundChannel": b.FundChannel})
	}
	return compactJSON(l)
}

func camelVouchers(vs []Voucher) string {
	l := make([]map[string]string, 0, len(vs))
	for _, v := range vs {
		l = append(l, map[string]string{
			"voucherId": v.ID, "name": v.Name, "type": v.Type, "amount": v.Amount.String(),
			"merchantContribute": v.MerchantContribute.String(), "otherContribute": v.OtherContribute.String(),
		})
	}
	return compactJSON(l)
}

func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

// startAttempt marks a due notification as in flight and queues its delivery.
func (t *txn) startAttempt(id string) {
	n := t.notif(id)
	if n == nil || n.Delivered || n.GaveUp || n.Dropped || n.NextAt == nil || n.NextAt.After(t.now) {
		return // superseded: delivered meanwhile, or rescheduled
	}
	n = t.notifW(id)
	n.NextAt = nil
	t.attempts = append(t.attempts, dueAttempt{n: n.clone(), at: t.now})
}

// notifyForm builds the signed body of one attempt: every field, notify_time and
// sign_type, signed over all but sign and sign_type (the trade_status_sync rule).
func (s *Sim) notifyForm(ctx context.Context, n *Notification, at time.Time) (string, error) {
	v := make(url.Values, len(n.Params)+3)
	for k, x := range n.Params {
		v.Set(k, x)
	}
	v.Set("notify_time", fmtTime(at))
	v.Set("sign_type", n.SignType)
	content := alipay.AppendSignContent(nil, v, "sign", "sign_type")
	sig, err := s.signer.Sign(ctx, alipay.SignType(n.SignType), content)
	if err != nil {
		return "", err
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v.Encode(), nil
}

// deliver makes one attempt (two POSTs under notify_duplicate) and records it.
func (s *Sim) deliver(n *Notification, at time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.NotifyTimeout)
	defer cancel()
	posts := 1
	if n.Duplicate {
		posts = 2
	}
	var results []Attempt
	for range posts {
		results = append(results, s.post(ctx, n, at))
	}
	ok := false
	for _, a := range results {
		ok = ok || a.Success
	}
	_ = s.e.update(context.Background(), func(t *txn) error {
		w := t.notifW(n.NotifyID)
		if w == nil || w.Delivered {
			return nil
		}
		w.Attempts = append(w.Attempts, results...)
		rounds := roundsOf(w)
		switch {
		case ok:
			w.Delivered, w.NextAt = true, nil
		case rounds > len(retrySchedule):
			w.GaveUp, w.NextAt = true, nil
		default:
			next := at.Add(retrySchedule[rounds-1])
			w.NextAt = &next
		}
		return nil
	})
}

// roundsOf counts delivery rounds (a duplicated round has two attempts at one time).
func roundsOf(n *Notification) int {
	r := 0
	for i, a := range n.Attempts {
		if i == 0 || !a.At.Equal(n.Attempts[i-1].At) {
			r++
		}
	}
	return r
}

func (s *Sim) post(ctx context.Context, n *Notification, at time.Time) Attempt {
	a := Attempt{At: at}
	body, err := s.notifyForm(ctx, n, at)
	if err != nil {
		a.Error = "signing: " + err.Error()
		return a
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, strings.NewReader(body))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	a.Status = resp.StatusCode
	a.Response = truncate(string(b), 200)
	// Alipay wants exactly "success": "SUCCESS", "success\n" or a JSON {"code":"success"}
	// are failures and are retried.
	a.Success = string(b) == "success"
	return a
}

// NotificationFilter selects notifications.
type NotificationFilter struct {
	AppID, TradeNo, OutTradeNo string
}

// Notifications lists notifications in the order they were created.
func (s *Sim) Notifications(f NotificationFilter) []Notification {
	var out []Notification
	s.e.view(func(t *txn) {
		for _, n := range t.e.notifs {
			if (f.AppID == "" || n.AppID == f.AppID) && (f.TradeNo == "" || n.TradeNo == f.TradeNo) &&
				(f.OutTradeNo == "" || n.OutTradeNo == f.OutTradeNo) {
				out = append(out, *n.clone())
			}
		}
	})
	sortNotifications(out)
	return out
}

func sortNotifications(ns []Notification) {
	slices.SortFunc(ns, func(a, b Notification) int { return cmp.Compare(a.Seq, b.Seq) })
}
