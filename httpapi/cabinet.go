package httpapi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/cabinet"
)

// The open-door cabinet (docs/vending.md §12): Alipay's agreement notifications, the
// cabinet's report that its door closed, and the operator's view of sessions and debts
// with refunds for disputes. The member's pages (sign, open the door, what I owe) are
// member's, under /m/.

// Cabinet is the open-door cabinet service (usually *cabinet.Service).
type Cabinet interface {
	HandleNotification(ctx context.Context, appAlipayID string, body []byte) error
	Close(ctx context.Context, terminalID, sessionID int64, taken []cabinet.Taken) (*f2fpay.CabinetSession, error)
	Refund(ctx context.Context, sessionID int64, refundID string, amount f2fpay.Amount, reason string) (*f2fpay.Refund, error)
}

var _ Cabinet = (*cabinet.Service)(nil)

func (s *Server) cabinetService() (Cabinet, error) {
	if s.cabinet == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTIMPLEMENTED, "this server runs no open-door cabinet service")
	}
	return s.cabinet, nil
}

// postAgreementNotify takes a dut_user_sign or dut_user_unsign notification: verified
// and applied by the cabinet service, answered "success" once committed.
func (s *Server) postAgreementNotify(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("app_id")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNotifyBytes))
	if err == nil && s.cabinet == nil {
		err = f2fpay.Errorf(f2fpay.ENOTIMPLEMENTED, "no cabinet service")
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
		defer cancel()
		err = s.cabinet.HandleNotification(ctx, appID, body)
	}
	if err != nil {
		s.log.WarnContext(r.Context(), "agreement notification refused", "app_id", appID, "code", f2fpay.ErrorCode(err), "err", err.Error())
		s.metrics.notification.WithLabelValues("fail").Inc()
		w.WriteHeader(statusOf(err))
		io.WriteString(w, "fail")
		return
	}
	s.metrics.notification.WithLabelValues("success").Inc()
	io.WriteString(w, "success")
}

// cabinetCloseRequest is the cabinet's report: what was taken, slot by slot.
type cabinetCloseRequest struct {
	Items []cabinet.Taken `json:"items"`
}

// CabinetSession is a session as the APIs show it.
type CabinetSession struct {
	ID          int64                `json:"id"`
	MerchantID  int64                `json:"merchant_id"`
	TerminalID  int64                `json:"terminal_id"`
	MemberID    int64                `json:"member_id"`
	State       string               `json:"state"`
	Items       []f2fpay.CabinetItem `json:"items"`
	Amount      f2fpay.Amount        `json:"amount"`
	OutTradeNo  string               `json:"out_trade_no,omitempty"`
	TradeNo     string               `json:"trade_no,omitempty"`
	FailCode    string               `json:"fail_code,omitempty"`
	FailReason  string               `json:"fail_reason,omitempty"`
	Attempts    int                  `json:"attempts"`
	NextCheckAt *time.Time           `json:"next_check_at,omitempty"`
	CreatedAt   time.Time            `json:"created_at"`
	ClosedAt    *time.Time           `json:"closed_at,omitempty"`
	PaidAt      *time.Time           `json:"paid_at,omitempty"`
}

func showCabinetSession(c *f2fpay.CabinetSession) CabinetSession {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	items := c.Items
	if items == nil {
		items = []f2fpay.CabinetItem{}
	}
	return CabinetSession{ID: c.ID, MerchantID: c.MerchantID, TerminalID: c.TerminalID, MemberID: c.MemberID, State: string(c.State),
		Items: items, Amount: c.Amount, OutTradeNo: c.OutTradeNo, TradeNo: c.TradeNo, FailCode: c.FailCode, FailReason: c.FailReason,
		Attempts: c.Attempts, NextCheckAt: opt(c.NextCheckAt), CreatedAt: c.CreatedAt, ClosedAt: opt(c.ClosedAt), PaidAt: opt(c.PaidAt)}
}

// postCabinetClose: the cabinet (the authenticated terminal) reports its door closed
// with what was taken. The same report again answers the session as it stands; another
// report for a closed door is 409. The first charge attempt is made before answering;
// the session's state says how it went (PAID, DEBT, or CHARGING while Alipay's answer
// is unknown).
func (s *Server) postCabinetClose(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cabinetService()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id", "cabinet session id")
	if err != nil {
		return err
	}
	var req cabinetCloseRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(actionWait, s.maxWait))
	defer cancel()
	sess, err := c.Close(ctx, terminalOf(r.Context()).ID, id, req.Items)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showCabinetSession(sess))
	return nil
}

// getCabinetSession answers one of the cabinet's own sessions.
func (s *Server) getCabinetSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "cabinet session id")
	if err != nil {
		return err
	}
	sess, err := s.store.FindCabinetSession(r.Context(), id)
	if err == nil && sess.TerminalID != terminalOf(r.Context()).ID {
		err = f2fpay.Errorf(f2fpay.ENOTFOUND, "cabinet session %d not found at this cabinet", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showCabinetSession(sess))
	return nil
}

// adminListCabinetSessions lists sessions newest first: ?merchant_id=, ?member_id=,
// ?terminal_id=, ?state= (comma-separated; state=DEBT,CHARGING lists what is owed),
// ?before_id= and ?limit= (at most 500).
func (s *Server) adminListCabinetSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f f2fpay.CabinetSessionFilter
	for name, dst := range map[string]*int64{"merchant_id": &f.MerchantID, "member_id": &f.MemberID, "terminal_id": &f.TerminalID, "before_id": &f.BeforeID} {
		v, err := queryID(q, name)
		if err != nil {
			return err
		}
		if v != nil {
			*dst = *v
		}
	}
	if v := q.Get("state"); v != "" {
		for _, st := range strings.Split(v, ",") {
			state := f2fpay.CabinetSessionState(strings.ToUpper(strings.TrimSpace(st)))
			if !state.Valid() {
				return f2fpay.Errorf(f2fpay.EINVALID, "state %q is not a cabinet session state (OPEN, EMPTY, CHARGING, DEBT, PAID, ABANDONED)", st)
			}
			f.States = append(f.States, state)
		}
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	if limit > 500 {
		return f2fpay.Errorf(f2fpay.EINVALID, "limit %d: at most 500 sessions a page", limit)
	}
	f.Limit = limit
	list, err := s.store.ListCabinetSessions(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]CabinetSession, 0, len(list))
	var owed f2fpay.Amount
	for _, c := range list {
		out = append(out, showCabinetSession(c))
		if c.State.Owing() {
			owed += c.Amount
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out, "owed": owed})
	return nil
}

// adminGetCabinetSession answers one session.
func (s *Server) adminGetCabinetSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "cabinet session id")
	if err != nil {
		return err
	}
	sess, err := s.store.FindCabinetSession(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showCabinetSession(sess))
	return nil
}

// adminPostCabinetRefund refunds part or all of a paid session (a dispute) through the
// payment engine: {"refund_id","amount","reason"}, refund_id the idempotency key.
func (s *Server) adminPostCabinetRefund(w http.ResponseWriter, r *http.Request) error {
	c, err := s.cabinetService()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id", "cabinet session id")
	if err != nil {
		return err
	}
	var req refundRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if err := f2fpay.CheckID("refund_id", req.RefundID, true, maxRefundIDLen); err != nil {
		return err
	}
	amount, err := parseAmountField("amount", req.Amount)
	if err != nil {
		return err
	}
	if err := checkAlipayText("reason", req.Reason, false, alipay.LimitRefundReason); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(actionWait, s.maxWait))
	defer cancel()
	rf, err := c.Refund(ctx, id, req.RefundID, amount, req.Reason)
	if err != nil {
		return err
	}
	o, err := s.store.FindOrderByID(context.WithoutCancel(r.Context()), rf.OrderID)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "cabinet refund", "session_id", id, "refund_id", req.RefundID, "amount", amount.String(), "state", rf.State)
	writeJSON(w, http.StatusOK, adminRefund{Refund: rf.Public(o), Order: o.Public()})
	return nil
}
