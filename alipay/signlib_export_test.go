package alipay

import "crypto/rsa"

// UseCryptoRSA makes new KeySigners sign, and VerifySignature verify, with crypto/rsa,
// as in the default build, until restore is called: BenchmarkTradePaySigner measures
// both in one run of a -tags openssl build. Not for parallel tests.
func UseCryptoRSA() (restore func()) {
	sign, verify := newFastSigner, verifyPKCS1v15
	newFastSigner, verifyPKCS1v15 = nil, rsa.VerifyPKCS1v15
	return func() { newFastSigner, verifyPKCS1v15 = sign, verify }
}
