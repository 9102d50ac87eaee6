package httpapi

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/f2fpay/f2fpay/docs"
)

// HomeLink is a link the home page shows besides the service's own, such as the
// sandbox's wallet when `f2fpay demo` runs the service.
type HomeLink struct {
	Label string // shown as given: Chinese and English, as the rest of the page
	URL   string
}

// homeRoutes registers the home page and the documents it links. It is a small
// signpost for a person who opens the service's address in a browser (GET / used to
// answer a JSON 404); the operator console will take its place.
func (s *Server) homeRoutes(handle func(string, http.Handler)) {
	if s.console != nil {
		handle("GET /{$}", s.console)
		handle("/console/", s.console)
	} else {
		handle("GET /{$}", http.HandlerFunc(s.home))
	}
	handle("GET /docs/api.md", serveDoc(docs.API))
	handle("GET /docs/openapi.yaml", serveDoc(docs.OpenAPI))
}

// serveDoc serves an embedded document as UTF-8 text, which every browser shows
// rather than downloads (text/markdown and YAML types are often downloaded).
func serveDoc(b []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(b)
	})
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := homePage.Execute(&b, s.homeLinks); err != nil {
		http.Error(w, "f2fpay: the home page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b.Bytes())
}

// homePage is self-contained: no scripts, fonts or style sheets from elsewhere, so it
// works offline and behind any firewall.
var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>f2fpay 当面付支付服务 · payment service</title>
<style>
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}code{background:#f3f3f3;padding:0 .2rem}
li{margin:.3rem 0}.en{color:#555}
</style>
</head>
<body>
<h1>f2fpay 当面付支付服务 <span class="en">· Alipay face-to-face payment service</span></h1>
<p>收银台和售货机调用 <code>/v1</code> 终端 API（每台终端有自己的 API 密钥），运营方调用 <code>/admin</code> 管理 API（管理令牌）。<br>
<span class="en">Cashier desks and vending machines call the terminal API under <code>/v1</code> with their own API key; the operator calls the admin API under <code>/admin</code> with the admin token.</span></p>
<h2>文档 <span class="en">· Documentation</span></h2>
<ul>
<li><a href="/docs/api.md">API 使用说明 <span class="en">· the API, with curl examples</span></a> <code>/docs/api.md</code></li>
<li><a href="/docs/openapi.yaml">OpenAPI 描述 <span class="en">· OpenAPI 3.1 description</span></a> <code>/docs/openapi.yaml</code></li>
</ul>
<h2>运维 <span class="en">· Operations</span></h2>
<ul>
<li><a href="/healthz">进程存活 <span class="en">· liveness</span></a> <code>/healthz</code></li>
<li><a href="/readyz">数据库就绪 <span class="en">· readiness (the database answers)</span></a> <code>/readyz</code></li>
<li><a href="/metrics">Prometheus 指标 <span class="en">· metrics</span></a> <code>/metrics</code></li>
</ul>
{{- if .}}
<h2>沙箱 <span class="en">· Sandbox</span></h2>
<ul>
{{- range .}}
<li><a href="{{.URL}}">{{.Label}}</a> <code>{{.URL}}</code></li>
{{- end}}
</ul>
{{- end}}
</body>
</html>
`))
