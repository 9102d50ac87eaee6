package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id, memory-hard so that a stolen staff table is
// slow to guess on GPUs, at the parameters RFC 9106 recommends for memory-constrained
// settings (64 MiB, 3 passes, 4 lanes), and stored in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=4$salt$hash) so they can be raised later without
// breaking existing hashes: each hash says how it was made.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 4
	argonKeyLen  = 32
	saltLen      = 16
	// MinPasswordLen is the shortest password a staff member may have.
	MinPasswordLen = 10
	// maxPasswordLen bounds the work an attacker can make one login cost.
	maxPasswordLen = 256
)

// HashPassword returns the argon2id hash of password in PHC form.
func HashPassword(password string) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password is acceptable for a staff member.
func CheckPassword(password string) error {
	switch n := len([]rune(password)); {
	case n < MinPasswordLen:
		return fmt.Errorf("the password must have at least %d characters", MinPasswordLen)
	case len(password) > maxPasswordLen:
		return fmt.Errorf("the password must have at most %d bytes", maxPasswordLen)
	}
	return nil
}

var errBadHash = errors.New("console: malformed password hash")

// verifyPassword reports whether password matches the PHC hash, in constant time.
func verifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 || t > 64 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 {
		return false, errBadHash
	}
	if len(password) > maxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the login is unknown, so that an unknown login
// takes as long as a wrong password and logins cannot be enumerated by timing.
// It is made on first use: hashing costs 64 MiB and a few hundred milliseconds, which
// the binary's other commands should not pay at start.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("f2fpay-no-such-staff-member")
	return h
})
