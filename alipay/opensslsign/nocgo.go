//go:build openssl && !cgo

package opensslsign

// The openssl build tag asks for libcrypto, which needs cgo. Failing the build here says
// so, instead of silently signing with crypto/rsa: set CGO_ENABLED=1 and install a C
// compiler and libssl-dev, or build without -tags openssl.
var _ = theOpensslBuildTagNeedsCgo_SetCGO_ENABLED1
