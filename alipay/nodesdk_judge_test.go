package alipay

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The official Node.js SDK (npm alipay-sdk, pinned in interop/nodesdk/package.json) judges
// our wire code from the outside: Go and the sandbox share sign.go and envelope.go, so a
// bug there would pass every Go-only round trip. These tests run the SDK through
// interop/nodesdk/judge.mjs, one long-lived node process per test binary.

// nodeSDKDir is interop/nodesdk relative to this package's directory, where go test runs.
const nodeSDKDir = "../interop/nodesdk"

// requireNodeEnv, set to 1 in CI, turns a missing Node or SDK install into a failure so
// that the interop suite can never be silently skipped there.
const requireNodeEnv = "F2FPAY_REQUIRE_NODE"

// nodeSDKAvailable reports where node is, or skips (fails under F2FPAY_REQUIRE_NODE=1)
// when node or the installed SDK is missing.
func nodeSDKAvailable(t testing.TB) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(nodeSDKDir)
	if err != nil {
		t.Fatal(err)
	}
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...) +
			"; install it with `npm ci --prefix interop/nodesdk` from the repository root (needs Node.js >= 18 and npm)"
		if os.Getenv(requireNodeEnv) == "1" {
			t.Fatalf("%s (%s=1 makes this a failure)", msg, requireNodeEnv)
		}
		t.Skip(msg)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH, so the official Alipay Node.js SDK cannot judge our wire code")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "alipay-sdk", "package.json")); err != nil {
		missing("the official Alipay Node.js SDK is not installed in %s", dir)
	}
	return node, dir
}

// nodeJudge is a running judge.mjs. Calls may be concurrent: answers are matched by id.
type nodeJudge struct {
	stdin  io.WriteCloser
	stderr *lockedBuffer

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan judgeAnswer
	dead    error // set once stdout ends; every later call fails with it
}

type judgeAnswer struct {
	ID     int64           `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  *nodeSDKError   `json:"error"`
}

// nodeSDKError is an exception the SDK threw (AlipayRequestError, TypeError, URIError...).
type nodeSDKError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Code    string `json:"code"`
}

func (e *nodeSDKError) Error() string {
	return fmt.Sprintf("node SDK %s: %s", e.Name, e.Message)
}

// sharedNodeJudge is the one judge process of the test binary: starting node and loading
// the SDK costs ~0.4 s of CPU, and the judge keeps no state between calls. It is never
// stopped explicitly: when the test binary exits, its stdin closes and judge.mjs exits.
var sharedNodeJudge = sync.OnceValues(func() (*nodeJudge, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(nodeSDKDir)
	if err != nil {
		return nil, err
	}
	want, err := pinnedSDKVersion(dir)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, filepath.Join(dir, "judge.mjs"))
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	j := &nodeJudge{stdin: stdin, stderr: &lockedBuffer{}, pending: map[int64]chan judgeAnswer{}}
	cmd.Stderr = j.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting node judge: %w", err)
	}
	go func() {
		j.read(stdout)
		cmd.Wait()
	}()

	var v struct {
		SDK  string `json:"sdk"`
		Node string `json:"node"`
	}
	if err := j.call("version", nil, &v); err != nil {
		return nil, err
	}
	if v.SDK != want {
		return nil, fmt.Errorf("installed alipay-sdk is %s but package.json pins %s; run `npm ci --prefix interop/nodesdk`", v.SDK, want)
	}
	return j, nil
})

// startNodeJudge returns the judge, skipping the test (failing it under
// F2FPAY_REQUIRE_NODE=1) when node or the SDK is not installed. The installed SDK must be
// the version package.json pins, so a stale node_modules cannot pass for it.
func startNodeJudge(t *testing.T) *nodeJudge {
	t.Helper()
	nodeSDKAvailable(t)
	j, err := sharedNodeJudge()
	if err != nil {
		t.Fatalf("node judge: %v", err)
	}
	return j
}

func pinnedSDKVersion(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", fmt.Errorf("interop/nodesdk/package.json: %w", err)
	}
	v := pkg.Dependencies["alipay-sdk"]
	if v == "" || strings.ContainsAny(v, "^~<>=* ") {
		return "", fmt.Errorf("interop/nodesdk/package.json must pin alipay-sdk to an exact version, has %q", v)
	}
	return v, nil
}

func (j *nodeJudge) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var a judgeAnswer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			j.fail(fmt.Errorf("node judge wrote a line that is not JSON: %q", sc.Text()))
			return
		}
		j.mu.Lock()
		ch := j.pending[a.ID]
		delete(j.pending, a.ID)
		j.mu.Unlock()
		if ch != nil {
			ch <- a
		}
	}
	j.fail(errors.New("node judge exited"))
}

func (j *nodeJudge) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.dead == nil {
		j.dead = fmt.Errorf("%w; stderr:\n%s", err, j.stderr.String())
	}
	for id, ch := range j.pending {
		close(ch)
		delete(j.pending, id)
	}
}

// call runs op with the fields of req and decodes the result into result (if non-nil).
// An exception thrown by the SDK comes back as *nodeSDKError; anything else wrong with the
// judge process is a different error.
func (j *nodeJudge) call(op string, req map[string]any, result any) error {
	msg := map[string]any{}
	for k, v := range req {
		msg[k] = v
	}
	ch := make(chan judgeAnswer, 1)
	j.mu.Lock()
	if j.dead != nil {
		j.mu.Unlock()
		return j.dead
	}
	j.nextID++
	id := j.nextID
	j.pending[id] = ch
	msg["id"], msg["op"] = id, op
	line, err := json.Marshal(msg)
	if err == nil {
		_, err = j.stdin.Write(append(line, '\n')) // under mu: lines never interleave
	}
	j.mu.Unlock()
	if err != nil {
		return fmt.Errorf("sending %s to node judge: %w", op, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case a, ok := <-ch:
		if !ok {
			j.mu.Lock()
			defer j.mu.Unlock()
			return j.dead
		}
		if !a.OK {
			if a.Error == nil {
				return fmt.Errorf("node judge: %s failed without an error", op)
			}
			return a.Error
		}
		if result != nil {
			if err := json.Unmarshal(a.Result, result); err != nil {
				return fmt.Errorf("node judge %s result %s: %w", op, a.Result, err)
			}
		}
		return nil
	case <-ctx.Done():
		j.mu.Lock()
		delete(j.pending, id)
		j.mu.Unlock()
		return fmt.Errorf("node judge: no answer to %s within 30s; stderr:\n%s", op, j.stderr.String())
	}
}

// mustCall is call for operations that must not throw.
func (j *nodeJudge) mustCall(t testing.TB, op string, req map[string]any, result any) {
	t.Helper()
	if err := j.call(op, req, result); err != nil {
		t.Fatalf("node %s: %v", op, err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
