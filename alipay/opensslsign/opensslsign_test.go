package opensslsign_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/f2fpay/f2fpay/alipay/opensslsign"
	"github.com/f2fpay/f2fpay/alipay/opensslsign/internal/memcount"
	"github.com/f2fpay/f2fpay/internal/cpustat"
)

// counting is whether libcrypto's allocations are counted (TestNoLeaks needs it). The
// counter must be installed before libcrypto allocates anything, so here.
var counting bool

func TestMain(m *testing.M) {
	counting = memcount.Install()
	os.Exit(m.Run())
}

func needOpenSSL(t testing.TB) {
	t.Helper()
	if !opensslsign.Available {
		t.Skip("built without -tags openssl")
	}
}

// testKey is one RSA key, in Go and in OpenSSL.
type testKey struct {
	goKey  *rsa.PrivateKey
	sslKey *opensslsign.Key
}

var (
	keysOnce sync.Once
	keys     []testKey
	keysErr  error
)

// testKeys are random keys of several sizes, odd ones included (the signature is then
// shorter than a whole number of 64-bit words, and its leading bytes are often zero),
// made once per test binary because RSA key generation is slow.
func testKeys(t testing.TB) []testKey {
	t.Helper()
	needOpenSSL(t)
	keysOnce.Do(func() {
		for _, bits := range []int{1024, 1031, 2048, 2048, 2049, 3072} {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				keysErr = err
				return
			}
			s, err := opensslsign.New(k)
			if err != nil {
				keysErr = fmt.Errorf("%d bits: %w", bits, err)
				return
			}
			keys = append(keys, testKey{k, s})
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

func digest(h crypto.Hash, msg []byte) []byte {
	if h == crypto.SHA1 {
		d := sha1.Sum(msg)
		return d[:]
	}
	d := sha256.Sum256(msg)
	return d[:]
}

// failer is what testing.TB and *rapid.T have in common.
type failer interface {
	Helper()
	Fatal(...any)
	Fatalf(string, ...any)
}

// sameAsCryptoRSA fails t unless OpenSSL's signature of msg is crypto/rsa's, byte for byte.
func sameAsCryptoRSA(t failer, k testKey, h crypto.Hash, msg []byte) {
	t.Helper()
	d := digest(h, msg)
	want, err := rsa.SignPKCS1v15(nil, k.goKey, h, d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.sslKey.Sign(nil, d, h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%d-bit key, %v, message %q:\nopenssl    %x\ncrypto/rsa %x", k.goKey.N.BitLen(), h, msg, got, want)
	}
}

func TestSignMatchesCryptoRSA(t *testing.T) {
	ks := testKeys(t)
	rapid.Check(t, func(rt *rapid.T) {
		k := ks[rapid.IntRange(0, len(ks)-1).Draw(rt, "key")]
		h := rapid.SampledFrom([]crypto.Hash{crypto.SHA256, crypto.SHA1}).Draw(rt, "hash")
		msg := rapid.SliceOfN(rapid.Byte(), 0, 2048).Draw(rt, "message")
		sameAsCryptoRSA(rt, k, h, msg)
	})
}

func FuzzSignMatchesCryptoRSA(f *testing.F) {
	ks := testKeys(f)
	f.Add([]byte("app_id=2021000000000001&biz_content={}&method=alipay.trade.pay"), uint8(0), false)
	f.Add([]byte{}, uint8(1), true)
	f.Add([]byte{0}, uint8(4), false)
	f.Fuzz(func(t *testing.T, msg []byte, key uint8, sha1 bool) {
		h := crypto.SHA256
		if sha1 {
			h = crypto.SHA1
		}
		sameAsCryptoRSA(t, ks[int(key)%len(ks)], h, msg)
	})
}

// TestSignConcurrently shares one key between goroutines, as the service and the
// sandbox do.
func TestSignConcurrently(t *testing.T) {
	k := testKeys(t)[2]
	d := digest(crypto.SHA256, []byte("concurrent"))
	want, _ := rsa.SignPKCS1v15(nil, k.goKey, crypto.SHA256, d)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 25 {
				got, err := k.sslKey.Sign(nil, d, crypto.SHA256)
				if err == nil && !bytes.Equal(got, want) {
					err = errors.New("a concurrent signature differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestRefuses(t *testing.T) {
	k := testKeys(t)[2]
	d := digest(crypto.SHA256, []byte("x"))
	for name, sign := range map[string]func() ([]byte, error){
		"PSS":            func() ([]byte, error) { return k.sslKey.Sign(nil, d, &rsa.PSSOptions{Hash: crypto.SHA256}) },
		"SHA-512":        func() ([]byte, error) { d := sha512.Sum512(nil); return k.sslKey.Sign(nil, d[:], crypto.SHA512) },
		"short digest":   func() ([]byte, error) { return k.sslKey.Sign(nil, d[:20], crypto.SHA256) },
		"SHA-1 too long": func() ([]byte, error) { return k.sslKey.Sign(nil, d, crypto.SHA1) },
	} {
		if sig, err := sign(); err == nil {
			t.Errorf("%s: signed (%x), want an error", name, sig)
		}
	}
	small, err := rsa.GenerateKey(rand.Reader, 512)
	if err != nil {
		t.Logf("no 512-bit key to try: %v", err) // crypto/rsa refuses to make one by default
		return
	}
	if _, err := opensslsign.New(small); err == nil {
		t.Error("New took a 512-bit key")
	}
}

func TestClose(t *testing.T) {
	k, err := opensslsign.New(testKeys(t)[0].goKey)
	if err != nil {
		t.Fatal(err)
	}
	d := digest(crypto.SHA256, nil)
	if _, err := k.Sign(nil, d, crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	k.Close()
	k.Close()
	if _, err := k.Sign(nil, d, crypto.SHA256); !errors.Is(err, opensslsign.ErrClosed) {
		t.Fatalf("Sign after Close: %v, want ErrClosed", err)
	}
}

func TestUnavailable(t *testing.T) {
	if opensslsign.Available {
		t.Skip("built with OpenSSL")
	}
	if _, err := opensslsign.New(nil); !errors.Is(err, opensslsign.ErrUnavailable) {
		t.Fatalf("New: %v, want ErrUnavailable", err)
	}
}

// TestNoLeaks counts libcrypto's live heap blocks around many signatures, many keys
// closed and many keys dropped for the garbage collector: each of them allocates in
// OpenSSL, so a leak of even one block per call would show as hundreds.
func TestNoLeaks(t *testing.T) {
	ks := testKeys(t)
	if !counting {
		t.Fatal("libcrypto's allocations are not counted: it allocated before TestMain")
	}
	k, pub := ks[0], testPublicKeys(t)[0] // the 1024-bit key: the cheapest to sign with
	round := func(n int) {
		var wg sync.WaitGroup
		for range runtime.GOMAXPROCS(0) * 2 {
			wg.Go(func() {
				for i := range n {
					sameAsCryptoRSA(t, k, crypto.SHA256, []byte{byte(i)})
					d := digest(crypto.SHA1, []byte{byte(i)})
					sig, _ := rsa.SignPKCS1v15(nil, k.goKey, crypto.SHA1, d)
					sameVerdict(t, k, pub, crypto.SHA1, d, sig)
					sig[i%len(sig)]++ // a wrong signature fills OpenSSL's error queue
					sameVerdict(t, k, pub, crypto.SHA1, d, sig)
					closed, err := opensslsign.New(k.goKey)
					if err != nil {
						t.Error(err)
						return
					}
					closed.Close()
					opensslsign.New(k.goKey) // dropped: freed by its cleanup
					closedPub, err := opensslsign.NewPublicKey(&k.goKey.PublicKey)
					if err != nil {
						t.Error(err)
						return
					}
					closedPub.Close()
					opensslsign.NewPublicKey(&k.goKey.PublicKey) // dropped
				}
			})
		}
		wg.Wait()
		settle()
	}
	round(20) // OpenSSL's caches, each thread's error queue, the key's blinding
	before := memcount.Live()
	const n = 300
	round(n)
	after := memcount.Live()
	t.Logf("libcrypto's live blocks: %d before, %d after %d rounds of sign, verify (a valid and a wrong signature), New and NewPublicKey with Close and dropped, on %d goroutines",
		before, after, n, runtime.GOMAXPROCS(0)*2)
	// A leak of one block per call would be thousands. The slack is for threads the Go
	// runtime starts during the run: OpenSSL gives each thread that calls it an error
	// queue and random generators of its own, kept until the thread exits.
	calls := n * runtime.GOMAXPROCS(0) * 2
	if grown := after - before; grown > int64(calls/8) {
		t.Fatalf("libcrypto holds %d more blocks after %d rounds: a leak", grown, calls)
	}
}

// settle runs the garbage collector until the dropped keys' cleanups have run.
func settle() {
	last := int64(-1)
	for range 50 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if live := memcount.Live(); live == last {
			return
		} else {
			last = live
		}
	}
}

// BenchmarkSign compares crypto/rsa and OpenSSL in one run, on one core and on all.
// Built with GOEXPERIMENT=boringcrypto, crypto-rsa is BoringSSL's.
func BenchmarkSign(b *testing.B) {
	k := testKeys(b)[2] // RSA-2048
	k.goKey.Precompute()
	d := digest(crypto.SHA256, []byte("app_id=2021000000000001&biz_content={}&method=alipay.trade.pay"))
	for _, impl := range []struct {
		name string
		sign func() ([]byte, error)
	}{
		{"crypto-rsa", func() ([]byte, error) { return rsa.SignPKCS1v15(nil, k.goKey, crypto.SHA256, d) }},
		{"openssl", func() ([]byte, error) { return k.sslKey.Sign(nil, d, crypto.SHA256) }},
	} {
		b.Run(impl.name+"/RSA2048", func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpustat.Process()
			for b.Loop() {
				if _, err := impl.sign(); err != nil {
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
					if _, err := impl.sign(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the process's CPU time per operation since since: unlike ns/op it
// holds still when other work shares the machine's cores.
func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(cpustat.Process()-since)/float64(b.N), "cpu-ns/op")
}
