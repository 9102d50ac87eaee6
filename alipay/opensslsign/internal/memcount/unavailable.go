//go:build !(openssl && cgo)

package memcount

// Install reports false: this build has no OpenSSL.
func Install() bool { return false }

// Live is 0: this build has no OpenSSL.
func Live() int64 { return 0 }
