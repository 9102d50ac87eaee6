package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoOnce runs the README's first command the way a newcomer would, three times
// on the same directory (each run spends 398.00 of the buyer's 1000.00: the third
// needs the top-up). Each run's payments succeed, and every URL it prints for a
// browser answers 200 with what it promises.
func TestDemoOnce(t *testing.T) {
	dir := t.TempDir()
	// Fixed ports across the runs, as a person rerunning the demo has: the service
	// keeps the sandbox's address as the app's gateway.
	simAddr, svcAddr := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	for run := 1; run <= 3; run++ {
		out, stop := startDemo(t, dir, svcAddr, simAddr)
		for _, want := range []string{"PAID: order", "WAITING: above", "PAID: buyer paid 388.00", "partial refund of 2.34 on ", ": SUCCEEDED", "balance 1000.00"} {
			if !strings.Contains(out, want) {
				t.Errorf("run %d: output lacks %q:\n%s", run, want, out)
			}
		}
		token := regexp.MustCompile(`admin token: +(\S+)`).FindStringSubmatch(out)
		buyer := regexp.MustCompile(`buyer (2088\d{12})`).FindStringSubmatch(out)
		if token == nil || buyer == nil {
			t.Fatalf("run %d: no admin token or buyer in:\n%s", run, out)
		}
		vend := regexp.MustCompile(`vending machine: +(http://\S+/m/\d+)`).FindStringSubmatch(out)
		if vend == nil {
			t.Fatalf("run %d: no vending machine's member page in:\n%s", run, out)
		}
		// What each printed page must show.
		want := map[string]string{
			"http://" + svcAddr + "/":                   "当面付",
			"http://" + simAddr + "/sandbox/ui":         "",
			"http://" + simAddr + "/gateway.do":         `"sign"`, // an SDK's endpoint: a signed Alipay answer
			"http://" + simAddr + "/wallet/" + buyer[1]: buyer[1],
			"http://" + svcAddr + "/docs/api.md":        "# The f2fpay HTTP API",
			"http://" + svcAddr + "/docs/openapi.yaml":  "openapi:",
			"http://" + svcAddr + "/metrics":            "f2fpay_",
			"http://" + svcAddr + "/healthz":            "",
			"http://" + svcAddr + "/readyz":             "",
			"http://" + svcAddr + "/console/":           "f2fpay", // the console's login page
		}
		want[vend[1]] = "auth_base" // no session yet: Alipay's (the sandbox's) silent authorisation
		// The vending-machine simulator: its index and one screen per machine kind.
		want["http://"+svcAddr+"/sim/"] = "售货机模拟器"
		for _, kind := range []string{"ordinary", "face", "cabinet"} {
			m := regexp.MustCompile(kind + `: +(http://\S+/sim/\d+)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("run %d: no %s machine's simulator URL in:\n%s", run, kind, out)
			}
			want[m[1]] = `data-kind="` + kind + `"`
		}
		seen := map[string]bool{}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "curl ") {
				continue // commands: TestDemoNextSteps runs them
			}
			for _, u := range regexp.MustCompile(`https?://[^\s)]+`).FindAllString(line, -1) {
				seen[u] = true
			}
		}
		// The home page's links are printed URLs too (it is the console's login page:
		// its own links — assets, the language switch, anchors — are the console's
		// tests' business).
		home := get(t, "http://"+svcAddr+"/", "")
		for _, m := range regexp.MustCompile(`href="([^"]+)"`).FindAllStringSubmatch(home, -1) {
			u := m[1]
			if strings.HasPrefix(u, "/console/") || strings.HasPrefix(u, "#") || strings.HasPrefix(u, "data:") {
				continue
			}
			if strings.HasPrefix(u, "/") {
				u = "http://" + svcAddr + u
			}
			seen[u] = true
		}
		for u := range seen {
			// The one-time console link is new at every run: it opens a page with a
			// button (the console's tests log in with it).
			if strings.Contains(u, "/console/login/link/") {
				get(t, u, "/console/login/link")
				continue
			}
			w, ok := want[u]
			if !ok {
				t.Errorf("run %d: the demo prints or links %s, which this test does not know", run, u)
			}
			get(t, u, w)
		}
		for u := range want {
			if !seen[u] {
				t.Errorf("run %d: %s is neither printed nor linked", run, u)
			}
		}
		// The admin token works.
		req, _ := http.NewRequest(http.MethodGet, "http://"+svcAddr+"/admin/orders?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+token[1])
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("run %d: the printed admin token: %v %v", run, resp, err)
		} else {
			resp.Body.Close()
		}
		stop()
	}
}

// get fetches u and fails the test unless it answers 200 with want in the body.
func get(t *testing.T, u, want string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Errorf("GET %s: %v", u, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
		t.Errorf("GET %s: %d, want 200 with %q:\n%.400s", u, resp.StatusCode, want, b)
	}
	return string(b)
}

// startDemo runs `f2fpay demo` in-process until it prints its next steps, and returns
// what it printed and a func that stops it (and fails the test if it failed).
func startDemo(t *testing.T, dir, svcAddr, simAddr string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "-dir", dir, "-listen", svcAddr, "-sandbox-listen", simAddr}, strings.NewReader(""), &out, &errb)
	}()
	stop := func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v\n%s", err, errb.String())
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "janitor resolves every unfinished order") {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("the demo stopped: %v\n%s\n%s", err, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("the demo printed no next steps within 60 s:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return out.String(), stop
}

func run_(t *testing.T, args []string, stdout, stderr *bytes.Buffer) error {
	t.Helper()
	return run(context.Background(), args, strings.NewReader(""), stdout, stderr)
}

func TestDemoRefusesAMovedSandbox(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run_(t, []string{"demo", "-once", "-dir", dir, "-listen", "127.0.0.1:0", "-sandbox-listen", "127.0.0.1:" + freePort(t)}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	err := run_(t, []string{"demo", "-once", "-dir", dir, "-listen", "127.0.0.1:0", "-sandbox-listen", "127.0.0.1:" + freePort(t)}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "was set up with the sandbox at") {
		t.Fatalf("err = %v", err)
	}
}

// TestDemoNextSteps runs the shell commands the demo prints for the newcomer, as
// printed, step by step, with bash and curl: take a payment code and pay with it; make
// Alipay lose its answer and pay again; look both payments up, and the second in the
// admin API.
func TestDemoNextSteps(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed", "tr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs curl)", tool)
		}
	}
	out, stop := startDemo(t, t.TempDir(), "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t))
	defer stop()
	steps := map[string]string{} // "2" → the commands of step 2
	var step string
	for _, l := range strings.Split(out[strings.Index(out, "Now you"):], "\n") {
		l = strings.TrimSpace(l)
		if m := regexp.MustCompile(`^# (\d)\. `).FindStringSubmatch(l); m != nil {
			step = m[1]
			continue
		}
		if step != "" && l != "" && !strings.HasPrefix(l, "#") {
			steps[step] += l + "\n"
		}
	}
	if steps["2"] == "" || steps["3"] == "" || steps["4"] == "" || steps["1"] != "" {
		t.Fatalf("steps 2 to 4 (and no command in step 1) not found in:\n%s", out)
	}
	sh := func(script string) []map[string]any {
		t.Helper()
		got, err := exec.Command("bash", "-euo", "pipefail", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("%s\n→ %v: %s", script, err, got)
		}
		var answers []map[string]any
		dec := json.NewDecoder(bytes.NewReader(got))
		for dec.More() {
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s\n→ not JSON: %s", script, got)
			}
			answers = append(answers, v)
		}
		return answers
	}
	paid := func(what string, p map[string]any, outTradeNo string) {
		t.Helper()
		if p["state"] != "PAID" || p["total_amount"] != "9.99" || p["out_trade_no"] != outTradeNo {
			t.Fatalf("%s: %v, want a PAID payment of 9.99 with out_trade_no %s", what, p, outTradeNo)
		}
		// The commands send Accept-Language: zh-CN, as the demo's cashier reads Chinese;
		// the receipt fields name the store and the till.
		if p["message"] != "支付成功" || p["store_name"] == nil || p["terminal_name"] == nil || p["paid_at_beijing"] == nil {
			t.Fatalf("%s: %v, want the message in Chinese and the receipt fields", what, p)
		}
	}
	stem := regexp.MustCompile(`pay order (DEMO-[0-9-]+)-1 `).FindStringSubmatch(out)
	if stem == nil {
		t.Fatalf("step 2 names no out_trade_no:\n%s", out)
	}
	a := sh(steps["2"])
	paid("step 2, pay", a[len(a)-1], stem[1]+"-1")
	a = sh(steps["3"])
	paid("step 3, pay with Alipay's answer lost", a[len(a)-1], stem[1]+"-2")
	a = sh(steps["4"])
	if len(a) != 3 {
		t.Fatalf("step 4: %d answers, want 3: %v", len(a), a)
	}
	paid("step 4, look up the first", a[0], stem[1]+"-1")
	paid("step 4, look up the second", a[1], stem[1]+"-2")
	if calls, _ := a[2]["calls"].([]any); len(calls) < 2 {
		t.Errorf("step 4, the admin's view of the second payment: %v; want its pay and query calls", a[2])
	}
}
