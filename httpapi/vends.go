package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/vend"
)

// Vend orders (docs/vending.md §11): a vending machine sells units from its slots,
// the buyer pays once, the machine dispenses each unit and reports it; a unit not
// delivered is refunded on its own. The machine long-polls its vend.

type vendLine struct {
	Slot     string `json:"slot"`
	Quantity int    `json:"quantity"`
	Price    string `json:"price"`
}

type vendRequest struct {
	Items []vendLine `json:"items"`
	// Pay is "qr" (default) or "jsapi" (with buyer_id or buyer_open_id).
	Pay         string `json:"pay"`
	BuyerID     string `json:"buyer_id"`
	BuyerOpenID string `json:"buyer_open_id"`
	// ExpiresInSeconds is how long the buyer has to pay; the service's QR window by
	// default, 30 to 900.
	ExpiresInSeconds *int `json:"expires_in_seconds"`
}

type vendReport struct {
	Outcome string `json:"outcome"`
	Code    string `json:"code"`
}

// VendItem is one unit of a vend as the API shows it.
type VendItem struct {
	N          int           `json:"n"`
	Slot       string        `json:"slot"`
	GoodsID    string        `json:"goods_id"`
	Name       string        `json:"name"`
	Price      f2fpay.Amount `json:"price"`
	State      string        `json:"state"`
	CommandID  int64         `json:"command_id,omitempty"`
	Deadline   *time.Time    `json:"deadline,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	RefundID   string        `json:"refund_id,omitempty"`
	LateReport bool          `json:"late_report,omitempty"`
}

// Vend is a vend order as the API shows it.
type Vend struct {
	ID         int64  `json:"id"`
	TerminalID int64  `json:"terminal_id"`
	OutTradeNo string `json:"out_trade_no"`
	PayKind    string `json:"pay_kind"`
	// FaceOutTradeNo is a face vend's face attempt; after a fallback OutTradeNo is the
	// QR order's.
	FaceOutTradeNo string `json:"face_out_trade_no,omitempty"`
	State          string `json:"state"`
	Final          bool   `json:"final"`
	// Message says what the machine's screen can show, in its language.
	Message   string        `json:"message"`
	Total     f2fpay.Amount `json:"total"`
	Refunded  f2fpay.Amount `json:"refunded"`
	Items     []VendItem    `json:"items"`
	PaidAt    *time.Time    `json:"paid_at,omitempty"`
	FinalAt   *time.Time    `json:"final_at,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	// Payment is the payment order (its qr_code for the screen) once it exists.
	Payment *Payment `json:"payment,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) showVend(r *http.Request, v *f2fpay.VendOrder, o *f2fpay.Order) Vend {
	out := Vend{ID: v.ID, TerminalID: v.TerminalID, OutTradeNo: v.OutTradeNo, PayKind: string(v.PayKind), FaceOutTradeNo: v.FaceOutTradeNo,
		State: string(v.State), Final: v.State.Final(),
		Message: vendMessage(v, requestLang(r)), Total: v.Total, PaidAt: timePtr(v.PaidAt), FinalAt: timePtr(v.FinalAt),
		CreatedAt: v.CreatedAt, Items: make([]VendItem, 0, len(v.Items))}
	for _, it := range v.Items {
		if it.State == f2fpay.ItemRefunded {
			out.Refunded += it.Price
		}
		out.Items = append(out.Items, VendItem{N: it.N, Slot: it.Slot, GoodsID: it.GoodsID, Name: it.Name, Price: it.Price,
			State: string(it.State), CommandID: it.CommandID, Deadline: timePtr(it.Deadline), Reason: it.Reason,
			RefundID: it.RefundID, LateReport: it.LateReport})
	}
	if o != nil {
		p := s.payment(r, o)
		out.Payment = &p
	}
	return out
}

// vendMessage is what a machine's screen can show for a vend.
func vendMessage(v *f2fpay.VendOrder, l lang) string {
	pick := func(en, zh string) string {
		if l == langZH {
			return zh
		}
		return en
	}
	switch v.State {
	case f2fpay.VendAwaitingPayment:
		if v.PayKind == f2fpay.KindFace {
			return pick("look at the camera to pay by face", "请正对摄像头刷脸支付")
		}
		return pick("scan the QR code with Alipay to pay", "请使用支付宝扫码付款")
	case f2fpay.VendDispensing:
		return pick("paid; dispensing your goods", "支付成功，正在出货")
	case f2fpay.VendCancelled:
		return pick("not paid; nothing was charged", "未付款，未扣款")
	case f2fpay.VendAttention:
		return pick("a refund could not be made; the operator has been told and will refund you", "退款未成功，已通知运营方处理")
	}
	if r := v.Refunded(); r > 0 {
		return pick("done; "+r.String()+" yuan for goods not dispensed is refunded to your Alipay account",
			"交易完成，未出货商品的 "+r.String()+" 元已原路退回")
	}
	return pick("done; please take your goods", "交易完成，请取走商品")
}

func (s *Server) vendsOn() error {
	if s.vends == nil {
		return f2fpay.Errorf(f2fpay.EUNAVAILABLE, "vend orders are not served by this instance")
	}
	return nil
}

func (s *Server) postVend(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	var req vendRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	lines, err := parseVendLines(req.Items)
	if err != nil {
		return err
	}
	cr := vend.CreateRequest{TerminalID: terminalOf(r.Context()).ID, Lines: lines, Pay: f2fpay.OrderKind(strings.ToLower(req.Pay)),
		BuyerID: req.BuyerID, BuyerOpenID: req.BuyerOpenID, RequestKey: infoOf(r.Context()).requestKey}
	if req.ExpiresInSeconds != nil {
		if *req.ExpiresInSeconds < 30 || *req.ExpiresInSeconds > 900 {
			return f2fpay.Errorf(f2fpay.EINVALID, "expires_in_seconds must be between 30 and 900")
		}
		cr.Deadline = time.Duration(*req.ExpiresInSeconds) * time.Second
	}
	v, o, err := s.vends.Create(r.Context(), cr)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.showVend(r, v, o))
	return nil
}

// parseVendLines checks a vend's items as the machine sent them: 1 to MaxVendItems
// lines, each a slot code, a quantity of 1 to MaxVendItems and a positive price in
// yuan. The planogram's own checks (the slot exists, the price is the operator's, the
// stock suffices) are the vend service's.
func parseVendLines(items []vendLine) ([]vend.Line, error) {
	if len(items) == 0 || len(items) > f2fpay.MaxVendItems {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "items must list 1 to %d slots", f2fpay.MaxVendItems)
	}
	lines := make([]vend.Line, 0, len(items))
	for i, it := range items {
		price, err := f2fpay.ParseAmount(it.Price)
		if err != nil || price.CheckTrade() != nil {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "items[%d].price %q must be a positive amount in yuan, such as \"3.50\"", i, truncate(it.Price, 20))
		}
		if it.Quantity < 1 || it.Quantity > f2fpay.MaxVendItems {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "items[%d].quantity must be 1 to %d", i, f2fpay.MaxVendItems)
		}
		if err := f2fpay.CheckID("items["+strconv.Itoa(i)+"].slot", it.Slot, true, f2fpay.MaxSlotCodeLen); err != nil {
			return nil, err
		}
		lines = append(lines, vend.Line{Slot: it.Slot, Quantity: it.Quantity, Price: price})
	}
	return lines, nil
}

// vendID reads the vend id in the path.
func vendID(r *http.Request) (int64, error) { return pathID(r, "id", "vend id") }

// getVend answers the vend; with ?wait= it waits until the vend or a unit moves.
func (s *Server) getVend(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	wait, err := s.parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		return err
	}
	id, err := vendID(r)
	if err != nil {
		return err
	}
	v, o, err := s.vends.Wait(r.Context(), terminalOf(r.Context()).ID, id, wait)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.showVend(r, v, o))
	return nil
}

func (s *Server) postVendReport(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	id, err := vendID(r)
	if err != nil {
		return err
	}
	n, err := pathID(r, "n", "item number")
	if err != nil {
		return err
	}
	var req vendReport
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	t := terminalOf(r.Context())
	v, err := s.vends.Report(r.Context(), t.ID, id, int(min(n, int64(f2fpay.MaxVendItems+1))), vend.Result{Outcome: req.Outcome, Code: req.Code})
	if err != nil {
		return err
	}
	_, o, err := s.vends.Find(r.Context(), t.ID, v.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.showVend(r, v, o))
	return nil
}

func (s *Server) postVendCancel(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	id, err := vendID(r)
	if err != nil {
		return err
	}
	if err := s.decodeEmpty(w, r); err != nil {
		return err
	}
	t := terminalOf(r.Context())
	v, err := s.vends.Cancel(r.Context(), t.ID, id)
	if err != nil {
		return err
	}
	_, o, err := s.vends.Find(r.Context(), t.ID, v.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.showVend(r, v, o))
	return nil
}

// adminListVends lists vends newest first: ?merchant_id, terminal_id, state (comma
// separated), before (keyset pagination), limit.
func (s *Server) adminListVends(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	q := r.URL.Query()
	var f f2fpay.VendFilter
	var err error
	if f.MerchantID, err = queryID(q, "merchant_id"); err != nil {
		return err
	}
	if f.TerminalID, err = queryID(q, "terminal_id"); err != nil {
		return err
	}
	if before, err := queryID(q, "before"); err != nil {
		return err
	} else if before != nil {
		f.BeforeID = *before
	}
	if v := q.Get("state"); v != "" {
		for _, st := range strings.Split(v, ",") {
			st := f2fpay.VendState(strings.ToUpper(strings.TrimSpace(st)))
			if !st.Valid() {
				return f2fpay.Errorf(f2fpay.EINVALID, "state %q is not a vend state; use AWAITING_PAYMENT, DISPENSING, FINAL, CANCELLED or ATTENTION (several separated by commas)", truncate(string(st), 32))
			}
			f.States = append(f.States, st)
		}
	}
	if f.Limit, err = queryLimit(q); err != nil {
		return err
	}
	vs, err := s.vends.List(r.Context(), f)
	if err != nil {
		return err
	}
	shown := make([]Vend, 0, len(vs))
	for _, v := range vs {
		shown = append(shown, s.showVend(r, v, nil))
	}
	page := map[string]any{"vends": shown}
	if len(vs) == f.Limit && f.Limit > 0 {
		page["next_before"] = vs[len(vs)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) adminGetVend(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	id, err := vendID(r)
	if err != nil {
		return err
	}
	v, o, err := s.vends.Find(r.Context(), 0, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.showVend(r, v, o))
	return nil
}

// truncate cuts what a client sent to n bytes (on a rune boundary) for an error
// message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Face machines (docs/vending.md §11, "Face"): the device's face SDK needs a session
// the service asks Alipay for; the face token it then obtains pays the vend; when the
// face fails the vend falls back to a QR, once the face attempt is resolved.

type faceInitRequest struct {
	// MetaInfo is the JSON object the device's face SDK returned (zolozGetMetaInfo).
	MetaInfo string `json:"metainfo"`
}

func (s *Server) postFaceInitialize(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	var req faceInitRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	fs, err := s.vends.FaceInitialize(r.Context(), terminalOf(r.Context()).ID, req.MetaInfo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fs)
	return nil
}

type faceRequest struct {
	// FToken is the face token the device's face SDK gave after the scan.
	FToken string `json:"ftoken"`
}

func (s *Server) postVendFace(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	id, err := vendID(r)
	if err != nil {
		return err
	}
	var req faceRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.FToken == "" || len(req.FToken) > 64 {
		return f2fpay.Errorf(f2fpay.EINVALID, "ftoken is required: the face token (fp…, at most 64 characters) from the face scan")
	}
	v, o, err := s.vends.PayFace(r.Context(), terminalOf(r.Context()).ID, id, req.FToken)
	if err != nil && v == nil {
		return err
	}
	if err != nil && o == nil {
		return err
	}
	// A face payment Alipay refused or left unknown is an answer, not an error: the
	// vend's payment says so, and the machine falls back to a QR.
	writeJSON(w, http.StatusOK, s.showVend(r, v, o))
	return nil
}

type fallbackRequest struct {
	ExpiresInSeconds *int `json:"expires_in_seconds"`
}

func (s *Server) postVendFallback(w http.ResponseWriter, r *http.Request) error {
	if err := s.vendsOn(); err != nil {
		return err
	}
	id, err := vendID(r)
	if err != nil {
		return err
	}
	var req fallbackRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	var win time.Duration
	if req.ExpiresInSeconds != nil {
		if *req.ExpiresInSeconds < 30 || *req.ExpiresInSeconds > 900 {
			return f2fpay.Errorf(f2fpay.EINVALID, "expires_in_seconds must be between 30 and 900")
		}
		win = time.Duration(*req.ExpiresInSeconds) * time.Second
	}
	v, o, err := s.vends.Fallback(r.Context(), terminalOf(r.Context()).ID, id, win)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.showVend(r, v, o))
	return nil
}
