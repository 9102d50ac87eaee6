package httpapi

import (
	"testing"
	"time"
)

// TestNonceCache: a nonce is refused while its timestamp is in the window and
// forgotten after; a cache full of live nonces refuses new ones instead of forgetting
// one early. (Each step's request is stamped at its own time.)
func TestNonceCache(t *testing.T) {
	t.Parallel()
	c := newNonceCache(3)
	now := time.Unix(1767225600, 0)
	exp := now.Add(SignatureWindow)
	for i, tc := range []struct {
		nonce string
		at    time.Time
		want  nonceResult
	}{
		{"a", now, nonceFresh},
		{"a", now, nonceReplayed},
		{"b", now, nonceFresh},
		{"c", now, nonceFresh},
		{"d", now, nonceFull}, // three live nonces: no room
		{"a", now.Add(SignatureWindow - time.Second), nonceReplayed}, // still in its window
		{"d", exp.Add(nonceBucket + time.Second), nonceFresh},        // a, b, c expired and dropped
		{"a", exp.Add(nonceBucket + time.Second), nonceFresh},
	} {
		if got := c.add(tc.nonce, tc.at.Add(SignatureWindow), tc.at); got != tc.want {
			t.Fatalf("step %d: add(%q) = %d, want %d", i, tc.nonce, got, tc.want)
		}
	}
	if n := c.len(); n != 2 {
		t.Fatalf("%d nonces remembered, want 2", n)
	}
}

// TestParseSignedAuth: the header's parameters, tolerated spacing and case of the
// scheme aside, must each appear once with a valid value.
func TestParseSignedAuth(t *testing.T) {
	t.Parallel()
	sig := "58b783a4675b9b5760f3721f973563a4e61cffb629cd3e9dd4123aec45cece3e"
	ok := []string{
		"key_id=tk_1,ts=1767225600,nonce=3b9d0f6a2c4e8a1f,sig=" + sig,
		"key_id=tk_1, ts=1767225600, nonce=3b9d0f6a2c4e8a1f, sig=" + sig,
		"sig=" + sig + ",nonce=3b9d0f6a2c4e8a1f,ts=1767225600,key_id=tk_1",
	}
	for _, p := range ok {
		a, err := parseSignedAuth(p)
		if err != nil || a.keyID != "tk_1" || a.ts != 1767225600 || a.nonce != "3b9d0f6a2c4e8a1f" || len(a.sig) != 32 {
			t.Errorf("parse(%q) = %+v, %v", p, a, err)
		}
	}
	for _, p := range []string{
		"", "key_id=tk_1", "key_id=tk_1,key_id=tk_2,ts=1,nonce=3b9d0f6a2c4e8a1f,sig=" + sig,
		"key_id=tk_1,ts=-5,nonce=3b9d0f6a2c4e8a1f,sig=" + sig, "key_id=tk_1,ts=1767225600,nonce=3b9d0f6a 2c4e8a1f,sig=" + sig,
		"key_id=tk_1,ts=1767225600,nonce=3b9d0f6a2c4e8a1f,sig=" + sig[:62], "key_id=,ts=1767225600,nonce=3b9d0f6a2c4e8a1f,sig=" + sig,
		"key_id=tk_1;ts=1767225600;nonce=3b9d0f6a2c4e8a1f;sig=" + sig,
	} {
		if a, err := parseSignedAuth(p); err == nil {
			t.Errorf("parse(%q) = %+v, want an error", p, a)
		}
	}
}

// FuzzParseSignedAuth: the header parser never panics, and what it accepts has the
// shape the verifier relies on.
func FuzzParseSignedAuth(f *testing.F) {
	f.Add("key_id=tk_1,ts=1767225600,nonce=3b9d0f6a2c4e8a1f,sig=58b783a4675b9b5760f3721f973563a4e61cffb629cd3e9dd4123aec45cece3e")
	f.Add("key_id=tk_1, ts=1, nonce=================, sig=")
	f.Add(",,,=,")
	f.Fuzz(func(t *testing.T, params string) {
		a, err := parseSignedAuth(params)
		if err != nil {
			return
		}
		if a.keyID == "" || a.ts <= 0 || len(a.nonce) < 16 || len(a.nonce) > 64 || len(a.sig) != 32 {
			t.Fatalf("accepted %q as %+v", params, a)
		}
	})
}
