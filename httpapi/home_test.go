package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestHomePage: a person opening the service's address gets a page, in Chinese and
// English, whose every link on the service answers 200 with what it names; the links
// given in Config.Home are there, escaped; other paths still get the JSON 404.
func TestHomePage(t *testing.T) {
	t.Parallel()
	srv, err := httpapi.New(httpapi.Config{Storage: testdb.Open(t, "", testdb.Options{}),
		Home: []httpapi.HomeLink{{Label: "买家钱包 · buyer's wallet <demo>", URL: "http://127.0.0.1:8090/wallet/2088000000000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	status, ctype, page := get("/")
	if status != 200 || !strings.HasPrefix(ctype, "text/html") {
		t.Fatalf("GET /: %d %s\n%s", status, ctype, page)
	}
	for _, want := range []string{"当面付", "payment service", "buyer&#39;s wallet &lt;demo&gt;", `href="http://127.0.0.1:8090/wallet/2088000000000001"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the home page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script") || regexp.MustCompile(`(src|href)="https?://[^"]*"`).FindAllString(page, -1)[0] != `href="http://127.0.0.1:8090/wallet/2088000000000001"` {
		t.Errorf("the page loads or links something outside the service besides the configured link:\n%s", page)
	}
	wantIn := map[string]string{"/docs/api.md": "# The f2fpay HTTP API", "/docs/openapi.yaml": "openapi: 3.1", "/healthz": "", "/readyz": "", "/metrics": "f2fpay_http_requests_total"}
	links := regexp.MustCompile(`href="(/[^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(links) != len(wantIn) {
		t.Errorf("links on the service: %v, want %d", links, len(wantIn))
	}
	for _, l := range links {
		want, ok := wantIn[l[1]]
		if !ok {
			t.Errorf("unexpected link %s", l[1])
			continue
		}
		if status, _, body := get(l[1]); status != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 with %q:\n%.300s", l[1], status, want, body)
		}
	}
	if status, _, body := get("/nothing"); status != 404 || !strings.Contains(body, "not_found") {
		t.Errorf("GET /nothing: %d %s", status, body)
	}
}
