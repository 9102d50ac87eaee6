package appkey

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/f2fpay/f2fpay/alipay"
)

// Input is one key as the user gave it.
type Input struct {
	Flag   string // how the user named it, e.g. "-private"
	Source string // where it came from, e.g. "file keys/app_private_pkcs1.pem"; never the key itself
	Data   []byte
}

// Request is what Check looks at. Private and Public are the roles the user meant the
// keys for; either may be nil, and Check notices when what was given does not fit.
type Request struct {
	Private *Input
	Public  *Input
	AppID   string // optional APPID (16 digits), used to check its shape and in the advice
	Now     time.Time
}

// Severity grades a finding.
type Severity int

const (
	OK Severity = iota + 1
	Note
	Warning
	Problem
)

func (s Severity) String() string {
	switch s {
	case OK:
		return "ok"
	case Note:
		return "note"
	case Warning:
		return "warning"
	case Problem:
		return "PROBLEM"
	}
	return "?"
}

// Finding is one thing Check has to say.
type Finding struct {
	Severity Severity
	Summary  string // a few words for a Problem, used in the command's error line
	Text     string
}

// Described is an input with what Parse made of it.
type Described struct {
	Input *Input
	Key   *Key  // nil if it could not be read
	Err   error // why it could not be read
}

// Report is Check's verdict.
type Report struct {
	Inputs   []Described
	Findings []Finding
	// AppPublicKey is the one-line app public key (应用公钥) derived from the private key
	// given, if any: the line to upload to Alipay.
	AppPublicKey string
	// Match is true when a private key and a public key were both given and match.
	Match bool
}

// Failed reports whether any finding is a Problem: a mismatch, an unreadable key, keys in
// the wrong places. Scripts get exit status 1 for it.
func (r *Report) Failed() bool {
	for _, f := range r.Findings {
		if f.Severity == Problem {
			return true
		}
	}
	return false
}

func (r *Report) add(s Severity, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Severity: s, Text: fmt.Sprintf(format, args...)})
}

func (r *Report) problem(summary, format string, args ...any) {
	r.Findings = append(r.Findings, Finding{Severity: Problem, Summary: summary, Text: fmt.Sprintf(format, args...)})
}

// Summary joins the summaries of the problems found, such as "the keys do not match".
func (r *Report) Summary() string {
	var s []string
	for _, f := range r.Findings {
		if f.Severity == Problem {
			s = append(s, f.Summary)
		}
	}
	return strings.Join(s, "; ")
}

// aboutAppKey explains where the public half of a private key goes.
const aboutAppKey = "Its public half, printed below, is your app public key (应用公钥): upload it to Alipay (open.alipay.com → your app → 开发设置 → 接口加签方式) or POST it to the f2fpay sandbox's /sandbox/apps. The Alipay public key (支付宝公钥) the console then shows is a different key, Alipay's own: configure it to verify Alipay's responses."

// Check reads the inputs and says in plain words what each is and whether they fit
// together. It never includes private key material in the report.
func Check(req Request) *Report {
	r := &Report{}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	var priv, pub *Key
	var privIn, pubIn *Input
	if req.Private != nil {
		d := describe(req.Private)
		r.Inputs = append(r.Inputs, d)
		priv, privIn = d.Key, req.Private
	}
	if req.Public != nil {
		d := describe(req.Public)
		r.Inputs = append(r.Inputs, d)
		pub, pubIn = d.Key, req.Public
	}
	for _, d := range r.Inputs {
		if d.Err != nil {
			r.problem(d.Input.Flag+" is not a readable key", "%s (%s) is not a key I can read: %s", d.Input.Flag, d.Input.Source, sentence(d.Err.Error()))
		}
	}
	checkAppID(r, req.AppID)
	for _, d := range r.Inputs {
		if d.Key != nil {
			checkStrength(r, d.Input, d.Key)
			checkCert(r, d.Input, d.Key, req.Now)
			for _, n := range d.Key.Notes {
				r.add(Note, "%s: %s.", d.Input.Flag, n)
			}
		}
	}

	// Put the keys in the roles they really have, saying so when the user mixed them up.
	switch {
	case priv != nil && pub != nil && priv.Kind == Public && pub.Kind == Private:
		r.problem("the keys are swapped", "The two keys are swapped: %s is a public key and %s is a private key. Pass your private key as -private and the public key as -public; the rest of this report reads them the right way round.", privIn.Flag, pubIn.Flag)
		priv, pub = pub, priv
		privIn, pubIn = pubIn, privIn
	case priv != nil && pub != nil && priv.Kind == Private && pub.Kind == Private:
		if priv.Matches(pub) {
			r.problem(pubIn.Flag+" is a private key", "%s is a private key too — the same one as %s. Never paste a private key where a public key is expected, and never upload it anywhere. Its public half, your app public key (应用公钥), is printed below.", pubIn.Flag, privIn.Flag)
		} else {
			r.problem("both keys are private keys", "Both keys are private keys, and different ones (fingerprints %s and %s). Never paste a private key where a public key is expected. Keep the one whose public half you uploaded to Alipay.", priv.Fingerprint(), pub.Fingerprint())
		}
		pub = nil
	case priv != nil && pub != nil && priv.Kind == Public && pub.Kind == Public:
		r.problem("both keys are public keys", "Both keys are public keys, so I cannot tell which private key they belong to. %s must be your app private key (应用私钥): the file you generated and kept (f2fpay keys generate writes NAME_private_pkcs1.pem). Alipay never shows it and cannot recover it; if it is lost, generate a new pair and upload the new public key.", privIn.Flag)
		priv = nil
	case priv != nil && priv.Kind == Public:
		r.problem(privIn.Flag+" is a public key", "%s is a public key, not a private key. Your app private key (应用私钥) is the file you generated and kept (f2fpay keys generate writes NAME_private_pkcs1.pem); Alipay never shows it. If this key came from Alipay's console, it is either the app public key you uploaded or the Alipay public key (支付宝公钥) — check it with -public instead.", privIn.Flag)
		pub, pubIn = priv, privIn
		priv = nil
	case pub != nil && pub.Kind == Private:
		r.problem(pubIn.Flag+" is a private key", "%s is a private key, not a public key. Never paste a private key where a public key is expected, and never upload it to Alipay. Its public half is printed below as the app public key (应用公钥); pass the key file as -private instead.", pubIn.Flag)
		priv, privIn = pub, pubIn
		pub = nil
	}

	if priv != nil {
		r.AppPublicKey = alipay.PublicKeyBase64(priv.Public)
		checkConfigLoads(r, privIn, true)
	}
	if pub != nil {
		checkConfigLoads(r, pubIn, false)
	}

	switch {
	case priv != nil && pub != nil && priv.Matches(pub):
		r.Match = true
		what := "the public key"
		if pub.Encoding == Certificate {
			what = "the certificate's key"
		}
		r.add(OK, "The keys match: %s (%s) is the public half of the private key (%s), fingerprint %s.", what, pubIn.Flag, privIn.Flag, pub.Fingerprint())
		if pub.Encoding == Certificate {
			r.add(Note, "This certificate is your app public key certificate (应用公钥证书, appCertPublicKey_%s.crt): in certificate mode you configure it as the app certificate. The key for verifying Alipay's responses is in a different file, the Alipay public key certificate (支付宝公钥证书, alipayCertPublicKey_RSA2.crt).", appIDOr(req.AppID, "APPID"))
		} else {
			r.add(Note, "This is your app public key (应用公钥)%s: upload it to Alipay. The key you configure for verifying responses is a different one — the Alipay public key (支付宝公钥) the console shows after the upload. If you configured this key as the Alipay public key, every response will fail verification.", forApp(req.AppID))
		}
	case priv != nil && pub != nil:
		r.problem("the private key and the public key do not match", "The keys do NOT match: %s (fingerprint %s) is not the public half of %s (fingerprint %s).", pubIn.Flag, pub.Fingerprint(), privIn.Flag, priv.Fingerprint())
		r.add(Note, "%s", whoseKey(pub, pubIn))
		r.add(Note, "If %s is meant to be your app public key (应用公钥), it belongs to a different private key. The app public key of this private key is printed below: compare it with the 应用公钥 your app%s shows in the console (open.alipay.com → 开发设置 → 接口加签方式). If they differ, either upload this one (and then copy the new 支付宝公钥 into your configuration) or find the private key that belongs to the uploaded one.", pubIn.Flag, forApp(req.AppID))
	case priv != nil:
		r.add(OK, "%s is a readable app private key (应用私钥), fingerprint %s. Keep it secret; f2fpay signs requests with it.", privIn.Flag, priv.Fingerprint())
		if req.Public == nil {
			r.add(Note, "%s Pass -public to check a public key against this private key.", aboutAppKey)
		} else {
			r.add(Note, "%s", aboutAppKey)
		}
	case pub != nil:
		r.add(OK, "%s is a readable public key, fingerprint %s.", pubIn.Flag, pub.Fingerprint())
		r.add(Note, "Without your private key I cannot tell whether it is your app public key (应用公钥, which you upload) or the Alipay public key (支付宝公钥, which you configure to verify responses). Pass -private too.")
	}
	return r
}

// whoseKey guesses, for a public key that does not match the private key, whose it is.
func whoseKey(pub *Key, in *Input) string {
	if c := pub.Cert; c != nil {
		if c.IsCA {
			return fmt.Sprintf("%s is a CA certificate (%s), such as one from Alipay's root bundle (alipayRootCert.crt). The root bundle is only used to compute alipay_root_cert_sn; it never matches your private key.", in.Flag, c.Subject)
		}
		if namesAlipay(c.Subject.CommonName) || namesAlipay(strings.Join(c.Subject.Organization, " ")) {
			return fmt.Sprintf("%s is Alipay's own certificate (subject %s): the Alipay public key certificate (支付宝公钥证书, alipayCertPublicKey_RSA2.crt). That is expected not to match — configure it as the Alipay certificate, and compare your private key with your app certificate (appCertPublicKey_*.crt) instead.", in.Flag, c.Subject)
		}
		return fmt.Sprintf("%s is a certificate for %s, but for another key pair: if it is your app certificate (应用公钥证书), it was issued for a different private key than this one.", in.Flag, c.Subject)
	}
	return fmt.Sprintf("If %s is what Alipay's console shows as the Alipay public key (支付宝公钥), this is expected and nothing is wrong: you pasted Alipay's own key, which verifies Alipay's responses and notifications and never matches your private key. Configure it as the Alipay public key, not as your app key.", in.Flag)
}

// sentence ends s with a full stop unless it already ends with punctuation.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

func namesAlipay(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "alipay") || strings.Contains(s, "支付宝")
}

func checkStrength(r *Report, in *Input, k *Key) {
	switch bits := k.Bits(); {
	case bits < 1024:
		r.problem(in.Flag+" is too short", "%s is only %d bits: Go refuses to sign or verify with keys under 1024 bits, and Alipay's RSA2 needs 2048. Generate a new pair with `f2fpay keys generate`.", in.Flag, bits)
	case bits < 2048:
		r.add(Warning, "%s is %d bits, which is weak. Alipay's RSA2 sign type (SHA256withRSA) expects 2048-bit keys; %d-bit keys belong to the retired RSA (SHA1withRSA) type. Generate a new pair with `f2fpay keys generate` and upload its public key.", in.Flag, bits, bits)
	}
}

func checkCert(r *Report, in *Input, k *Key, now time.Time) {
	c := k.Cert
	if c == nil {
		return
	}
	r.add(Note, "%s: certificate subject %s, issuer %s, valid %s to %s, Alipay cert SN %s.", in.Flag, c.Subject, c.Issuer, c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly), alipay.CertSN(c))
	switch {
	case now.After(c.NotAfter):
		r.add(Warning, "%s: the certificate expired on %s; download the renewed one from Alipay's console.", in.Flag, c.NotAfter.Format(time.DateOnly))
	case now.Before(c.NotBefore):
		r.add(Warning, "%s: the certificate is not valid before %s; check the machine's clock.", in.Flag, c.NotBefore.Format(time.DateOnly))
	}
}

// checkConfigLoads makes sure the text that was just diagnosed is also accepted by the
// loader f2fpay's configuration uses; Parse repairs some copy-and-paste damage that the
// loader, like most SDKs, does not.
func checkConfigLoads(r *Report, in *Input, private bool) {
	var err error
	if private {
		_, err = alipay.ParsePrivateKey(string(in.Data))
	} else {
		_, err = alipay.ParsePublicKey(string(in.Data))
	}
	if err != nil {
		r.add(Warning, "%s can be read here, but f2fpay's configuration (and most SDKs) would reject it as written: %s. Use the files `f2fpay keys generate` writes, or the key as one line of base64.", in.Flag, strings.TrimPrefix(err.Error(), "alipay: "))
	}
}

func checkAppID(r *Report, id string) {
	if id == "" {
		return
	}
	allDigits := id != "" && strings.Trim(id, "0123456789") == ""
	switch {
	case allDigits && len(id) == 16 && strings.HasPrefix(id, "2088"):
		r.add(Warning, "-app-id %s starts with 2088: that is a partner ID (PID, 合作伙伴身份 / seller_id), not an APPID. The APPID is on the app's page in the console, usually starting with 2021 (9021 in the sandbox).", id)
	case allDigits && len(id) == 16:
	default:
		r.add(Warning, "-app-id %q does not look like an APPID: Alipay APPIDs are 16 digits, such as 2021000123456789.", id)
	}
}

func describe(in *Input) Described {
	k, err := Parse(in.Data)
	return Described{Input: in, Key: k, Err: err}
}

func forApp(id string) string {
	if id == "" {
		return ""
	}
	return " of app " + id
}

func appIDOr(id, def string) string {
	if id == "" {
		return def
	}
	return id
}

// WriteTo prints the report as plain text for a terminal.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, d := range r.Inputs {
		fmt.Fprintf(&b, "%s: %s\n", d.Input.Flag, d.Input.Source)
		if d.Key != nil {
			fmt.Fprintf(&b, "    %s\n", d.Key.Describe())
		} else {
			b.WriteString("    unreadable\n")
		}
	}
	b.WriteString("\n")
	for _, f := range r.Findings {
		writeWrapped(&b, f.Severity.String()+": ", f.Text, 96)
	}
	if r.AppPublicKey != "" {
		b.WriteString("\nApp public key (应用公钥), one line, as Alipay's console asks for it:\n\n")
		b.WriteString(r.AppPublicKey)
		b.WriteString("\n")
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// writeWrapped writes prefix and text, wrapping at width runes with continuation lines
// indented under the text.
func writeWrapped(b *strings.Builder, prefix, text string, width int) {
	indent := strings.Repeat(" ", utf8.RuneCountInString(prefix))
	b.WriteString(prefix)
	col := len(indent)
	for i, word := range strings.Fields(text) {
		n := utf8.RuneCountInString(word)
		if i > 0 {
			if col+1+n > width {
				b.WriteString("\n")
				b.WriteString(indent)
				col = len(indent)
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(word)
		col += n
	}
	b.WriteString("\n")
}
