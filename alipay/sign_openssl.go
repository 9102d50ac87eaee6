//go:build openssl

package alipay

import (
	"crypto"
	"crypto/rsa"

	"github.com/f2fpay/f2fpay/alipay/opensslsign"
)

// With -tags openssl every KeySigner signs through libcrypto: the SDK's clients, the
// payment service and the sandbox all make their keys with NewKeySigner.
func init() {
	newFastSigner = func(key *rsa.PrivateKey) crypto.Signer {
		k, err := opensslsign.New(key)
		if err != nil {
			// Only keys that crypto/rsa refuses as well (invalid, or under 1024 bits):
			// it signs, or refuses, as in the default build.
			return nil
		}
		return k
	}
	signingLibrary = opensslsign.Version()
}
