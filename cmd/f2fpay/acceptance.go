package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
)

// acceptance is `f2fpay acceptance`: the offline 云验收. Given an app's configuration it
// runs the go-live checks against its gateway and prints a report: the keys sign as
// Alipay expects, the gateway answers and its signature verifies, the notify URL
// answers "success" to Alipay's signed notifications and never to forged ones, and the
// face-to-face flows pass. With -sandbox it drives the buyer side of the offline
// sandbox itself.

type acceptanceCheck struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
}

type acceptanceReport struct {
	AppID   string            `json:"app_id"`
	Gateway string            `json:"gateway"`
	Passed  bool              `json:"passed"`
	Checks  []acceptanceCheck `json:"checks"`
}

func runAcceptance(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("acceptance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	appID := fs.String("app-id", "", "the app's APPID")
	gateway := fs.String("gateway", alipay.ProductionGateway, "the gateway the app talks to")
	keyFile := fs.String("private-key", "", "file of the app private key (PEM or base64)")
	pubFile := fs.String("alipay-public-key", "", "file of the Alipay public key (public-key mode)")
	appCert := fs.String("app-cert", "", "file of the app certificate (certificate mode)")
	alipayCert := fs.String("alipay-cert", "", "file of the Alipay certificate (certificate mode)")
	rootCert := fs.String("root-cert", "", "file of the Alipay root certificate (certificate mode)")
	notify := fs.String("notify-url", "", "the notify URL Alipay will POST to (the service's /alipay/notify/{app_id})")
	sandbox := fs.String("sandbox", "", "the offline sandbox's base URL: the buyer side is driven through its control API")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	db := fs.String("db", "", "the service's database (sqlite:PATH or postgres://…): load the app -app from it, with the master key")
	appFromDB := fs.String("app", "", "with -db: the `APPID` of the configured app to check")
	masterKey := fs.String("master-key", "", "base64 master `key` of the service (prefer F2FPAY_MASTER_KEY or -master-key-file)")
	masterKeyFile := fs.String("master-key-file", "", "`file` holding the base64 master key")
	yes := fs.Bool("yes", false, "without -sandbox: do not ask before charging (every payment still needs the operator's payment code)")
	if err := fs.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	if (*db == "") != (*appFromDB == "") {
		return &usageError{"acceptance: -db and -app go together: the database and the APPID of the app configured in it"}
	}
	if *db != "" {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, n := range []string{"app-id", "gateway", "private-key", "alipay-public-key", "app-cert", "alipay-cert", "root-cert"} {
			if set[n] {
				return &usageError{"acceptance: -" + n + " and -db: the app's configuration comes from the database; leave out -" + n}
			}
		}
		if *masterKey == "" {
			*masterKey = os.Getenv("F2FPAY_MASTER_KEY")
		}
		cfg, err := acceptanceAppConfig(ctx, *db, *masterKey, *masterKeyFile, *appFromDB)
		if err != nil {
			return err
		}
		return acceptanceReportRun(ctx, cfg, *notify, *sandbox, *yes, *asJSON, stdin, stdout, stderr)
	}
	if *appID == "" || *keyFile == "" || (*pubFile == "" && *appCert == "") {
		return &usageError{"acceptance needs -app-id, -private-key and -alipay-public-key (or -app-cert, -alipay-cert, -root-cert), or -db and -app for an app configured in the service"}
	}
	read := func(p string) string {
		if p == "" {
			return ""
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		return string(b)
	}
	cfg := alipay.Config{AppID: *appID, PrivateKey: read(*keyFile), Gateway: *gateway, NotifyURL: *notify, DisableCertDownload: true}
	if *appCert != "" {
		cfg.AppCert, cfg.AlipayCert, cfg.AlipayRootCert = []byte(read(*appCert)), []byte(read(*alipayCert)), []byte(read(*rootCert))
	} else {
		cfg.AlipayPublicKey = read(*pubFile)
	}
	return acceptanceReportRun(ctx, cfg, *notify, *sandbox, *yes, *asJSON, stdin, stdout, stderr)
}

// acceptanceReportRun runs the checks of cfg's app and prints the report.
func acceptanceReportRun(ctx context.Context, cfg alipay.Config, notify, sandbox string, yes, asJSON bool, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg.NotifyURL = notify
	var op *operator
	if sandbox == "" {
		op = newOperator(stdin, stderr)
		if !yes && !op.agree(cfg) {
			return errors.New("acceptance: not started (the operator did not agree to the test payments)")
		}
	}
	rep := acceptanceRun(ctx, cfg, notify, sandbox, op)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
	} else {
		fmt.Fprintf(stdout, "Acceptance of app %s at %s\n\n", rep.AppID, rep.Gateway)
		for _, c := range rep.Checks {
			mark := "PASS"
			switch {
			case c.Skipped:
				mark = "SKIP"
			case !c.OK:
				mark = "FAIL"
			}
			fmt.Fprintf(stdout, "  %-4s %-16s %s\n", mark, c.Name, c.Detail)
		}
		if rep.Passed {
			fmt.Fprintln(stdout, "\nReady to go live.")
		} else {
			fmt.Fprintln(stdout, "\nNot ready: fix what FAILed and run it again.")
		}
	}
	if !rep.Passed {
		return errors.New("acceptance failed")
	}
	return nil
}

type acceptor struct {
	ctx    context.Context
	poll   time.Duration // between queries while the buyer acts
	trades []string      // out_trade_no of every test payment, refunded or cancelled at the end
	refund map[string]alipay.Amount
	c      *alipay.Client
	sim    *simclient.Client
	simURL string
	rep    *acceptanceReport
	hc     *http.Client
}

func (a *acceptor) add(name string, err error, ok string) bool {
	c := acceptanceCheck{Name: name, OK: err == nil, Detail: ok}
	if err != nil {
		c.Detail = err.Error()
		a.rep.Passed = false
	}
	a.rep.Checks = append(a.rep.Checks, c)
	return err == nil
}

func (a *acceptor) skip(name, why string) {
	a.rep.Checks = append(a.rep.Checks, acceptanceCheck{Name: name, Skipped: true, Detail: why})
}

func acceptanceRun(ctx context.Context, cfg alipay.Config, notify, sandbox string, op *operator) *acceptanceReport {
	a := &acceptor{ctx: ctx, rep: &acceptanceReport{AppID: cfg.AppID, Gateway: cfg.Gateway, Passed: true}, hc: &http.Client{Timeout: 10 * time.Second}}
	c, err := alipay.New(cfg)
	if !a.add("keys", explainKeys(err), "the private key parses and fits the configured Alipay key material") {
		return a.rep
	}
	a.c = c
	if !a.add("gateway", a.probeGateway(), "the gateway answers for the app, accepts our signature, and its answer verifies") {
		return a.rep
	}
	if notify == "" {
		a.add("notify_url", errors.New("no -notify-url: Alipay needs one to announce payments"), "")
	} else {
		a.add("notify_url", a.probeNotify(notify), "reachable, and refuses a forged notification")
	}
	if sandbox == "" {
		a.flows(op, "")
		return a.rep
	}
	a.simURL = strings.TrimRight(sandbox, "/")
	a.sim = simclient.New(a.simURL, nil)
	p, err := a.simPayer()
	if !a.add("sandbox", err, "buyers created through the sandbox's control API") {
		return a.rep
	}
	a.flows(p, notify)
	return a.rep
}

func explainKeys(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("the app's keys are unusable: %v", err)
}

// probeGateway queries a trade that cannot exist: Alipay answers ACQ.TRADE_NOT_EXIST
// only after it checked the app and our signature, and signs that answer.
func (a *acceptor) probeGateway() error {
	_, err := a.c.TradeQuery(a.ctx, &alipay.TradeQueryRequest{OutTradeNo: "ACCEPT-PROBE-" + randHex(6)})
	if alipay.HasSubCode(err, alipay.SubTradeNotExist) {
		return nil
	}
	var ae *alipay.Error
	if errors.As(err, &ae) {
		switch {
		case ae.SubCode == alipay.SubInvalidSignature:
			return fmt.Errorf("Alipay refused our signature (isv.invalid-signature): the private key is not the one whose public key (or certificate) is uploaded for app %s — swapped keys, or another app's key", a.c.AppID())
		case ae.SubCode == "isv.invalid-app-id":
			return fmt.Errorf("the gateway does not know app %s (isv.invalid-app-id): wrong APPID, or the gateway of another environment (production vs sandbox)", a.c.AppID())
		}
		return fmt.Errorf("the gateway refused the probe: %s %s %s", ae.Code, ae.SubCode, ae.SubMsg)
	}
	if err == nil {
		return errors.New("the gateway answered a query of a trade that cannot exist with success: not an Alipay gateway")
	}
	msg := err.Error()
	if strings.Contains(msg, "sign") || strings.Contains(msg, "verif") {
		return fmt.Errorf("the gateway's answer does not verify with the configured Alipay public key or certificate (it is not Alipay's, or the app's key was put where Alipay's belongs): %v", err)
	}
	return fmt.Errorf("the gateway %s does not answer as Alipay does (wrong gateway URL?): %v", a.c.Gateway(), err)
}

// probeNotify POSTs a notification with a signature Alipay never made: the endpoint
// must be reachable and must not answer "success" (Alipay would stop retrying, and a
// forger could mark orders paid).
func (a *acceptor) probeNotify(notify string) error {
	form := url.Values{"notify_type": {"trade_status_sync"}, "notify_id": {"forged" + randHex(4)}, "app_id": {a.c.AppID()},
		"out_trade_no": {"ACCEPT-FORGED-" + randHex(4)}, "trade_no": {"2099" + randHex(8)}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"0.01"}, "sign_type": {"RSA2"}, "sign": {"Zm9yZ2Vk"}, "charset": {"utf-8"}, "version": {"1.0"}}
	resp, err := a.hc.Post(notify, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("the notify URL %s is unreachable: %v", notify, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	if strings.TrimSpace(string(body)) == "success" {
		return fmt.Errorf("the notify URL %s answered \"success\" to a forged notification (bad signature): it must verify Alipay's signature before acknowledging", notify)
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (a *acceptor) queryStatus(no string, want alipay.TradeStatus) error {
	q, err := a.c.TradeQuery(a.ctx, &alipay.TradeQueryRequest{OutTradeNo: no})
	if err != nil {
		return err
	}
	if q.TradeStatus != want {
		return fmt.Errorf("trade.query says %s, want %s", q.TradeStatus, want)
	}
	return nil
}

func (a *acceptor) post(path string, body any) error {
	b, _ := json.Marshal(body)
	resp, err := a.hc.Post(a.simURL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("sandbox %s: HTTP %d %s", path, resp.StatusCode, msg)
	}
	return nil
}

// signedNotified waits for the sandbox's notification of the trade and reports what
// the notify URL answered to it.
func (a *acceptor) signedNotified(tradeNo string) error {
	deadline := time.Now().Add(10 * time.Second)
	last := "no notification was sent"
	for time.Now().Before(deadline) {
		resp, err := a.hc.Get(a.simURL + "/sandbox/notifications?trade_no=" + url.QueryEscape(tradeNo))
		if err != nil {
			return err
		}
		var out struct {
			Notifications []struct {
				Attempts []struct {
					Response string `json:"response"`
					Error    string `json:"error"`
					Success  bool   `json:"success"`
				} `json:"attempts"`
			} `json:"notifications"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		for _, n := range out.Notifications {
			for _, at := range n.Attempts {
				if at.Success {
					return nil
				}
				last = fmt.Sprintf("answered %q %s", at.Response, at.Error)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the notify URL did not answer \"success\" to Alipay's signed notification (%s): it must verify and acknowledge it", last)
}
