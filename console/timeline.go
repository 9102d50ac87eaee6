package console

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/payment"
)

// step is one line of an order's timeline: everything the stores recorded about the
// order, in the order it happened — the order's creation and payment, every gateway
// call (code, sub_code, latency), Alipay's notifications (recorded as calls of
// notify.trade_status_sync, their notify_id as the code), refunds, refund approvals,
// and the webhook events with their delivery.
type step struct {
	At      time.Time
	Kind    string // created, paid, call, notify, refund, refunded, approval, decided, webhook, delivered, dead
	Title   string
	Code    string
	SubCode string
	Outcome string
	Latency time.Duration
	HasLat  bool
	Detail  string
}

// timeline merges what the order page shows in its tables into one list, oldest
// first (steps at the same instant keep the order they were added in).
func timeline(l lang, v *orderView) []step {
	o := v.Order
	var out []step
	out = append(out, step{At: o.CreatedAt, Kind: "created", Title: l.t("tl.created"), Detail: "¥" + o.TotalAmount.String() + " " + o.Subject})
	for _, c := range v.Calls {
		s := step{At: c.At, Kind: "call", Title: c.Method, Code: c.Code, SubCode: c.SubCode, Outcome: c.Outcome,
			Latency: c.Latency, HasLat: true, Detail: c.Message}
		if c.Method == payment.MethodNotify {
			s.Kind, s.Title, s.HasLat = "notify", l.t("tl.notify")+" ("+c.Method+")", false
			s.Code = "notify_id " + c.Code
		}
		out = append(out, s)
	}
	if !o.PaidAt.IsZero() {
		out = append(out, step{At: o.PaidAt, Kind: "paid", Title: l.t("tl.paid"), Detail: o.TradeNo})
	}
	for _, r := range v.Refunds {
		out = append(out, step{At: r.CreatedAt, Kind: "refund", Title: l.t("tl.refund"), Outcome: l.t("rstate." + string(r.State)),
			Detail: fmt.Sprintf("¥%s %s %s", r.Amount, r.OutRequestNo, r.Reason), Code: r.FailCode})
		if !r.RefundedAt.IsZero() {
			out = append(out, step{At: r.RefundedAt, Kind: "refunded", Title: l.t("tl.refunded"), Detail: fmt.Sprintf("¥%s %s", r.Amount, r.OutRequestNo)})
		}
	}
	for _, a := range v.Approvals {
		out = append(out, step{At: a.CreatedAt, Kind: "approval", Title: l.t("tl.approval"),
			Detail: fmt.Sprintf("¥%s %s — %s", a.Amount, a.RequestedLogin, a.Reason)})
		if !a.DecidedAt.IsZero() {
			out = append(out, step{At: a.DecidedAt, Kind: "decided", Title: l.t("approval." + string(a.State)), Detail: a.DecidedLogin})
		}
	}
	for _, e := range v.Events {
		detail := fmt.Sprintf("%s, %s %d", e.ID, strings.ToLower(l.t("attempts")), e.Attempts)
		if e.LastError != "" {
			detail += ", " + e.LastError
		}
		out = append(out, step{At: e.CreatedAt, Kind: "webhook", Title: l.t("tl.webhook") + " " + string(e.Type), Detail: detail})
		switch {
		case !e.DeliveredAt.IsZero():
			out = append(out, step{At: e.DeliveredAt, Kind: "delivered", Title: l.t("tl.delivered") + " " + string(e.Type), Detail: e.ID})
		case !e.DeadAt.IsZero():
			out = append(out, step{At: e.DeadAt, Kind: "dead", Title: l.t("tl.dead") + " " + string(e.Type), Detail: e.ID + " " + e.LastError})
		}
	}
	slices.SortStableFunc(out, func(a, b step) int { return a.At.Compare(b.At) })
	return out
}
