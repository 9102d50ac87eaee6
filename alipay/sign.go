package alipay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// SignType names the signature algorithm of a request, response or notification.
type SignType string

const (
	// RSA2 is SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256), the default and the only type
	// Alipay issues to new apps.
	RSA2 SignType = "RSA2"
	// RSA is SHA1withRSA, kept for old apps.
	RSA SignType = "RSA"
)

func (t SignType) hash() (crypto.Hash, error) {
	switch t {
	case RSA2:
		return crypto.SHA256, nil
	case RSA:
		return crypto.SHA1, nil
	}
	return 0, fmt.Errorf("alipay: unsupported sign_type %q (use RSA2 or RSA)", string(t))
}

// digest hashes content with the algorithm of t into buf's storage where it fits.
func (t SignType) digest(content []byte) (crypto.Hash, []byte, error) {
	h, err := t.hash()
	if err != nil {
		return 0, nil, err
	}
	if h == crypto.SHA256 {
		d := sha256.Sum256(content)
		return h, d[:], nil
	}
	d := sha1.Sum(content)
	return h, d[:], nil
}

// Signer produces request signatures. The app private key never has to leave a KMS or
// HSM: implement Signer over it and pass it in Config.Signer. Sign returns the raw
// signature bytes (not base64) of content, which is the exact string-to-sign.
type Signer interface {
	Sign(ctx context.Context, signType SignType, content []byte) ([]byte, error)
}

// KeySigner signs with an in-memory RSA private key: with crypto/rsa, or, in a program
// built with -tags openssl, with OpenSSL's libcrypto, which signs three to four times
// faster on the same core (package opensslsign; docs/performance.md). The signatures
// are the same bytes either way.
type KeySigner struct {
	key  *rsa.PrivateKey
	fast crypto.Signer // OpenSSL's copy of key; nil in the default, pure-Go build
}

// Set by sign_openssl.go in builds with -tags openssl.
var (
	newFastSigner  func(*rsa.PrivateKey) crypto.Signer // nil: sign with crypto/rsa
	verifyPKCS1v15 = rsa.VerifyPKCS1v15
	signingLibrary = "crypto/rsa"
)

// SigningLibrary names what KeySigner signs with, and VerifySignature verifies with,
// in this build: "crypto/rsa", or libcrypto's version (e.g. "OpenSSL 3.0.19 27 Jan
// 2026") with -tags openssl.
func SigningLibrary() string { return signingLibrary }

// NewKeySigner returns a Signer for key. The key is precomputed once here so that every
// signature takes the CRT fast path.
func NewKeySigner(key *rsa.PrivateKey) *KeySigner {
	key.Precompute()
	s := &KeySigner{key: key}
	if newFastSigner != nil {
		s.fast = newFastSigner(key)
	}
	return s
}

// Sign implements Signer.
func (s *KeySigner) Sign(_ context.Context, signType SignType, content []byte) ([]byte, error) {
	h, d, err := signType.digest(content)
	if err != nil {
		return nil, err
	}
	if s.fast != nil {
		return s.fast.Sign(nil, d, h)
	}
	return rsa.SignPKCS1v15(nil, s.key, h, d)
}

// Public returns the public half, so callers can check which key they hold.
func (s *KeySigner) Public() *rsa.PublicKey { return &s.key.PublicKey }

// String never prints the key.
func (s *KeySigner) String() string { return "alipay.KeySigner{key: [redacted]}" }

// GoString never prints the key either, even under %#v.
func (s *KeySigner) GoString() string { return s.String() }

// ErrSignature is wrapped by every signature verification failure.
var ErrSignature = errors.New("alipay: signature verification failed")

// VerifySignature checks a base64 signature over content with pub. A missing or
// malformed signature is an error like a wrong one: nothing is ever accepted unsigned.
func VerifySignature(pub *rsa.PublicKey, signType SignType, content []byte, signature string) error {
	if signature == "" {
		return fmt.Errorf("%w: no signature", ErrSignature)
	}
	h, d, err := signType.digest(content)
	if err != nil {
		return err
	}
	var buf [1024]byte // RSA-8192 fits; Alipay's keys are 2048-bit
	if len(signature) > base64.StdEncoding.EncodedLen(len(buf)) {
		return fmt.Errorf("%w: signature is too long", ErrSignature)
	}
	n, err := base64.StdEncoding.Decode(buf[:], []byte(signature))
	if err != nil || n == 0 {
		if strings.IndexByte(signature, ' ') >= 0 {
			// The classic notification bug: the body was URL-decoded twice, or the sign was
			// put in a URL unescaped, and every '+' of the base64 became a space.
			return fmt.Errorf("%w: signature is not valid base64: it contains spaces, so a '+' was probably URL-decoded into a space (decode the form body exactly once)", ErrSignature)
		}
		return fmt.Errorf("%w: signature is not valid base64", ErrSignature)
	}
	if err := verifyPKCS1v15(pub, h, d, buf[:n]); err != nil {
		return fmt.Errorf("%w: %s signature does not match (wrong Alipay public key, or the data was altered)", ErrSignature, signType)
	}
	return nil
}

// AppendSignContent appends the string-to-sign of params to b: every pair whose key is
// not in exclude and whose key and value are both non-empty, sorted by key, joined as
// k=v with '&', values raw (decoded, not URL-encoded). Requests exclude only "sign";
// trade notifications exclude "sign" and "sign_type" (docs/alipay-protocol.md §2.1, §8.3).
//
// When a key has several values (a form that sends it twice), the first non-empty one is
// used, as a gateway that de-duplicates by key does.
func AppendSignContent(b []byte, params url.Values, exclude ...string) []byte {
	var keysBuf [48]string
	keys := keysBuf[:0]
	for k, vs := range params {
		if k == "" || slices.Contains(exclude, k) || firstNonEmpty(vs) == "" {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, firstNonEmpty(params[k])...)
	}
	return b
}

// SignContent returns AppendSignContent's string.
func SignContent(params url.Values, exclude ...string) string {
	return string(AppendSignContent(nil, params, exclude...))
}

func firstNonEmpty(vs []string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// SignParams signs params (excluding "sign") with signer and returns the base64
// signature. It is what a client does before posting, and what the sandbox uses to
// check a request.
func SignParams(ctx context.Context, signer Signer, signType SignType, params url.Values) (string, error) {
	content := AppendSignContent(make([]byte, 0, 512), params, "sign")
	sig, err := signer.Sign(ctx, signType, content)
	if err != nil {
		return "", fmt.Errorf("alipay: signing request: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyParams checks the "sign" of a request's params (as a gateway does): the string
// excludes only "sign" and includes "sign_type".
func VerifyParams(pub *rsa.PublicKey, params url.Values) error {
	st := SignType(params.Get("sign_type"))
	if st == "" {
		st = RSA2
	}
	return VerifySignature(pub, st, AppendSignContent(nil, params, "sign"), params.Get("sign"))
}
