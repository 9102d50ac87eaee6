package alipaysim_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
)

// judge runs interop/nodesdk/judge.mjs once with reqs (one JSON request a line) and
// returns its answers by id.
func judge(t *testing.T, node, dir string, reqs ...map[string]any) map[int]json.RawMessage {
	t.Helper()
	var in bytes.Buffer
	for i, r := range reqs {
		r["id"] = i + 1
		b, _ := json.Marshal(r)
		in.Write(append(b, '\n'))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "judge.mjs"))
	cmd.Dir, cmd.Stdin = dir, &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("judge.mjs: %v\n%s", err, out)
	}
	answers := map[int]json.RawMessage{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var a struct {
			ID     int             `json:"id"`
			OK     bool            `json:"ok"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("judge wrote %q", sc.Text())
		}
		if !a.OK {
			t.Fatalf("judge request %d failed: %s", a.ID, a.Error)
		}
		answers[a.ID] = a.Result
	}
	if len(answers) != len(reqs) {
		t.Fatalf("judge answered %d of %d requests", len(answers), len(reqs))
	}
	return answers
}

// TestNodeSDKAgreementFlow: the official Node.js SDK signs the page.sign link the
// sandbox opens, verifies the dut_user_sign and dut_user_unsign notifications the
// sandbox signs (checkNotifySign and checkNotifySignV2), and charges and queries the
// agreement through exec with response signature checks.
func TestNodeSDKAgreementFlow(t *testing.T) {
	node, dir := nodeSDK(t)
	ctx := context.Background()
	clock := alipaysim.NewManualClock(time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC))
	sim, err := alipaysim.New(ctx, alipaysim.Config{Clock: clock, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	var mu sync.Mutex
	var got []url.Values
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(b))
		mu.Lock()
		got = append(got, v)
		mu.Unlock()
		io.WriteString(w, "success")
	})}
	rln, _ := net.Listen("tcp", "127.0.0.1:0")
	go rcv.Serve(rln)
	defer rcv.Close()

	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	app, err := sim.RegisterApp(ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&key.PublicKey)),
		NotifyURL: "http://" + rln.Addr().String() + "/notify"})
	if err != nil {
		t.Fatal(err)
	}
	buyer, err := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MustParseAmount("30.00"), LogonID: "15712345667"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"appId": app.AppID, "privateKey": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"keyType": "PKCS8", "alipayPublicKey": sim.AlipayPublicKey(), "gateway": base + "/gateway.do", "timeout": 15000,
	}
	settle := func() {
		if err := sim.Settle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The link, signed by the Node SDK, opens the sandbox's sign page.
	biz := `{"personal_product_code":"GENERAL_WITHHOLDING_P","product_code":"GENERAL_WITHHOLDING","access_params":{"channel":"ALIPAYAPP"},"sign_scene":"INDUSTRY|VENDING_MACHINE","external_agreement_no":"N1"}`
	a := judge(t, node, dir, map[string]any{"op": "signRequest", "config": cfg, "method": alipay.MethodUserAgreementPageSign,
		"params": map[string]any{"bizContent": json.RawMessage(biz), "returnUrl": "https://merchant.example/signed"}})
	var signed struct {
		Sign   string            `json:"sign"`
		Params map[string]string `json:"params"`
	}
	json.Unmarshal(a[1], &signed)
	q := url.Values{"sign": {signed.Sign}}
	for k, v := range signed.Params {
		q.Set(k, v)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + "/gateway.do?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/agreements/sign/") {
		t.Fatalf("the Node-signed page.sign link: %d %s %s", resp.StatusCode, loc, body)
	}
	ag, back, err := sim.SignAgreement(ctx, alipaysim.AgreementSign{Token: loc[strings.LastIndexByte(loc, '/')+1:], UserID: buyer.UserID, Allow: true})
	if err != nil || back != "https://merchant.example/signed" {
		t.Fatalf("sign: %v %q", err, back)
	}

	exec := func(method, biz string) map[string]any {
		t.Helper()
		r := judge(t, node, dir, map[string]any{"op": "exec", "config": cfg, "method": method, "validateSign": true,
			"params": map[string]any{"bizContent": json.RawMessage(biz)}})
		var m map[string]any
		json.Unmarshal(r[1], &m)
		return m
	}
	if m := exec(alipay.MethodUserAgreementQuery, `{"agreement_no":"`+ag.AgreementNo+`"}`); m["code"] != "10000" || m["status"] != "NORMAL" || m["principalId"] != buyer.UserID {
		t.Errorf("Node query: %v", m)
	}
	if m := exec(alipay.MethodTradePay, `{"out_trade_no":"node-cab-1","subject":"cabinet","total_amount":"7.50","product_code":"GENERAL_WITHHOLDING","agreement_params":{"agreement_no":"`+ag.AgreementNo+`"}}`); m["code"] != "10000" || m["buyerUserId"] != buyer.UserID {
		t.Errorf("Node agreement charge: %v", m)
	}
	if m := exec(alipay.MethodUserAgreementUnsign, `{"agreement_no":"`+ag.AgreementNo+`"}`); m["code"] != "10000" {
		t.Errorf("Node unsign: %v", m)
	}
	if m := exec(alipay.MethodTradePay, `{"out_trade_no":"node-cab-2","subject":"cabinet","total_amount":"1.00","product_code":"GENERAL_WITHHOLDING","agreement_params":{"agreement_no":"`+ag.AgreementNo+`"}}`); m["subCode"] != "ACQ.AGREEMENT_NOT_EXIST" {
		t.Errorf("Node charge after unsign: %v", m)
	}
	settle()

	mu.Lock()
	forms := append([]url.Values(nil), got...)
	mu.Unlock()
	var reqs []map[string]any
	var types []string
	for _, f := range forms {
		pd := map[string]string{}
		for k := range f {
			pd[k] = f.Get(k)
		}
		for _, v2 := range []bool{false, true} {
			reqs = append(reqs, map[string]any{"op": "checkNotify", "config": cfg, "postData": pd, "v2": v2})
			types = append(types, f.Get("notify_type"))
		}
	}
	if strings.Join(types, " ") != "dut_user_sign dut_user_sign trade_status_sync trade_status_sync dut_user_unsign dut_user_unsign" {
		t.Fatalf("notifications %v", types)
	}
	for id, r := range judge(t, node, dir, reqs...) {
		var v struct {
			OK bool `json:"ok"`
		}
		json.Unmarshal(r, &v)
		if !v.OK {
			t.Errorf("the Node SDK refuses %s (v2=%v)", types[id-1], reqs[id-1]["v2"])
		}
	}
}
