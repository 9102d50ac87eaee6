//go:build !openssl

package opensslsign

import (
	"crypto"
	"crypto/rsa"
	"io"
)

// Available reports whether this build signs with OpenSSL.
const Available = false

// Key is an RSA private key held by OpenSSL. In this build there is none: New always
// fails.
type Key struct{}

// New returns ErrUnavailable: this build has no OpenSSL.
func New(*rsa.PrivateKey) (*Key, error) { return nil, ErrUnavailable }

// Version is empty: this build has no OpenSSL.
func Version() string { return "" }

// Public is nil: no Key exists in this build.
func (*Key) Public() crypto.PublicKey { return nil }

// Sign returns ErrUnavailable.
func (*Key) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, ErrUnavailable }

// Close does nothing.
func (*Key) Close() error { return nil }

// PublicKey is an RSA public key held by OpenSSL. In this build there is none:
// NewPublicKey always fails.
type PublicKey struct{}

// NewPublicKey returns ErrUnavailable: this build has no OpenSSL.
func NewPublicKey(*rsa.PublicKey) (*PublicKey, error) { return nil, ErrUnavailable }

// Is reports false.
func (*PublicKey) Is(*rsa.PublicKey) bool { return false }

// VerifyPKCS1v15 returns ErrUnavailable.
func (*PublicKey) VerifyPKCS1v15(crypto.Hash, []byte, []byte) error { return ErrUnavailable }

// Close does nothing.
func (*PublicKey) Close() error { return nil }
