package appkey

import (
	"testing"
)

func BenchmarkParse(b *testing.B) {
	k := keyA()
	inputs := []struct {
		name string
		in   []byte
	}{
		{"SPKI base64", []byte(b64(spkiDER(b, &k.PublicKey)))},
		{"PKCS#1 PEM", []byte(pkcs1PEM(k))},
		{"PKCS#8 PEM", []byte(pkcs8PEM(b, k))},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	a, o := keyA(), keyB()
	req := Request{
		Private: &Input{Flag: "-private", Source: "bench", Data: []byte(pkcs1PEM(a))},
		Public:  &Input{Flag: "-public", Source: "bench", Data: []byte(spkiPEM(b, &o.PublicKey))},
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := Check(req); !r.Failed() {
			b.Fatal("mismatch not found")
		}
	}
}
