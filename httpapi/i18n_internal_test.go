package httpapi

import (
	"net/http/httptest"
	"testing"
)

func TestRequestLang(t *testing.T) {
	for header, want := range map[string]lang{
		"":                          langEN,
		"zh":                        langZH,
		"zh-CN":                     langZH,
		"zh-Hans-CN,zh;q=0.9":       langZH,
		"ZH-tw":                     langZH,
		"en-US,en;q=0.9,zh;q=0.8":   langEN,
		"en;q=0.5, zh-CN;q=0.8":     langZH,
		"fr-FR, de":                 langEN,
		"fr-FR, zh;q=0.3":           langZH,
		"zh;q=0, en":                langEN,
		"zhx":                       langEN,
		"de-DE,zh-CN;q=0.9,en;q=.8": langZH,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", header)
		if got := requestLang(r); got != want {
			t.Errorf("Accept-Language %q: %v, want %v", header, got, want)
		}
	}
}

func TestZhMessageFallback(t *testing.T) {
	if got := zhMessage("invalid", "something new"); got != "请求无效：something new" {
		t.Errorf("fallback %q", got)
	}
	if got := zhMessage("weird", "x"); got != "x" {
		t.Errorf("unknown code %q", got)
	}
}
