// Package opensslsign signs RSA PKCS#1 v1.5 (Alipay's RSA2 and RSA sign types) with
// OpenSSL's libcrypto, three to four times faster than crypto/rsa on the same core.
//
// It verifies them too (PublicKey): with no allocation, and in a verified Alipay call
// about 40 µs of CPU cheaper than crypto/rsa, which rebuilds its modulus every time.
//
// It is compiled in only with the build tag openssl (and cgo, and libcrypto's headers:
// Debian's libssl-dev). Without the tag this package still builds, everywhere, and New
// returns ErrUnavailable, so a program can name it and fall back to crypto/rsa.
//
// With the tag, alipay.NewKeySigner signs through this package too: building with
// -tags openssl is the one switch that makes the SDK, the payment service and the
// sandbox sign at OpenSSL's speed. See docs/performance.md for the measurements and
// the trade-offs.
//
// Signatures are byte-identical to crypto/rsa.SignPKCS1v15's for the same key and
// digest: PKCS#1 v1.5 is deterministic, and the tests and a fuzz target hold the two
// side by side. The private-key operation is OpenSSL's, which is constant-time and
// blinded.
package opensslsign

import "errors"

// ErrUnavailable is returned by New when the program was built without the openssl tag.
var ErrUnavailable = errors.New("opensslsign: built without OpenSSL (rebuild with -tags openssl; needs cgo and libssl-dev)")

// ErrVerification is returned by PublicKey.VerifyPKCS1v15 for a signature that does
// not verify.
var ErrVerification = errors.New("opensslsign: verification error")

// ErrClosed is returned by Sign and VerifyPKCS1v15 after Close.
var ErrClosed = errors.New("opensslsign: key is closed")
