// Package secret keeps the service's secrets — app private keys, app_auth_tokens,
// webhook secrets — out of the database in the clear. A Box seals values with
// AES-256-GCM under a master key that lives outside the database (a file, an
// environment variable); a value can also be a reference "file:/path" to a key file the
// operator manages, which is then read at use and never copied into the database.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

const (
	sealedPrefix = "sealed:v1:"
	filePrefix   = "file:"
)

// Box seals and opens secrets with one master key.
type Box struct {
	aead   cipher.AEAD
	master []byte
}

// NewBox derives an AES-256 key from master (any length ≥ 16 bytes; typically 32 random
// bytes, base64 in an environment variable or file).
func NewBox(master []byte) (*Box, error) {
	if len(master) < 16 {
		return nil, errors.New("secret: master key must be at least 16 bytes; generate one with `head -c32 /dev/urandom | base64`")
	}
	k := sha256.Sum256(master)
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, master: append([]byte(nil), master...)}, nil
}

// DeriveKey returns a 32-byte key for purpose, derived from the master key
// (HMAC-SHA256 of the purpose under the master key): a keyed hash for lookups (a
// member's phone number) without a second secret to configure, and unrelated to the
// sealing key and to every other purpose's key.
func (b *Box) DeriveKey(purpose string) []byte {
	m := hmac.New(sha256.New, b.master)
	m.Write([]byte("f2fpay derived key\x00" + purpose))
	return m.Sum(nil)
}

// Seal encrypts plain. The result is text, safe to store. The associated data binds the
// ciphertext to its purpose (e.g. "app:2021…:private_key"), so a sealed value cannot be
// moved to another row or column and still open.
func (b *Box) Seal(plain, purpose string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := b.aead.Seal(nonce, nonce, []byte(plain), []byte(purpose))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open returns the secret behind stored: a sealed value (opened with purpose), a
// "file:" reference (the file is read), or "" for "". Plain values are refused, so a
// secret stored in the clear by mistake is noticed instead of used.
func (b *Box) Open(stored, purpose string) (string, error) {
	switch {
	case stored == "":
		return "", nil
	case strings.HasPrefix(stored, filePrefix):
		data, err := os.ReadFile(strings.TrimPrefix(stored, filePrefix))
		if err != nil {
			return "", fmt.Errorf("secret: reading %s: %w", stored, err)
		}
		return string(data), nil
	case strings.HasPrefix(stored, sealedPrefix):
		ct, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(stored, sealedPrefix))
		if err != nil || len(ct) < b.aead.NonceSize() {
			return "", errors.New("secret: sealed value is corrupt")
		}
		plain, err := b.aead.Open(nil, ct[:b.aead.NonceSize()], ct[b.aead.NonceSize():], []byte(purpose))
		if err != nil {
			return "", errors.New("secret: cannot open sealed value (wrong master key, or the value was moved from another record)")
		}
		return string(plain), nil
	}
	return "", errors.New("secret: stored value is neither sealed nor a file: reference")
}

// IsReference reports whether v is a "file:" reference rather than a secret value.
func IsReference(v string) bool { return strings.HasPrefix(v, filePrefix) }
