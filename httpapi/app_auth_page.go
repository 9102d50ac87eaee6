package httpapi

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// wantsHTML reports whether the request comes from a browser: a merchant sent back by
// Alipay's authorisation page.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// publicMessage is what a person may read of err: internal errors are not described.
func publicMessage(err error) string {
	if f2fpay.ErrorCode(err) == f2fpay.EINTERNAL {
		return "internal error; the details are in the service's log, retry later or contact the operator"
	}
	return f2fpay.ErrorMessage(err)
}

// appAuthView is what the page of GET /alipay/app-auth shows: the merchant's APPID on
// success, or why the authorisation was not taken.
type appAuthView struct {
	AuthAppID string
	Error     string
}

func (s *Server) appAuthPage(w http.ResponseWriter, r *http.Request, status int, v appAuthView) {
	if v.Error != "" && status >= 500 {
		s.log.WarnContext(r.Context(), "app authorisation redirect failed", append(logAttrs(r), "status", status)...)
	}
	if status == http.StatusUnauthorized {
		status = http.StatusForbidden // a page, not a credential challenge
	}
	var b bytes.Buffer
	if err := appAuthTemplate.Execute(&b, v); err != nil {
		http.Error(w, "f2fpay: the page failed to render", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the code and state
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// appAuthTemplate is self-contained, as the home page: it works behind any firewall.
var appAuthTemplate = template.Must(template.New("app-auth").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Error}}授权未完成 · Authorisation not completed{{else}}授权成功 · Authorised{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.6}
.err{color:#a40000}.ok{color:#0a6b2f}code{word-break:break-all}</style>
</head>
<body>
{{if .Error}}
<h1 class="err">授权未完成 · Authorisation not completed</h1>
<p>您的授权没有被接受，服务商还不能代您收款。请联系服务商的管理员，索取一个新的授权链接后重新授权。</p>
<p>Your authorisation was not accepted, and the service provider cannot collect payments for you yet.
Ask the service provider's administrator for a new authorisation link, and authorise again.</p>
<p>原因 · Reason: <strong id="reason">{{.Error}}</strong></p>
{{else}}
<h1 class="ok">授权成功 · Authorised</h1>
<p>服务商现在可以代您（应用 <code>{{.AuthAppID}}</code>）收款。您可以关闭此页面。</p>
<p>The service provider can now collect payments for you (app <code>{{.AuthAppID}}</code>). You may close this page.</p>
{{end}}
</body>
</html>
`))
