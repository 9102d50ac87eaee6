package appkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Kind says whether a key is private or public.
type Kind int

const (
	Private Kind = iota + 1
	Public
)

func (k Kind) String() string {
	switch k {
	case Private:
		return "private key"
	case Public:
		return "public key"
	}
	return "unknown kind"
}

// Encoding is the ASN.1 structure a key came in.
type Encoding string

const (
	PKCS1       Encoding = "PKCS#1"      // RSAPrivateKey or RSAPublicKey
	PKCS8       Encoding = "PKCS#8"      // PrivateKeyInfo
	SPKI        Encoding = "SPKI"        // SubjectPublicKeyInfo: Alipay's one-line public keys
	Certificate Encoding = "certificate" // X.509, as in Alipay's certificate mode
)

// Armour is the text form around the ASN.1 bytes.
type Armour string

const (
	PEM    Armour = "PEM"
	Base64 Armour = "bare base64" // what Alipay's console and key tool show
	DER    Armour = "binary DER"
)

// Key is an RSA key or certificate read by Parse, with what was learnt about its form.
type Key struct {
	Kind     Kind
	Encoding Encoding
	Armour   Armour
	Label    string // PEM block type, if Armour is PEM

	Private *rsa.PrivateKey   // set if Kind is Private
	Public  *rsa.PublicKey    // always set; for a private key, its public half
	Cert    *x509.Certificate // set if Encoding is Certificate

	// Notes are remarks about the form that do not stop the key from being read but
	// may stop other tools from reading it (a wrong PEM label, lost line breaks, ...).
	Notes []string
}

// Bits returns the modulus size.
func (k *Key) Bits() int { return k.Public.N.BitLen() }

// Fingerprint returns a short fingerprint of the public key: the first 8 bytes of the
// SHA-256 of its SubjectPublicKeyInfo, so a private key and its public half have the same
// fingerprint whatever form each came in.
func (k *Key) Fingerprint() string { return Fingerprint(k.Public) }

// Fingerprint returns the short fingerprint of pub (see Key.Fingerprint).
func Fingerprint(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // cannot happen for an RSA key
		return "sha256:?"
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// Matches reports whether k and other hold the same public key, that is whether one is
// the private key of the other (or both are the same key).
func (k *Key) Matches(other *Key) bool { return k.Public.Equal(other.Public) }

// Describe says in one line what the key is; it never includes key material.
func (k *Key) Describe() string {
	var b strings.Builder
	switch {
	case k.Encoding == Certificate:
		b.WriteString("X.509 certificate holding an RSA public key")
	case k.Kind == Private:
		fmt.Fprintf(&b, "RSA private key, %s", k.Encoding)
	default:
		fmt.Fprintf(&b, "RSA public key, %s", k.Encoding)
	}
	if k.Armour == PEM {
		fmt.Fprintf(&b, ", PEM (\"BEGIN %s\")", k.Label)
	} else {
		fmt.Fprintf(&b, ", %s", k.Armour)
	}
	fmt.Fprintf(&b, ", %d bits, fingerprint %s", k.Bits(), k.Fingerprint())
	return b.String()
}

// Parse reads one RSA key or certificate in any form Alipay's tools, the public SDKs and
// OpenSSL hand out: PEM (PKCS#1 "RSA PRIVATE KEY", PKCS#8 "PRIVATE KEY", "PUBLIC KEY",
// "RSA PUBLIC KEY", "CERTIFICATE"), bare base64 of the same structures (Alipay's console
// and key tool show keys as one base64 line), or binary DER. It also recovers from the
// damage copy and paste does — PEM joined onto one line, "\n" escapes from JSON or
// environment variables, a label that does not fit the content, missing base64 padding —
// and records each repair in Key.Notes. Errors say what the input looked like and never
// quote it, because it may be a private key.
func Parse(data []byte) (*Key, error) {
	text := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(text) == 0 {
		return nil, errors.New("it is empty")
	}
	if bytes.Contains(text, []byte("-----BEGIN")) {
		return parsePEM(text)
	}
	if text[0] == 0x30 && !isBase64Text(text) { // an ASN.1 SEQUENCE: binary DER
		// Binary DER is read as it came (less a BOM's bytes only if it had none of its
		// own): trimming "whitespace" would cut a DER whose last byte happens to be
		// 0x0a or 0x20 — about one random key in 40.
		raw := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if len(raw) > 0 && raw[0] == 0x30 {
			text = raw
		}
		k, err := parseDER(text)
		if err != nil {
			return nil, err
		}
		k.Armour = DER
		return k, nil
	}
	var notes []string
	if bytes.Contains(text, []byte(`\n`)) {
		text = bytes.ReplaceAll(text, []byte(`\n`), nil)
		notes = append(notes, `it contained "\n" escapes (as left by JSON or an environment variable); they were ignored`)
	}
	der, note, err := decodeBase64(text)
	if err != nil {
		return nil, err
	}
	if note != "" {
		notes = append(notes, note)
	}
	if len(der) < 64 {
		return nil, fmt.Errorf("it is far too short to be a key (%d characters; a 2048-bit public key is 392 characters of base64 and a private key about 1600) — is this the right file or value?", len(text))
	}
	k, err := parseDER(der)
	if err != nil {
		return nil, err
	}
	k.Armour = Base64
	k.Notes = append(notes, k.Notes...)
	return k, nil
}

// pemTypes are the PEM block types that carry a key or certificate; others (such as
// "EC PARAMETERS" or OpenSSL's "Bag Attributes" text) are skipped.
var pemTypes = map[string]bool{
	"RSA PRIVATE KEY": true, "PRIVATE KEY": true, "ENCRYPTED PRIVATE KEY": true,
	"PUBLIC KEY": true, "RSA PUBLIC KEY": true, "CERTIFICATE": true,
	"EC PRIVATE KEY": true, "OPENSSH PRIVATE KEY": true, "CERTIFICATE REQUEST": true,
	"NEW CERTIFICATE REQUEST": true, "DSA PRIVATE KEY": true,
}

// joinedPEM matches a PEM block whose line breaks were lost or turned into spaces.
var joinedPEM = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s\\n]*?)-----END ([A-Z0-9 ]+)-----`)

func parsePEM(text []byte) (*Key, error) {
	var notes []string
	var blocks []*pem.Block
	for rest := text; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if pemTypes[b.Type] {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) == 0 && bytes.Contains(text, []byte(`\n`)) {
		unescaped := bytes.ReplaceAll(text, []byte(`\n`), []byte("\n"))
		for rest := unescaped; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if pemTypes[b.Type] {
				blocks = append(blocks, b)
			}
		}
		if len(blocks) > 0 {
			notes = append(notes, `its line breaks were written as "\n" escapes (as left by JSON or an environment variable); tools that read PEM need real line breaks`)
		}
	}
	if len(blocks) == 0 {
		m := joinedPEM.FindSubmatch(text)
		if m == nil {
			return nil, errors.New("it has a -----BEGIN line but no complete PEM block: check that the BEGIN and END lines are both there, each with five dashes on both sides, and that nothing was cut off")
		}
		if string(m[1]) != string(m[3]) {
			return nil, fmt.Errorf("its PEM lines do not pair up: BEGIN %s but END %s", m[1], m[3])
		}
		body := bytes.ReplaceAll(m[2], []byte(`\n`), nil)
		der, _, err := decodeBase64(body)
		if err != nil {
			return nil, fmt.Errorf("its PEM body is broken: %v", err)
		}
		blocks = append(blocks, &pem.Block{Type: string(m[1]), Bytes: der})
		notes = append(notes, "its PEM lines were joined into one (the line breaks were lost, e.g. in an environment variable or a web form); most tools, f2fpay's configuration included, need the line breaks back — or use the bare base64 body instead")
	}
	b := blocks[0]
	if len(blocks) > 1 {
		notes = append(notes, fmt.Sprintf("it holds %d PEM blocks; only the first (%s) was read", len(blocks), b.Type))
	}
	switch b.Type {
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("it is a private key encrypted with a passphrase; Alipay SDKs need it unencrypted: run `openssl pkey -in FILE -out plain.pem` and keep plain.pem private (mode 0600)")
	case "OPENSSH PRIVATE KEY":
		return nil, errors.New("it is an OpenSSH private key (ssh-keygen's format), not an Alipay app key; make an app key with `f2fpay keys generate`")
	case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
		return nil, errors.New("it is a certificate signing request (CSR), not a key; in certificate mode Alipay sends back the certificate (appCertPublicKey_*.crt) — use that, or the private key the CSR was made from")
	case "DSA PRIVATE KEY":
		return nil, errors.New("it is a DSA key; Alipay app keys are RSA: make one with `f2fpay keys generate`")
	}
	if _, encrypted := b.Headers["DEK-Info"]; encrypted || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("it is a private key encrypted with a passphrase (Proc-Type: 4,ENCRYPTED); Alipay SDKs need it unencrypted: run `openssl pkey -in FILE -out plain.pem` and keep plain.pem private (mode 0600)")
	}
	k, err := parseDER(b.Bytes)
	if err != nil && b.Type == "CERTIFICATE" {
		// Alipay's root bundle (alipayRootCert.crt) holds an SM2 root that Go cannot
		// read; look for the first certificate that can be read before giving up.
		skipped := 1
		for _, next := range blocks[1:] {
			if next.Type != "CERTIFICATE" {
				continue
			}
			if k2, err2 := parseDER(next.Bytes); err2 == nil {
				k, err, b = k2, nil, next
				notes = append(notes, fmt.Sprintf("skipped %d certificate(s) that are not RSA (such as the SM2 root in Alipay's alipayRootCert.crt)", skipped))
				break
			}
			skipped++
		}
	}
	if err != nil {
		return nil, err
	}
	k.Armour = PEM
	k.Label = b.Type
	if want := labelFor(k); want != b.Type {
		notes = append(notes, fmt.Sprintf("its PEM label says %q but the content is %s %s; strict readers (OpenSSL, PHP, Java) reject such a file — the label should be %q", b.Type, k.Encoding, k.Kind, want))
	}
	k.Notes = append(notes, k.Notes...)
	return k, nil
}

// labelFor returns the PEM type that fits the key's structure.
func labelFor(k *Key) string {
	switch {
	case k.Encoding == Certificate:
		return "CERTIFICATE"
	case k.Kind == Private && k.Encoding == PKCS1:
		return "RSA PRIVATE KEY"
	case k.Kind == Private:
		return "PRIVATE KEY"
	case k.Encoding == PKCS1:
		return "RSA PUBLIC KEY"
	}
	return "PUBLIC KEY"
}

func isBase64Text(b []byte) bool {
	for _, c := range b {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '=', c == '-', c == '_', c == '\\',
			c == ' ', c == '\t', c == '\r', c == '\n':
		default:
			return false
		}
	}
	return true
}

// decodeBase64 decodes b with white space removed, accepting missing padding and the
// URL-safe alphabet, and says so in note when it had to.
func decodeBase64(b []byte) (der []byte, note string, err error) {
	clean := bytes.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, b)
	s := string(clean)
	if der, err := base64.StdEncoding.DecodeString(s); err == nil {
		return der, "", nil
	}
	if der, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil {
		return der, "its base64 had no '=' padding at the end (some tools strip it); it was read anyway", nil
	}
	if der, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil {
		return der, "it is in URL-safe base64 ('-' and '_' instead of '+' and '/'); Alipay and most SDKs expect standard base64", nil
	}
	for i, c := range clean {
		if !isBase64Text([]byte{c}) || c == '\\' {
			return nil, "", fmt.Errorf("it is neither a PEM block nor base64: character %d is not a base64 character (is this the right file or value?)", i+1)
		}
	}
	return nil, "", fmt.Errorf("it looks like base64 but does not decode (%d characters; a 2048-bit public key is 392 characters and a private key about 1600) — was it cut off or mixed with other text?", len(clean))
}

// parseDER identifies the ASN.1 structure. The order matters: a PKCS#8 or SPKI
// structure never parses as PKCS#1, so trying the wrapped forms first loses nothing.
func parseDER(der []byte) (*Key, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, notRSA("private key", k)
		}
		return &Key{Kind: Private, Encoding: PKCS8, Private: rk, Public: &rk.PublicKey}, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return &Key{Kind: Private, Encoding: PKCS1, Private: k, Public: &k.PublicKey}, nil
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, notRSA("public key", k)
		}
		return &Key{Kind: Public, Encoding: SPKI, Public: rk}, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return &Key{Kind: Public, Encoding: PKCS1, Public: k}, nil
	}
	if c, err := x509.ParseCertificate(der); err == nil {
		rk, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, notRSA("certificate", c.PublicKey)
		}
		return &Key{Kind: Public, Encoding: Certificate, Public: rk, Cert: c}, nil
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return nil, errors.New("it is an EC private key; Alipay app keys are RSA (sign type RSA2 = SHA256withRSA): make one with `f2fpay keys generate`")
	}
	if declared, ok := asn1Length(der); ok && declared > len(der) {
		return nil, fmt.Errorf("it is cut off: its structure says %d bytes but only %d are there — copy the whole key again", declared, len(der))
	}
	return nil, fmt.Errorf("it decodes to %d bytes that are not an RSA key or certificate in any form Alipay uses (PKCS#1, PKCS#8, SPKI, X.509) — is this the right file or value?", len(der))
}

// notRSA explains a key of the wrong algorithm. Alipay's SM2 keys cannot be parsed by
// Go at all and end up in parseDER's generic error instead.
func notRSA(what string, k any) error {
	alg := fmt.Sprintf("%T", k)
	switch k.(type) {
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		alg = "ECDSA"
	case ed25519.PrivateKey, ed25519.PublicKey:
		alg = "Ed25519"
	}
	return fmt.Errorf("it is an %s %s, not RSA; Alipay app keys are RSA (sign type RSA2 = SHA256withRSA): make one with `f2fpay keys generate`", alg, what)
}

// asn1Length returns the total length an outer DER SEQUENCE declares, header included.
func asn1Length(der []byte) (int, bool) {
	if len(der) < 2 || der[0] != 0x30 {
		return 0, false
	}
	l := int(der[1])
	if l < 0x80 {
		return 2 + l, true
	}
	n := l & 0x7f
	if n == 0 || n > 3 || len(der) < 2+n {
		return 0, false
	}
	v := 0
	for _, c := range der[2 : 2+n] {
		v = v<<8 | int(c)
	}
	return 2 + n + v, true
}
