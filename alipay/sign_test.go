package alipay

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"
)

func TestSignContent(t *testing.T) {
	for _, tc := range []struct {
		name    string
		params  url.Values
		exclude []string
		want    string
	}{
		{"nil", nil, nil, ""},
		{"empty", url.Values{}, []string{"sign"}, ""},
		{
			name:   "sorted by key, byte order",
			params: url.Values{"b": {"2"}, "a": {"1"}, "B": {"3"}, "a_b": {"4"}, "ab": {"5"}, "a1": {"6"}},
			want:   "B=3&a=1&a1=6&a_b=4&ab=5&b=2",
		},
		{
			name:    "request rule: only sign excluded",
			params:  url.Values{"sign": {"xxx"}, "sign_type": {"RSA2"}, "app_id": {"1"}},
			exclude: []string{"sign"},
			want:    "app_id=1&sign_type=RSA2",
		},
		{
			name:    "notification rule: sign and sign_type excluded",
			params:  url.Values{"sign": {"xxx"}, "sign_type": {"RSA2"}, "app_id": {"1"}},
			exclude: []string{"sign", "sign_type"},
			want:    "app_id=1",
		},
		{
			name:   "empty values and keys dropped",
			params: url.Values{"notify_url": {""}, "": {"orphan"}, "app_id": {"1"}, "none": {}, "nil": nil},
			want:   "app_id=1",
		},
		{
			// Raw, decoded values: no URL encoding, no quoting, '&' and '=' as they are.
			name: "values raw",
			params: url.Values{
				"biz_content": {`{"subject":"a&b=c","total_amount":"0.01"}`},
				"subject":     {"中文测试 +%20"},
				"timestamp":   {"2024-05-13 17:49:20"},
			},
			want: `biz_content={"subject":"a&b=c","total_amount":"0.01"}&subject=中文测试 +%20&timestamp=2024-05-13 17:49:20`,
		},
		{
			// A form that sends a key twice (gopay sends charset in query and body): the
			// first non-empty value, as a gateway de-duplicating by key does.
			name:   "repeated key",
			params: url.Values{"charset": {"", "utf-8", "gbk"}, "x": {"1", "2"}},
			want:   "charset=utf-8&x=1",
		},
		{
			name:    "excluding an absent key is harmless",
			params:  url.Values{"a": {"1"}},
			exclude: []string{"sign", "sign_type", "alipay_cert_sn"},
			want:    "a=1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SignContent(tc.params, tc.exclude...); got != tc.want {
				t.Errorf("SignContent = %q\nwant          %q", got, tc.want)
			}
			if got := string(AppendSignContent([]byte("pre|"), tc.params, tc.exclude...)); got != "pre|"+tc.want {
				t.Errorf("AppendSignContent = %q", got)
			}
		})
	}
	// More keys than the stack buffer holds.
	many := url.Values{}
	var want []string
	for i := range 100 {
		k := string(rune('a'+i%26)) + strings.Repeat("z", i/26) + "_" + string(rune('0'+i%10))
		many.Set(k, "v")
		want = append(want, k+"=v")
	}
	sort.Strings(want)
	if got := SignContent(many); got != strings.Join(want, "&") {
		t.Errorf("100 keys: %s", got)
	}
}

func TestVerifySignatureErrors(t *testing.T) {
	ctx := context.Background()
	key := vecPrivateKey(t, "app-private-key.pem")
	other := vecPublicKey(t, "app-public-key-61eaee28.pem")
	content := []byte(`{"code":"10000","msg":"Success"}`)
	raw, err := NewKeySigner(key).Sign(ctx, RSA2, content)
	if err != nil {
		t.Fatal(err)
	}
	sig := base64.StdEncoding.EncodeToString(raw)
	altered := []byte(`{"code":"10000","msg":"Succesz"}`)

	for _, tc := range []struct {
		name    string
		st      SignType
		content []byte
		sig     string
		pub     bool // use the right key
		want    string
		isSig   bool // wraps ErrSignature
	}{
		{"missing", RSA2, content, "", true, "no signature", true},
		{"not base64", RSA2, content, "!!!!", true, "not valid base64", true},
		{"URL-safe alphabet", RSA2, content, strings.NewReplacer("+", "-", "/", "_").Replace(sig), true, "not valid base64", true},
		{"'+' decoded into spaces", RSA2, content, strings.ReplaceAll(sig, "+", " "), true, "a '+' was probably URL-decoded into a space", true},
		{"truncated", RSA2, content, sig[:len(sig)-8], true, "does not match", true},
		{"too long", RSA2, content, strings.Repeat(sig, 5), true, "too long", true},
		{"wrong key", RSA2, content, sig, false, "RSA2 signature does not match (wrong Alipay public key, or the data was altered)", true},
		{"content altered by one byte", RSA2, altered, sig, true, "does not match", true},
		{"other algorithm", RSA, content, sig, true, "RSA signature does not match", true},
		{"unsupported sign_type", "SM2", content, sig, true, `unsupported sign_type "SM2" (use RSA2 or RSA)`, false},
		{"lower-case sign_type", "rsa2", content, sig, true, "unsupported sign_type", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub := &key.PublicKey
			if !tc.pub {
				pub = other
			}
			err := VerifySignature(pub, tc.st, tc.content, tc.sig)
			if err == nil {
				t.Fatal("verified")
			}
			if errors.Is(err, ErrSignature) != tc.isSig {
				t.Errorf("errors.Is(err, ErrSignature) = %v for %v", !tc.isSig, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
	// Sanity: the untouched signature verifies, also when a transport wrapped it in lines.
	if err := VerifySignature(&key.PublicKey, RSA2, content, sig); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(&key.PublicKey, RSA2, content, wrapLines(sig, 76, "\r\n")); err != nil {
		t.Errorf("line-wrapped signature: %v", err)
	}
}

type failingSigner struct{ err error }

func (f failingSigner) Sign(context.Context, SignType, []byte) ([]byte, error) { return nil, f.err }

func TestSignParamsErrors(t *testing.T) {
	ctx := context.Background()
	hsm := errors.New("hsm offline")
	_, err := SignParams(ctx, failingSigner{hsm}, RSA2, url.Values{"a": {"1"}})
	if !errors.Is(err, hsm) || !strings.Contains(err.Error(), "alipay: signing request: hsm offline") {
		t.Errorf("err = %v", err)
	}
	_, err = SignParams(ctx, NewKeySigner(vecPrivateKey(t, "app-private-key.pem")), "SM2", url.Values{"a": {"1"}})
	if err == nil || !strings.Contains(err.Error(), "unsupported sign_type") {
		t.Errorf("SM2: err = %v", err)
	}
}

func TestVerifyParamsSignType(t *testing.T) {
	ctx := context.Background()
	signer := NewKeySigner(vecPrivateKey(t, "app-private-key.pem"))
	pub := signer.Public()
	// No sign_type: RSA2, as the gateway assumes.
	p := url.Values{"app_id": {"1"}, "method": {"alipay.trade.query"}}
	sig, err := SignParams(ctx, signer, RSA2, p)
	if err != nil {
		t.Fatal(err)
	}
	p.Set("sign", sig)
	if err := VerifyParams(pub, p); err != nil {
		t.Errorf("no sign_type: %v", err)
	}
	// sign_type says RSA but the signature is RSA2 (and the string differs too).
	p.Set("sign_type", "RSA")
	if err := VerifyParams(pub, p); !errors.Is(err, ErrSignature) {
		t.Errorf("mismatched sign_type: %v", err)
	}
	// Unsigned request.
	p.Del("sign")
	if err := VerifyParams(pub, p); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "no signature") {
		t.Errorf("unsigned: %v", err)
	}
}

// TestSignVerifyProperty: for random parameter maps — keys from a fixed set that includes
// sign and sign_type, values with unicode, '&', '=', '+', '%', spaces, new lines and empty
// ones — a KeySigner signature over SignParams always verifies with VerifyParams, and
// changing any included value, adding a non-empty parameter or dropping an included one
// breaks it. Adding an empty parameter does not (empty values are not signed).
func TestSignVerifyProperty(t *testing.T) {
	ctx := context.Background()
	signer := NewKeySigner(vecPrivateKey(t, "app-private-key.pem"))
	pub := signer.Public()
	keys := []string{"app_id", "method", "format", "charset", "sign_type", "sign", "timestamp", "version",
		"notify_url", "app_auth_token", "biz_content", "alipay_sdk", "a", "Z", "x_y"}
	values := []string{"", "", "1", "2021000122671080", "中文测试", "a&b", "k=v", "a=b&c=d", "+", "%20", " sp ace ",
		"line\nbreak", `{"out_trade_no":"20150320010101001","subject":"可乐&雪碧"}`, "😀", "\t", "=", "&"}
	rng := rand.New(rand.NewPCG(20240513, 1))
	n := 150
	if testing.Short() {
		n = 30
	}
	for i := range n {
		p := url.Values{}
		for _, k := range keys {
			if rng.IntN(3) == 0 {
				continue
			}
			switch k {
			case "sign_type":
				p.Set(k, []string{"RSA2", "RSA", ""}[rng.IntN(3)])
			default:
				p.Set(k, values[rng.IntN(len(values))])
			}
		}
		st := SignType(p.Get("sign_type"))
		if st == "" {
			st = RSA2
		}
		sig, err := SignParams(ctx, signer, st, p)
		if err != nil {
			t.Fatal(err)
		}
		p.Set("sign", sig)
		if err := VerifyParams(pub, p); err != nil {
			t.Fatalf("case %d: %v\nparams %v", i, err, p)
		}
		for k := range p {
			if k == "sign" || p.Get(k) == "" {
				continue
			}
			changed := cloneValues(p)
			changed.Set(k, p.Get(k)+"x")
			if VerifyParams(pub, changed) == nil {
				t.Fatalf("case %d: changing %s still verifies", i, k)
			}
			dropped := cloneValues(p)
			dropped.Del(k)
			if VerifyParams(pub, dropped) == nil {
				t.Fatalf("case %d: dropping %s still verifies", i, k)
			}
		}
		added := cloneValues(p)
		added.Set("zz_extra", "1")
		if VerifyParams(pub, added) == nil {
			t.Fatalf("case %d: an added parameter still verifies", i)
		}
		emptyAdded := cloneValues(p)
		emptyAdded.Set("zz_empty", "")
		if err := VerifyParams(pub, emptyAdded); err != nil {
			t.Fatalf("case %d: an added empty parameter broke it: %v", i, err)
		}
	}
}

// signContentOracle is the §2.1 algorithm written the slow, obvious way.
func signContentOracle(params url.Values, exclude ...string) string {
	skip := map[string]bool{}
	for _, e := range exclude {
		skip[e] = true
	}
	var pairs []string
	var ks []string
	for k := range params {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if k == "" || skip[k] {
			continue
		}
		v := ""
		for _, s := range params[k] {
			if s != "" {
				v = s
				break
			}
		}
		if v == "" {
			continue
		}
		pairs = append(pairs, k+"="+v)
	}
	return strings.Join(pairs, "&")
}

// FuzzSignContent: any form body parsed into url.Values gives a deterministic, sorted
// string-to-sign equal to the obvious algorithm, whatever the exclusions.
func FuzzSignContent(f *testing.F) {
	f.Add("app_id=2021000122671080&method=alipay.trade.query&sign_type=RSA2&sign=abc&notify_url=&biz_content=%7B%22a%22%3A1%7D", "sign")
	f.Add(string(vecRead(f, "v4_body.txt")), "sign_type")
	f.Add("a=1&a=2&a=&b=%E4%B8%AD&=x&c", "")
	f.Add("k=%zz&x=1;y=2", "x")
	f.Fuzz(func(t *testing.T, form, exclude string) {
		p, _ := url.ParseQuery(form) // a partial parse is still a map to sign
		excl := []string{"sign", exclude}
		got := SignContent(p, excl...)
		if again := SignContent(cloneValues(p), excl...); again != got {
			t.Fatalf("not deterministic: %q vs %q", got, again)
		}
		if want := signContentOracle(p, excl...); got != want {
			t.Fatalf("SignContent = %q, want %q", got, want)
		}
	})
}
