package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startSandbox runs "f2fpay sandbox" in-process and returns its base URL and a stop func.
func startSandbox(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"sandbox", "--listen", "127.0.0.1:0"}, args...), nil, &out, &errOut)
	}()
	re := regexp.MustCompile(`gateway:\s+(http://\S+)/gateway\.do`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			stopped := false
			return m[1], func() {
				if stopped {
					return
				}
				stopped = true
				cancel()
				if err := <-done; err != nil {
					t.Errorf("sandbox exited with %v; stderr: %s", err, errOut.String())
				}
				if !strings.Contains(out.String(), "stopped") {
					t.Errorf("no graceful stop message: %s", out.String())
				}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("sandbox exited early: %v\n%s", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("sandbox did not start: %s %s", out.String(), errOut.String())
	return "", nil
}

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: not JSON: %s", url, b)
	}
	return resp.StatusCode, m
}

func TestSandboxCommandPersistsState(t *testing.T) {
	dir := t.TempDir()
	base, stop := startSandbox(t, "--data", dir, "--seed", "5")
	status, b := postJSON(t, base+"/sandbox/buyers", `{"balance":"12.34"}`)
	if status != 201 {
		t.Fatalf("create buyer: %d %v", status, b)
	}
	uid := b["user_id"].(string)
	status, e := postJSON(t, base+"/sandbox/apps", `{"app_public_key":"not a key"}`)
	if status != 400 || e["error"] == "" {
		t.Errorf("bad key: %d %v", status, e)
	}
	stop()

	base, stop = startSandbox(t, "--data", dir)
	defer stop()
	resp, err := http.Get(base + "/sandbox/buyers/" + uid)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	json.NewDecoder(resp.Body).Decode(&got)
	if got["balance"] != "12.34" {
		t.Errorf("buyer after restart: %v", got)
	}
}

func TestSandboxCommandFlags(t *testing.T) {
	for _, args := range [][]string{{"--time-scale", "0.5"}, {"extra"}, {"--manual-clock", "--time-scale", "10"}} {
		err := run(context.Background(), append([]string{"sandbox"}, args...), nil, io.Discard, io.Discard)
		if exitCode(err) != 2 {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}
