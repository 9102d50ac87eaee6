//go:build openssl

package alipay

import (
	"crypto"
	"crypto/rsa"
	"runtime"
	"sync"
	"weak"

	"github.com/f2fpay/f2fpay/alipay/opensslsign"
)

// With -tags openssl every KeySigner signs, and VerifySignature verifies, through
// libcrypto: the SDK's clients, the payment service and the sandbox all make their
// keys with NewKeySigner and check signatures with VerifySignature.
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
	verifyPKCS1v15 = opensslVerify
	signingLibrary = opensslsign.Version()
}

// opensslPublicKeys holds OpenSSL's copy of each *rsa.PublicKey that VerifySignature
// has seen, for as long as that key is alive: the callers keep theirs for the life of
// a client or an app (an Alipay public key, a certificate's key), and loading a key
// into OpenSSL costs about as much as a verification.
var opensslPublicKeys sync.Map // weak.Pointer[rsa.PublicKey] → *opensslsign.PublicKey

func opensslVerify(pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) error {
	wp := weak.Make(pub)
	v, ok := opensslPublicKeys.Load(wp)
	if !ok {
		k, err := opensslsign.NewPublicKey(pub)
		if err != nil {
			// A key crypto/rsa refuses too (under 1024 bits): it says why.
			return rsa.VerifyPKCS1v15(pub, h, digest, sig)
		}
		var loaded bool
		if v, loaded = opensslPublicKeys.LoadOrStore(wp, k); loaded {
			k.Close()
		} else {
			runtime.AddCleanup(pub, func(wp weak.Pointer[rsa.PublicKey]) {
				if v, ok := opensslPublicKeys.LoadAndDelete(wp); ok {
					v.(*opensslsign.PublicKey).Close()
				}
			}, wp)
		}
	}
	k := v.(*opensslsign.PublicKey)
	if !k.Is(pub) {
		// The key was changed in place after its first use: not worth a cache of its own.
		return rsa.VerifyPKCS1v15(pub, h, digest, sig)
	}
	err := k.VerifyPKCS1v15(h, digest, sig)
	runtime.KeepAlive(pub) // its cleanup must not close k before this returns
	return err
}
