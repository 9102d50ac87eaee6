//go:build openssl && cgo

package opensslsign

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "opensslsign needs OpenSSL 3 (libssl-dev 3.x)"
#endif

// An error is a code of OpenSSL's thread-local error queue. Each call reads and clears
// the queue on the thread that filled it: a goroutine may run its next cgo call on
// another thread.
static unsigned long f2f_last_error(void) {
	unsigned long e = ERR_peek_last_error();
	ERR_clear_error();
	return e == 0 ? 1 : e;
}

typedef struct {
	EVP_PKEY *key;
	unsigned long err;
} f2f_load_result;

// f2f_load parses a PKCS#1 RSAPrivateKey and wipes the DER afterwards.
static f2f_load_result f2f_load(unsigned char *der, long len) {
	f2f_load_result r = {0, 0};
	const unsigned char *p = der;
	r.key = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len);
	if (r.key == NULL) {
		r.err = f2f_last_error();
	}
	OPENSSL_cleanse(der, (size_t)len);
	return r;
}

typedef struct {
	size_t siglen;
	unsigned long err;
} f2f_sign_result;

// f2f_sign makes a PKCS#1 v1.5 signature of a digest. The EVP_PKEY is shared by every
// goroutine; each call has a context of its own, which OpenSSL 3 requires and allows.
static f2f_sign_result f2f_sign(EVP_PKEY *key, int sha1, const unsigned char *digest, size_t dlen, unsigned char *sig, size_t siglen) {
	f2f_sign_result r = {siglen, 0};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx == NULL
		|| EVP_PKEY_sign_init(ctx) <= 0
		|| EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0
		|| EVP_PKEY_CTX_set_signature_md(ctx, sha1 ? EVP_sha1() : EVP_sha256()) <= 0
		|| EVP_PKEY_sign(ctx, sig, &r.siglen, digest, dlen) <= 0) {
		r.err = f2f_last_error();
	}
	EVP_PKEY_CTX_free(ctx);
	return r;
}

// f2f_load_public parses a PKCS#1 RSAPublicKey.
static f2f_load_result f2f_load_public(const unsigned char *der, long len) {
	f2f_load_result r = {0, 0};
	const unsigned char *p = der;
	r.key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	if (r.key == NULL) {
		r.err = f2f_last_error();
	}
	return r;
}

// f2f_verify returns 1 when sig is a valid PKCS#1 v1.5 signature of digest, and an
// OpenSSL error code otherwise (a wrong signature is one too). The error queue is
// cleared either way: a wrong signature fills it, on whichever thread this ran.
static unsigned long f2f_verify(EVP_PKEY *key, int sha1, const unsigned char *digest, size_t dlen, const unsigned char *sig, size_t siglen) {
	unsigned long r = 1;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx == NULL
		|| EVP_PKEY_verify_init(ctx) <= 0
		|| EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0
		|| EVP_PKEY_CTX_set_signature_md(ctx, sha1 ? EVP_sha1() : EVP_sha256()) <= 0
		|| EVP_PKEY_verify(ctx, sig, siglen, digest, dlen) != 1) {
		r = f2f_last_error();
		if (r == 1) {
			r = 2; // never 1: that means valid
		}
	}
	EVP_PKEY_CTX_free(ctx);
	return r;
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"sync"
	"unsafe"
)

// Available reports whether this build signs with OpenSSL.
const Available = true

// Key is an RSA private key held by OpenSSL. It implements crypto.Signer for PKCS#1
// v1.5 over SHA-256 and SHA-1 digests, and is safe for concurrent use.
//
// Its OpenSSL memory is freed by Close, or when the Key becomes unreachable.
type Key struct {
	mu   sync.RWMutex // Sign holds it shared, Close exclusively: no use after free
	pkey *C.EVP_PKEY
	free runtime.Cleanup // frees pkey if the Key is dropped without Close
	pub  *rsa.PublicKey
	size int // signature length in bytes
}

// New copies key into OpenSSL. The key is validated first, as crypto/rsa does before
// signing, so that the two never disagree on which keys they sign with.
func New(key *rsa.PrivateKey) (*Key, error) {
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("opensslsign: %w", err)
	}
	if key.N.BitLen() < 1024 {
		// crypto/rsa refuses these by default (GODEBUG rsa1024min).
		return nil, fmt.Errorf("opensslsign: %d-bit RSA keys are insecure", key.N.BitLen())
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	cder := C.CBytes(der)
	clear(der)
	r := C.f2f_load((*C.uchar)(cder), C.long(len(der)))
	C.free(cder) // f2f_load has wiped it
	if r.key == nil {
		return nil, fmt.Errorf("opensslsign: loading the key: %s", errorString(r.err))
	}
	k := &Key{pkey: r.key, pub: &key.PublicKey, size: (key.N.BitLen() + 7) / 8}
	k.free = runtime.AddCleanup(k, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, r.key)
	return k, nil
}

// Public returns the *rsa.PublicKey of the key.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign signs digest, a SHA-256 or SHA-1 hash named by opts.HashFunc(), with PKCS#1 v1.5
// padding, exactly as rsa.SignPKCS1v15 does. The random source is not used: OpenSSL
// blinds the private-key operation with its own.
func (k *Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, pss := opts.(*rsa.PSSOptions); pss {
		return nil, errors.New("opensslsign: PSS is not supported")
	}
	h := opts.HashFunc()
	sha1, err := hashArg(h, digest)
	if err != nil {
		return nil, err
	}
	sig := make([]byte, k.size)
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.pkey == nil {
		return nil, ErrClosed
	}
	r := C.f2f_sign(k.pkey, sha1, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)))
	if r.err != 0 {
		return nil, fmt.Errorf("opensslsign: signing: %s", errorString(r.err))
	}
	return sig[:r.siglen], nil
}

// Close frees the key's OpenSSL memory now. Sign fails with ErrClosed afterwards.
func (k *Key) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pkey != nil {
		k.free.Stop()
		C.EVP_PKEY_free(k.pkey)
		k.pkey = nil
	}
	return nil
}

// Version is the version of the libcrypto the program runs with, e.g. "OpenSSL 3.0.19 27 Jan 2026".
func Version() string { return C.GoString(C.OpenSSL_version(C.OPENSSL_VERSION)) }

// hashArg checks that digest is a SHA-256 or SHA-1 hash, as h says, and tells f2f_sign
// and f2f_verify which.
func hashArg(h crypto.Hash, digest []byte) (sha1 C.int, err error) {
	switch h {
	case crypto.SHA256:
	case crypto.SHA1:
		sha1 = 1
	default:
		return 0, fmt.Errorf("opensslsign: unsupported hash %v (SHA-256 or SHA-1)", h)
	}
	if len(digest) != h.Size() {
		return 0, fmt.Errorf("opensslsign: digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	return sha1, nil
}

// PublicKey is an RSA public key held by OpenSSL, to verify PKCS#1 v1.5 signatures
// over SHA-256 and SHA-1 digests. It is safe for concurrent use. Its OpenSSL memory is
// freed by Close, or when the PublicKey becomes unreachable.
type PublicKey struct {
	mu   sync.RWMutex
	pkey *C.EVP_PKEY
	free runtime.Cleanup
	n    *big.Int // a copy of the modulus, so that Is can tell a key changed in place
	e    int
	size int
}

// NewPublicKey copies pub into OpenSSL. Keys under 1024 bits are refused, as
// crypto/rsa refuses them by default.
func NewPublicKey(pub *rsa.PublicKey) (*PublicKey, error) {
	if pub.N == nil || pub.N.BitLen() < 1024 || pub.E < 2 {
		return nil, errors.New("opensslsign: the RSA public key is under 1024 bits or invalid")
	}
	der := x509.MarshalPKCS1PublicKey(pub)
	r := C.f2f_load_public((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	if r.key == nil {
		return nil, fmt.Errorf("opensslsign: loading the public key: %s", errorString(r.err))
	}
	k := &PublicKey{pkey: r.key, n: new(big.Int).Set(pub.N), e: pub.E, size: (pub.N.BitLen() + 7) / 8}
	k.free = runtime.AddCleanup(k, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, r.key)
	return k, nil
}

// Is reports whether k holds pub, as it is now.
func (k *PublicKey) Is(pub *rsa.PublicKey) bool {
	return pub.E == k.e && pub.N != nil && pub.N.Cmp(k.n) == 0
}

// VerifyPKCS1v15 returns nil only if sig is a valid PKCS#1 v1.5 signature of digest, a
// SHA-256 or SHA-1 hash as h says: what rsa.VerifyPKCS1v15 accepts, and nothing else.
func (k *PublicKey) VerifyPKCS1v15(h crypto.Hash, digest, sig []byte) error {
	sha1, err := hashArg(h, digest)
	if err != nil {
		return err
	}
	if len(sig) != k.size {
		// crypto/rsa's rule; OpenSSL would also take a shorter one, left-padded.
		return ErrVerification
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.pkey == nil {
		return ErrClosed
	}
	if C.f2f_verify(k.pkey, sha1, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)),
		(*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig))) != 1 {
		return ErrVerification
	}
	return nil
}

// Close frees the key's OpenSSL memory now. VerifyPKCS1v15 fails with ErrClosed afterwards.
func (k *PublicKey) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pkey != nil {
		k.free.Stop()
		C.EVP_PKEY_free(k.pkey)
		k.pkey = nil
	}
	return nil
}

func errorString(code C.ulong) string {
	var buf [256]C.char
	C.ERR_error_string_n(code, &buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}
