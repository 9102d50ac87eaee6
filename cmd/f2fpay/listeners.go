package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

// The service answers on two addresses (-listen and -admin-listen) with one handler:
// each listener gets the handler behind a path filter, so that only what must face
// the internet does. The routes themselves stay in httpapi.

// isPublicPath reports whether p is served on the public listener: the terminal API,
// Alipay's notifications, and the probes a load balancer in front of it needs.
// Anything else (the admin API, /metrics, the home page, a route added later) is
// internal until it is listed here.
func isPublicPath(p string) bool {
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/alipay/notify/") ||
		strings.HasPrefix(p, "/alipay/agreements/notify/") || p == "/healthz" || p == "/readyz"
}

// isInternalPath reports whether p is served on the internal (admin) listener:
// everything except the terminal API and Alipay's notifications, which have no
// business on an address the internet cannot reach.
func isInternalPath(p string) bool {
	return !strings.HasPrefix(p, "/v1/") && !strings.HasPrefix(p, "/alipay/notify/") &&
		!strings.HasPrefix(p, "/alipay/agreements/notify/")
}

// onlyPaths serves the requests whose cleaned path allow accepts and answers the
// others 404 in the API's error shape. The path is cleaned first, so "/v1/../admin/x"
// is judged as "/admin/x" (the mux would only redirect it there).
func onlyPaths(allow func(string) bool, elsewhere string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/") && p != "/" {
			p += "/"
		}
		if allow(p) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
			"code":    "not_found",
			"message": fmt.Sprintf("no endpoint %s %s on this address; %s", r.Method, r.URL.Path, elsewhere),
		}})
	})
}

const (
	onPublic   = "the terminal API (/v1/) and Alipay's notifications are served on the public address (-listen)"
	onInternal = "this address serves the terminal API, Alipay's notifications, /healthz and /readyz; the admin API, /metrics and the home page are on the internal address (-admin-listen)"
)

// pollSettle is the least time a long-poll runs before shutdown ends it: the
// authentication and the order lookup before its wait use the same context, and must
// not be cut by a shutdown that began while they ran.
const pollSettle = 500 * time.Millisecond

// longPolls ends long-polls (GET /v1/...?wait=...) when done is closed, so that each
// answers the order as it stands (the engine's WaitOrder returns it when its context
// ends) instead of holding the shutdown for up to a minute or being reset. The
// terminal asks again, reaching another instance. Only long-polls get this context:
// a barcode payment in flight keeps its own and finishes within the shutdown grace.
func longPolls(done <-chan struct{}, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v1/") || !r.URL.Query().Has("wait") {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		start := time.Now()
		go func() {
			select {
			case <-ctx.Done():
				return
			case <-done:
			}
			select {
			case <-ctx.Done():
			case <-time.After(pollSettle - time.Since(start)):
				cancel()
			}
		}()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// isLoopback reports whether addr ("host:port") listens on a loopback address only.
// An empty host (all interfaces) and names other than localhost are not.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// minTokenLen and minTokenChars bound what a guessable admin token is: 24 bytes of
// base64 make 32 characters of about 25 different ones.
const (
	minTokenLen   = 24
	minTokenChars = 10
)

// weakToken says why token is guessable, or "" when it is not: too short, or too
// few different characters ("aaaa…", "1234512345…").
func weakToken(token string) string {
	if n := len(token); n < minTokenLen {
		return fmt.Sprintf("it has %d characters, fewer than %d", n, minTokenLen)
	}
	seen := map[rune]bool{}
	for _, c := range token {
		seen[c] = true
	}
	if len(seen) < minTokenChars {
		return fmt.Sprintf("it uses only %d different characters, fewer than %d", len(seen), minTokenChars)
	}
	return ""
}
