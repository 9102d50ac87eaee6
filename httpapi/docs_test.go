package httpapi_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes: every route registered in server.go is described in
// docs/openapi.yaml with its method, so the document cannot silently fall behind.
func TestOpenAPICoversRoutes(t *testing.T) {
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Split the spec into path blocks: "  /path:" followed by its indented methods.
	blocks := map[string]string{}
	var cur string
	for _, line := range strings.Split(string(spec), "\n") {
		if strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(strings.TrimSpace(line), ":")
			continue
		}
		if cur != "" && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") {
			blocks[cur] += strings.TrimSpace(line) + "\n"
		}
		if !strings.HasPrefix(line, " ") && line != "" {
			cur = ""
		}
	}
	routes := regexp.MustCompile(`"(GET|POST|PUT|PATCH|DELETE) (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 20 {
		t.Fatalf("found only %d routes in server.go", len(routes))
	}
	for _, r := range routes {
		method, path := strings.ToLower(r[1]), r[2]
		if !strings.Contains(blocks[path], method+":") {
			t.Errorf("docs/openapi.yaml does not describe %s %s", r[1], path)
		}
	}
}
