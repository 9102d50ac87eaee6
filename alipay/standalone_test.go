package alipay_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The SDK stands alone (docs/design.md, "The SDK stands alone"): its packages import
// the standard library, golang.org/x/text (GBK bills, Alipay's byte limits) and each
// other, nothing of the f2fpay service. These tests keep it so; a failure names the
// import that crept in.

// sdkPath is the import path prefix every SDK package shares.
const sdkPath = "github.com/f2fpay/f2fpay/alipay"

func inSDK(path string) bool { return path == sdkPath || strings.HasPrefix(path, sdkPath+"/") }

// goList runs go list in dir and returns its non-empty output lines.
func goList(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	return goCmd(t, dir, append([]string{"list"}, args...)...)
}

func goCmd(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH:", err)
	}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// nonStandard is the -f template that prints a package's import path unless it is in
// the standard library (whose vendored golang.org/x copies count as standard).
const nonStandard = `{{if not .Standard}}{{.ImportPath}}{{end}}`

// testOnlyAllowed are what the SDK's tests may import besides the SDK and x/text:
// rapid (property tests), and internal/cpustat, which the signer benchmarks use to
// report CPU per signature — it imports only the standard library, so an SDK user's
// go.sum gains nothing from it; a split of the SDK into a module of its own would
// have to copy it (docs/design.md, "The SDK stands alone").
var testOnlyAllowed = map[string]bool{
	"pgregory.net/rapid":                        true,
	"github.com/f2fpay/f2fpay/internal/cpustat": true,
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSDKImportsNothingOfTheService(t *testing.T) {
	for _, pkg := range goList(t, ".", "-deps", "-f", nonStandard, "./...") {
		if !inSDK(pkg) && !strings.HasPrefix(pkg, "golang.org/x/text/") {
			t.Errorf("the SDK depends on %s; it may use only the standard library, golang.org/x/text and its own packages", pkg)
		}
	}
	// Tests count too: an SDK user's go mod tidy resolves the tests of the packages it
	// imports, so a test here that imported the sandbox would put SQLite into every SDK
	// user's go.sum. Sandbox-driven tests of the SDK live in alipaysim/.
	for _, pkg := range goList(t, ".", "-deps", "-test", "-f", nonStandard, "./...") {
		pkg, _, _ = strings.Cut(pkg, " ") // "p [p.test]" is p compiled for its tests
		pkg = strings.TrimSuffix(pkg, ".test")
		pkg = strings.TrimSuffix(pkg, "_test")
		if !inSDK(pkg) && !strings.HasPrefix(pkg, "golang.org/x/text/") && !testOnlyAllowed[pkg] {
			t.Errorf("the SDK's tests depend on %s; they may add only %v", pkg, keys(testOnlyAllowed))
		}
	}
}

// TestSDKStandaloneBuild builds interop/sdkonly, a module of its own that imports the SDK
// as a user would, and checks what it links: the SDK and golang.org/x/text, no pgx,
// Prometheus or SQLite.
func TestSDKStandaloneBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds another module; skipped with -short")
	}
	dir := filepath.Join("..", "interop", "sdkonly")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatal(err)
	}
	goCmd(t, dir, "build", "-o", filepath.Join(t.TempDir(), "sdkonly"), ".")
	goCmd(t, dir, "vet", ".")
	for _, line := range goList(t, dir, "-deps", "-f", `{{if not .Standard}}{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}{{end}}`, ".") {
		pkg, mod, _ := strings.Cut(line, " ")
		switch {
		case pkg == "example.com/sdkonly", inSDK(pkg), strings.HasPrefix(pkg, "golang.org/x/text/"):
		default:
			t.Errorf("a program using only the SDK links %s (module %s)", pkg, mod)
		}
	}
	// The program's go.sum is what an SDK user must trust and download: only
	// golang.org/x/text, and rapid for the tests of package money (go mod tidy resolves
	// the tests of imported packages too). tidy -diff fails if go.mod or go.sum is not
	// what tidy would write, so the check below is about the real list.
	goCmd(t, dir, "mod", "tidy", "-diff")
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"pgx", "prometheus", "sqlite", "modernc.org"} {
		if strings.Contains(string(sum), bad) {
			t.Errorf("interop/sdkonly/go.sum mentions %s:\n%s", bad, sum)
		}
	}
}
