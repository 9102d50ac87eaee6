package alipaysim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// routes wires the gateway, the control API and the QR landing page.
func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/gateway.do", s.serveGateway)
	mux.HandleFunc("POST /sandbox/apps", s.postApp)
	mux.HandleFunc("GET /sandbox/apps/{app_id}", s.getApp)
	mux.HandleFunc("POST /sandbox/buyers", s.postBuyer)
	mux.HandleFunc("GET /sandbox/buyers/{user_id}", s.getBuyer)
	mux.HandleFunc("POST /sandbox/buyers/{user_id}/top-up", s.postTopUp) // topup.go
	mux.HandleFunc("POST /sandbox/buyers/{user_id}/payment-codes", s.postCode("payment"))
	mux.HandleFunc("POST /sandbox/buyers/{user_id}/face-tokens", s.postCode("face"))
	mux.HandleFunc("POST /sandbox/buyers/{user_id}/vouchers", s.postVoucher)
	mux.HandleFunc("POST /sandbox/scan", s.postScan)
	mux.HandleFunc("GET /sandbox/trades/{trade_no}", s.getTrade)
	mux.HandleFunc("GET /sandbox/trades", s.getTrades)
	mux.HandleFunc("POST /sandbox/trades/{trade_no}/confirm", s.postConfirm)
	mux.HandleFunc("POST /sandbox/trades/{trade_no}/reject", s.postReject)
	mux.HandleFunc("POST /sandbox/faults", s.postFault)
	mux.HandleFunc("GET /sandbox/faults", s.getFaults)
	mux.HandleFunc("DELETE /sandbox/faults", s.deleteFaults)
	mux.HandleFunc("DELETE /sandbox/faults/{id}", s.deleteFaults)
	mux.HandleFunc("GET /sandbox/notifications", s.getNotifications)
	mux.HandleFunc("GET /sandbox/clock", s.getClock)
	mux.HandleFunc("POST /sandbox/clock/advance", s.postAdvance)
	mux.HandleFunc("GET /sandbox/alipay-public-key", s.getAlipayKey)
	// Issue 4: bills (bills.go), OAuth (oauth.go), receivers (settle.go), ISV
	// authorisation (isv.go), heartbeats (heartbeat.go).
	mux.HandleFunc("GET /downloadBillFile.resource", s.serveBill)
	mux.HandleFunc("POST /sandbox/oauth/grant", s.postOAuthGrant)
	mux.HandleFunc("POST /sandbox/accounts", s.postAccount)
	mux.HandleFunc("GET /sandbox/accounts/{user_id}", s.getAccount)
	mux.HandleFunc("POST /sandbox/app-auth-codes", s.postAppAuthCode)
	mux.HandleFunc("GET /sandbox/heartbeats", s.getHeartbeats)
	mux.HandleFunc("POST /sandbox/face/verify", s.postFaceVerify)            // face.go
	mux.HandleFunc("GET /sandbox/agreements", s.getAgreements)               // agreement.go
	mux.HandleFunc("GET /sandbox/agreements/{agreement_no}", s.getAgreement) //
	mux.HandleFunc("POST /sandbox/agreements/sign", s.postAgreementSign)     //
	mux.HandleFunc("POST /sandbox/agreements/{agreement_no}/unsign", s.postAgreementUnsign)
	mux.HandleFunc("POST /sandbox/agreements/{agreement_no}/stop", s.postAgreementStop)
	// The wallet, /qr/{token}, /oauth/authorize and /sandbox/ui pages (wallet.go).
	s.walletRoutes(mux)
	mux.HandleFunc("/v3/", s.serveREST) // the REST ("v3") protocol, rest.go
	mux.HandleFunc("GET /sandbox/apps/{app_id}/certs", s.getAppCerts)
	mux.HandleFunc("POST /sandbox/alipay-cert/rotate", s.postRotateAlipayCert)
	mux.HandleFunc("/sandbox/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, f2fpay.Errorf(f2fpay.ENOTFOUND, "no control endpoint %s %s; see the table in the sandbox docs", r.Method, r.URL.Path))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch f2fpay.ErrorCode(err) {
	case f2fpay.EINVALID:
		status = http.StatusBadRequest
	case f2fpay.ENOTFOUND:
		status = http.StatusNotFound
	case f2fpay.ECONFLICT:
		status = http.StatusConflict
	case f2fpay.EUNAUTHORIZED:
		status = http.StatusForbidden
	}
	writeJSON(w, status, map[string]string{"error": f2fpay.ErrorMessage(err)})
}

// decode reads a bounded JSON body into v; an empty body is an empty object.
func (s *Sim) decode(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxRequestBytes+1))
	if err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "reading the body: %v", err)
	}
	if int64(len(b)) > s.cfg.MaxRequestBytes {
		return f2fpay.Errorf(f2fpay.EINVALID, "body larger than %d bytes", s.cfg.MaxRequestBytes)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ae *f2fpay.AmountError
		if errors.As(err, &ae) {
			return f2fpay.Errorf(f2fpay.EINVALID, "%v", ae)
		}
		return f2fpay.Errorf(f2fpay.EINVALID, "body is not the expected JSON: %v", err)
	}
	return nil
}

type appJSON struct {
	AppID           string        `json:"app_id"`
	SellerID        string        `json:"seller_id"`
	AlipayPublicKey string        `json:"alipay_public_key"`
	NotifyURL       string        `json:"notify_url,omitempty"`
	Balance         f2fpay.Amount `json:"balance"`
	Gateway         string        `json:"gateway,omitempty"`
}

func (s *Sim) appJSON(r *http.Request, a *App) appJSON {
	return appJSON{AppID: a.AppID, SellerID: a.SellerID, AlipayPublicKey: s.AlipayPublicKey(),
		NotifyURL: a.NotifyURL, Balance: a.Balance, Gateway: s.baseURL(r) + "/gateway.do"}
}

func (s *Sim) postApp(w http.ResponseWriter, r *http.Request) {
	var spec appSpecWithMode // AppSpec plus "key_mode" (certs.go)
	if err := s.decode(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	if spec.PublicKey == "" {
		writeError(w, f2fpay.Errorf(f2fpay.EINVALID, "app_public_key is required: the public half of your app key (f2fpay keys generate), PEM or base64"))
		return
	}
	s.postAppWithMode(w, r, spec)
}

func (s *Sim) getApp(w http.ResponseWriter, r *http.Request) {
	a, err := s.App(r.PathValue("app_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.appJSON(r, a))
}

func (s *Sim) postBuyer(w http.ResponseWriter, r *http.Request) {
	var spec BuyerSpec
	if err := s.decode(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	b, err := s.CreateBuyer(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Sim) getBuyer(w http.ResponseWriter, r *http.Request) {
	b, err := s.Buyer(r.PathValue("user_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Sim) postCode(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// ?count=N (up to 100) issues several at once, for load generators whose
		// terminals would otherwise spend a request per payment on fetching a code.
		n := 1
		if q := r.URL.Query().Get("count"); q != "" {
			v, err := strconv.Atoi(q)
			if err != nil || v < 1 || v > 100 {
				writeError(w, f2fpay.Errorf(f2fpay.EINVALID, "count must be a number from 1 to 100"))
				return
			}
			n = v
		}
		key := "auth_code"
		if kind == "face" {
			key = "face_token"
		}
		out := map[string]any{}
		var codes []string
		for range n {
			c, err := s.issue(r.Context(), r.PathValue("user_id"), kind)
			if err != nil {
				writeError(w, err)
				return
			}
			codes = append(codes, c.Code)
			out[key], out["expires_at"] = codes[0], fmtTime(c.ExpiresAt)
		}
		if r.URL.Query().Has("count") {
			out[key+"s"] = codes
		}
		writeJSON(w, http.StatusCreated, out)
	}
}

func (s *Sim) postVoucher(w http.ResponseWriter, r *http.Request) {
	var v Voucher
	if err := s.decode(r, &v); err != nil {
		writeError(w, err)
		return
	}
	out, err := s.AddVoucher(r.Context(), r.PathValue("user_id"), v)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Sim) postScan(w http.ResponseWriter, r *http.Request) {
	var spec ScanSpec
	if err := s.decode(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	if spec.BuyerID == "" || spec.QRCode == "" {
		writeError(w, f2fpay.Errorf(f2fpay.EINVALID, "buyer_id and qr_code are required"))
		return
	}
	tr, err := s.Scan(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

func (s *Sim) getTrade(w http.ResponseWriter, r *http.Request) {
	tr, err := s.Trade(r.PathValue("trade_no"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

// getTrades lists trades, all of them: a test that checks every paid trade against
// the merchant's books needs the whole set, not a page.
func (s *Sim) getTrades(w http.ResponseWriter, r *http.Request) {
	app, status := r.URL.Query().Get("app_id"), r.URL.Query().Get("status")
	trades := s.tradesWhere(0, func(tr *Trade) bool {
		return (app == "" || tr.AppID == app) && (status == "" || string(tr.Status) == status)
	})
	if trades == nil {
		trades = []*Trade{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"trades": trades})
}

func (s *Sim) postConfirm(w http.ResponseWriter, r *http.Request) {
	var body struct {
		PayPassword string `json:"pay_password"`
	}
	if err := s.decode(r, &body); err != nil {
		writeError(w, err)
		return
	}
	tr, err := s.Confirm(r.Context(), r.PathValue("trade_no"), body.PayPassword)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

func (s *Sim) postReject(w http.ResponseWriter, r *http.Request) {
	tr, err := s.Reject(r.Context(), r.PathValue("trade_no"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tr)
}

func (s *Sim) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := s.decode(r, &f); err != nil {
		writeError(w, err)
		return
	}
	out, err := s.AddFault(f)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Sim) getFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": s.Faults()})
}

func (s *Sim) deleteFaults(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !s.RemoveFault(id) {
		writeError(w, f2fpay.Errorf(f2fpay.ENOTFOUND, "no fault %q", id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sim) getNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns := s.Notifications(NotificationFilter{AppID: q.Get("app_id"), TradeNo: q.Get("trade_no"), OutTradeNo: q.Get("out_trade_no")})
	if ns == nil {
		ns = []Notification{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": ns})
}

func (s *Sim) getClock(w http.ResponseWriter, r *http.Request) {
	_, manual := s.clock.(*ManualClock)
	writeJSON(w, http.StatusOK, map[string]any{"now": fmtTime(s.clock.Now()), "manual": manual})
}

func (s *Sim) postAdvance(w http.ResponseWriter, r *http.Request) {
	mc, ok := s.clock.(*ManualClock)
	if !ok {
		writeError(w, f2fpay.Errorf(f2fpay.ECONFLICT, "the clock is not manual; start the sandbox with --manual-clock to move time by hand"))
		return
	}
	var body struct {
		Duration Duration `json:"duration"`
	}
	if err := s.decode(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if body.Duration <= 0 || body.Duration.D() > 400*24*time.Hour {
		writeError(w, f2fpay.Errorf(f2fpay.EINVALID, "duration must be positive and at most 400 days, e.g. {\"duration\": \"4m\"}"))
		return
	}
	mc.Advance(body.Duration.D())
	if err := s.Settle(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": fmtTime(mc.Now())})
}

func (s *Sim) getAlipayKey(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"alipay_public_key": s.AlipayPublicKey()})
}

// getQR is what a precreate qr_code answers to a program (a browser gets the wallet's
// landing page): the trade behind it and how to pay it through the control API.
func (s *Sim) getQR(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	var tr *Trade
	s.e.view(func(t *txn) {
		if no, ok := t.e.byQR[token]; ok {
			tr = t.trade(no).clone()
		}
	})
	if tr == nil {
		writeError(w, f2fpay.Errorf(f2fpay.ENOTFOUND, "unknown QR code"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"qr_code": tr.QRCode, "subject": tr.Subject, "total_amount": tr.Total.String(), "status": tr.Status,
		"how_to_pay": fmt.Sprintf(`POST /sandbox/scan {"buyer_id": "<user_id>", "qr_code": %q}`, tr.QRCode),
	})
}
