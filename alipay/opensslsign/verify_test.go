package opensslsign_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"math/big"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/f2fpay/f2fpay/alipay/opensslsign"
	"github.com/f2fpay/f2fpay/internal/cpustat"
)

// sameVerdict fails t unless OpenSSL and crypto/rsa agree on sig: both accept it, or
// both refuse it. It returns whether they accepted it.
func sameVerdict(t failer, k testKey, pub *opensslsign.PublicKey, h crypto.Hash, d, sig []byte) bool {
	t.Helper()
	goErr := rsa.VerifyPKCS1v15(&k.goKey.PublicKey, h, d, sig)
	sslErr := pub.VerifyPKCS1v15(h, d, sig)
	if (goErr == nil) != (sslErr == nil) {
		t.Fatalf("%d-bit key, %v, signature %x: crypto/rsa says %v, OpenSSL says %v", k.goKey.N.BitLen(), h, sig, goErr, sslErr)
	}
	return goErr == nil
}

var (
	publicKeysOnce sync.Once
	publicKeys     []*opensslsign.PublicKey
	publicKeysErr  error
)

// testPublicKeys are the public halves of testKeys, in OpenSSL.
func testPublicKeys(t testing.TB) []*opensslsign.PublicKey {
	t.Helper()
	ks := testKeys(t)
	publicKeysOnce.Do(func() {
		for _, k := range ks {
			p, err := opensslsign.NewPublicKey(&k.goKey.PublicKey)
			if err != nil {
				publicKeysErr = err
				return
			}
			publicKeys = append(publicKeys, p)
		}
	})
	if publicKeysErr != nil {
		t.Fatal(publicKeysErr)
	}
	return publicKeys
}

// TestVerifyMatchesCryptoRSA: valid signatures, and signatures with a byte changed, of
// another message, by another key, cut short or made longer.
func TestVerifyMatchesCryptoRSA(t *testing.T) {
	ks, pubs := testKeys(t), testPublicKeys(t)
	rapid.Check(t, func(rt *rapid.T) {
		i := rapid.IntRange(0, len(ks)-1).Draw(rt, "key")
		h := rapid.SampledFrom([]crypto.Hash{crypto.SHA256, crypto.SHA1}).Draw(rt, "hash")
		msg := rapid.SliceOfN(rapid.Byte(), 0, 512).Draw(rt, "message")
		d := digest(h, msg)
		sig, err := rsa.SignPKCS1v15(nil, ks[i].goKey, h, d)
		if err != nil {
			rt.Fatal(err)
		}
		if !sameVerdict(rt, ks[i], pubs[i], h, d, sig) {
			rt.Fatal("a valid signature was refused")
		}
		var bad []byte
		switch rapid.IntRange(0, 4).Draw(rt, "damage") {
		case 0:
			bad = bytes.Clone(sig)
			bad[rapid.IntRange(0, len(bad)-1).Draw(rt, "at")] ^= rapid.ByteRange(1, 255).Draw(rt, "xor")
		case 1:
			bad, _ = rsa.SignPKCS1v15(nil, ks[i].goKey, h, digest(h, append(msg, 0)))
		case 2:
			other := ks[(i+1)%len(ks)].goKey
			bad, _ = rsa.SignPKCS1v15(nil, other, h, d)
		case 3:
			bad = sig[rapid.IntRange(1, len(sig)).Draw(rt, "cut"):]
		case 4:
			bad = append([]byte{0}, sig...)
		}
		if sameVerdict(rt, ks[i], pubs[i], h, d, bad) {
			rt.Fatalf("a damaged signature was accepted")
		}
	})
}

// TestVerifyForgedEncodings signs, with the raw private key, PKCS#1 v1.5 blocks that
// are almost right — the kinds that lenient parsers have accepted (Bleichenbacher's
// 2006 forgery, parameters left out, garbage after the digest) — and checks that
// OpenSSL refuses exactly what crypto/rsa refuses.
func TestVerifyForgedEncodings(t *testing.T) {
	k, pub := testKeys(t)[2], testPublicKeys(t)[2]
	size := k.goKey.Size()
	d := digest(crypto.SHA256, []byte("forged"))
	sha256Prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	noNull := []byte{0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20}
	block := func(bt byte, ffs int, tail ...[]byte) []byte {
		t := bytes.Join(tail, nil)
		em := []byte{0, bt}
		em = append(em, bytes.Repeat([]byte{0xff}, ffs)...)
		em = append(em, 0)
		em = append(em, t...)
		for len(em) < size { // garbage at the end
			em = append(em, 0x5a)
		}
		return em[:size]
	}
	full := size - 3 - len(sha256Prefix) - len(d)
	for _, c := range []struct {
		name  string
		em    []byte
		valid bool
	}{
		{"the right block", block(1, full, sha256Prefix, d), true},
		{"block type 2", block(2, full, sha256Prefix, d), false},
		{"7 bytes of padding and garbage after", block(1, 7, sha256Prefix, d), false},
		{"garbage after the digest", block(1, full-4, sha256Prefix, d), false},
		{"parameters left out", block(1, full+2, noNull, d), false},
		{"bare digest", block(1, full+len(sha256Prefix), d), false},
	} {
		m := new(big.Int).SetBytes(c.em)
		s := new(big.Int).Exp(m, k.goKey.D, k.goKey.N) // variable time: a test key
		sig := s.FillBytes(make([]byte, size))
		if got := sameVerdict(t, k, pub, crypto.SHA256, d, sig); got != c.valid {
			t.Errorf("%s: accepted = %v, want %v", c.name, got, c.valid)
		}
	}
}

func FuzzVerifyMatchesCryptoRSA(f *testing.F) {
	ks, pubs := testKeys(f), testPublicKeys(f)
	f.Add([]byte("app_id=2021000000000001"), uint8(2), false, []byte{})
	f.Add([]byte{}, uint8(0), true, []byte{0, 0, 1})
	f.Add([]byte("x"), uint8(3), false, bytes.Repeat([]byte{0xff}, 300))
	f.Fuzz(func(t *testing.T, msg []byte, key uint8, sha1 bool, edit []byte) {
		h := crypto.SHA256
		if sha1 {
			h = crypto.SHA1
		}
		i := int(key) % len(ks)
		d := digest(h, msg)
		sig, err := rsa.SignPKCS1v15(nil, ks[i].goKey, h, d)
		if err != nil {
			t.Fatal(err)
		}
		// The edit is XORed into the valid signature; what goes past its end is appended.
		for j, b := range edit {
			if j < len(sig) {
				sig[j] ^= b
			} else {
				sig = append(sig, b)
			}
		}
		sameVerdict(t, ks[i], pubs[i], h, d, sig)
	})
}

func TestPublicKeyIs(t *testing.T) {
	k := testKeys(t)[2]
	pub := testPublicKeys(t)[2]
	copied := k.goKey.PublicKey
	copied.N = new(big.Int).Set(k.goKey.N)
	if !pub.Is(&copied) {
		t.Fatal("Is refuses an equal key")
	}
	copied.N.Add(copied.N, big.NewInt(2))
	if pub.Is(&copied) {
		t.Fatal("Is takes a changed key")
	}
	if pub.Is(&testKeys(t)[3].goKey.PublicKey) {
		t.Fatal("Is takes another key")
	}
}

// BenchmarkVerify compares crypto/rsa and OpenSSL in one run.
func BenchmarkVerify(b *testing.B) {
	k, pub := testKeys(b)[2], testPublicKeys(b)[2] // RSA-2048
	d := digest(crypto.SHA256, []byte("app_id=2021000000000001&biz_content={}&method=alipay.trade.pay"))
	sig, _ := rsa.SignPKCS1v15(nil, k.goKey, crypto.SHA256, d)
	for _, impl := range []struct {
		name   string
		verify func() error
	}{
		{"crypto-rsa", func() error { return rsa.VerifyPKCS1v15(&k.goKey.PublicKey, crypto.SHA256, d, sig) }},
		{"openssl", func() error { return pub.VerifyPKCS1v15(crypto.SHA256, d, sig) }},
	} {
		b.Run(impl.name+"/RSA2048", func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpustat.Process()
			for b.Loop() {
				if err := impl.verify(); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
		b.Run(impl.name+"/RSA2048-parallel", func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpustat.Process()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := impl.verify(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, cpu)
		})
	}
}
