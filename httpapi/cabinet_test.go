package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
)

// TestCabinetHTTP walks an open-door cabinet's visit through the HTTP API, every
// exchange checked against docs/openapi.yaml: the agreement signed in the sandbox and
// announced to /alipay/agreements/notify/{app_id}; the cabinet (its own API key)
// reports the door closed with three items; the charge is refused for balance and the
// operator sees the debt; after a top-up the member pays now; the operator refunds a
// dispute; the cabinet's repeated report changes nothing and a different one is 409.
func TestCabinetHTTP(t *testing.T) {
	lc := newLiveChecker(t)
	b := setup(t, func(o *options) { o.wrap = lc.wrap })
	ctx := b.ctx
	term, err := b.admin.CreateTerminal(ctx, b.merchID, client.TerminalRequest{StoreID: b.store.ID, AppID: b.app.ID, Code: "CAB-1", Kind: "vending", Name: "cabinet"})
	b.must(err)
	cabAuth := "Bearer " + term.APIKey.KeyID + "." + term.APIKey.Secret
	b.must(b.db.PutDevice(ctx, &f2fpay.Device{TerminalID: term.ID, MerchantID: b.merchID, Machine: f2fpay.MachineCabinet, Slots: []f2fpay.Slot{
		{Code: "A1", GoodsID: "cola", Name: "可乐", Price: 300, Stock: 10},
		{Code: "B1", GoodsID: "chips", Name: "薯片", Price: 550, Stock: 10},
	}}))
	buyer := b.Buyer("5.00")
	m := &f2fpay.Member{MerchantID: b.merchID, Identities: []*f2fpay.MemberIdentity{{AppID: b.app.ID, UserID: buyer.UserID}}}
	b.must(b.db.CreateMember(ctx, m))

	// Sign: the link's gateway page sends the browser to the sandbox's signing page.
	link, err := b.cabinet.Sign(ctx, m.ID, term.ID)
	b.must(err)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link.URL)
	b.must(err)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	i := strings.LastIndex(loc, "/agreements/sign/")
	if i < 0 {
		t.Fatalf("page.sign answered %d to %q", resp.StatusCode, loc)
	}
	_, _, err = b.sim.SignAgreement(ctx, alipaysim.AgreementSign{Token: strings.SplitN(loc[i+len("/agreements/sign/"):], "?", 2)[0], UserID: buyer.UserID, Allow: true})
	b.must(err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := b.db.LatestAgreement(ctx, m.ID, b.app.ID)
		if err == nil && a.State == f2fpay.AgreementActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agreement did not become active: %+v %v", a, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sess, err := b.cabinet.Open(ctx, m.ID, term.ID)
	b.must(err)
	// The cabinet's long-poll hands it the open_door command naming the session; it
	// opens and acknowledges.
	status, _, out := b.rawAt(b.srv.URL, "GET", "/v1/device/commands?wait=5", cabAuth, "", nil)
	var polled struct {
		Commands []struct {
			ID      int64  `json:"id"`
			Kind    string `json:"kind"`
			Payload struct {
				SessionID int64 `json:"session_id"`
			} `json:"payload"`
		} `json:"commands"`
	}
	b.must(json.Unmarshal(out, &polled))
	if status != http.StatusOK || len(polled.Commands) != 1 || polled.Commands[0].Kind != "open_door" || polled.Commands[0].Payload.SessionID != sess.ID {
		t.Fatalf("the cabinet's poll: %d %s", status, out)
	}
	if status, _, out = b.rawAt(b.srv.URL, "POST", fmt.Sprintf("/v1/device/commands/%d/ack", polled.Commands[0].ID), cabAuth, "",
		[]byte(`{"result":{"opened":true}}`)); status != http.StatusOK {
		t.Fatalf("ack: %d %s", status, out)
	}

	close := func(body string) (int, map[string]any) {
		t.Helper()
		status, _, out := b.rawAt(b.srv.URL, "POST", fmt.Sprintf("/v1/cabinet/sessions/%d/close", sess.ID), cabAuth, fmt.Sprintf("k-%d", time.Now().UnixNano()), []byte(body))
		var v map[string]any
		json.Unmarshal(out, &v)
		return status, v
	}
	report := `{"items":[{"slot":"A1","count":2},{"slot":"B1","count":1}]}`
	status, v := close(report)
	if status != http.StatusOK || v["state"] != "DEBT" || v["amount"] != "11.50" || v["fail_code"] != "ACQ.BUYER_BALANCE_NOT_ENOUGH" {
		t.Fatalf("close: %d %v", status, v)
	}
	// Another terminal may not see or close it.
	if status, _, _ := b.raw("GET", fmt.Sprintf("/v1/cabinet/sessions/%d", sess.ID), b.termAuth(), "", nil); status != http.StatusNotFound {
		t.Fatalf("another terminal read the session: %d", status)
	}
	admin := "Bearer " + adminToken
	status, _, out = b.raw("GET", fmt.Sprintf("/admin/cabinet-sessions?merchant_id=%d&state=DEBT,CHARGING", b.merchID), admin, "", nil)
	if status != http.StatusOK || !strings.Contains(string(out), `"owed":"11.50"`) {
		t.Fatalf("the operator's debts: %d %s", status, out)
	}
	if _, err := b.sim.TopUp(ctx, buyer.UserID, 2000); err != nil {
		t.Fatal(err)
	}
	ac, err := b.cabinet.PayNow(ctx, m.ID, term.ID)
	b.must(err)
	if ac.Owed != 0 || ac.Refusal != nil {
		t.Fatalf("after paying now: %+v", ac)
	}
	status, _, out = b.rawAt(b.srv.URL, "GET", fmt.Sprintf("/v1/cabinet/sessions/%d", sess.ID), cabAuth, "", nil)
	if status != http.StatusOK || !strings.Contains(string(out), `"state":"PAID"`) {
		t.Fatalf("the cabinet's view: %d %s", status, out)
	}
	status, _, out = b.raw("POST", fmt.Sprintf("/admin/cabinet-sessions/%d/refunds", sess.ID), admin, "", []byte(`{"refund_id":"d-1","amount":"3.00","reason":"a cola was not taken"}`))
	if status != http.StatusOK || !strings.Contains(string(out), `"state":"SUCCEEDED"`) {
		t.Fatalf("refund: %d %s", status, out)
	}
	if got := b.Balance(buyer.UserID); got != 500+2000-1150+300 {
		t.Fatalf("the buyer's balance %s", got)
	}
	if status, v := close(report); status != http.StatusOK || v["state"] != "PAID" {
		t.Fatalf("the same report again: %d %v", status, v)
	}
	if status, _ := close(`{"items":[{"slot":"A1","count":1}]}`); status != http.StatusConflict {
		t.Fatalf("another report for a closed door: %d", status)
	}
	if status, _, _ := b.rawAt(b.srv.URL, "POST", fmt.Sprintf("/v1/cabinet/sessions/%d/close", sess.ID), cabAuth, "k-extra",
		[]byte(`{"items":[{"slot":"A1","count":1}],"extra":1}`), "X-Test-Invalid-Request", "1"); status != http.StatusBadRequest {
		t.Fatalf("an unknown field: %d", status)
	}
	// The Go client: the cabinet's side and the operator's.
	cc := client.NewClient(b.srv.URL, term.APIKey.KeyID, term.APIKey.Secret, nil)
	cs, err := cc.CloseCabinetSession(ctx, sess.ID, []client.CabinetTaken{{Slot: "B1", Count: 1}, {Slot: "A1", Count: 2}})
	b.must(err)
	if cs.State != "PAID" || cs.Amount != "11.50" || len(cs.Items) != 2 {
		t.Fatalf("client close: %+v", cs)
	}
	if cs, err = cc.CabinetSession(ctx, sess.ID); err != nil || cs.TradeNo == "" {
		t.Fatalf("client session: %+v %v", cs, err)
	}
	list, owed, err := b.admin.CabinetSessions(ctx, url.Values{"member_id": {fmt.Sprint(m.ID)}})
	b.must(err)
	if len(list) != 1 || list[0].ID != sess.ID || owed != "0.00" {
		t.Fatalf("client list: %+v owed %q", list, owed)
	}
	ar, err := b.admin.RefundCabinetSession(ctx, sess.ID, client.RefundRequest{RefundID: "d-2", Amount: 100, Reason: "dented can"})
	b.must(err)
	if ar.Refund.State != f2fpay.RefundSucceeded || ar.Order.RefundedAmount != 400 {
		t.Fatalf("client refund: %+v", ar)
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for _, p := range lc.problems {
		t.Error(p)
	}
}
