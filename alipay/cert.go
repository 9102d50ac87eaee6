package alipay

import (
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// CertSN returns Alipay's serial-number fingerprint of a certificate:
// lowercase hex MD5 of the issuer DN in RFC 2253 form (most specific RDN first, as
// Java's getIssuerX500Principal().getName() writes it) followed by the serial number in
// decimal (docs/alipay-protocol.md §4.1). Go's pkix.Name.String produces the same RFC 2253 text for
// the attribute types Alipay's certificates use.
func CertSN(cert *x509.Certificate) string {
	sum := md5.Sum([]byte(cert.Issuer.String() + cert.SerialNumber.String()))
	return hex.EncodeToString(sum[:])
}

// RootCertSN returns alipay_root_cert_sn for a root bundle: the SNs of the certificates
// signed with an RSA-family algorithm (OID 1.2.840.113549.1.1.*), in file order, joined
// with '_'. Certificates Go cannot parse — Alipay's bundle holds an SM2 root — are
// skipped, as are ECDSA ones (docs/alipay-protocol.md §4.2).
func RootCertSN(bundle []byte) (string, error) {
	var sns []string
	rest := bundle
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			continue
		}
		if isRSASignature(cert.SignatureAlgorithm) {
			sns = append(sns, CertSN(cert))
		}
	}
	if len(sns) == 0 {
		return "", errors.New("alipay: root certificate bundle holds no RSA certificate; use alipayRootCert.crt as downloaded from Alipay's console")
	}
	return strings.Join(sns, "_"), nil
}

func isRSASignature(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.SHA256WithRSA,
		x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return true
	}
	return false
}

// ParseCertificates reads every PEM certificate in data, in order. It fails if any
// certificate block cannot be parsed, so use it for app and Alipay certificates, not for
// the root bundle (see RootCertSN).
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("alipay: certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("alipay: no PEM certificate found (expected -----BEGIN CERTIFICATE-----)")
	}
	return certs, nil
}

// RootCertificates parses the certificates of a root bundle that Go can read, skipping
// the others (an SM2 root), for chain checks of downloaded Alipay certificates.
func RootCertificates(bundle []byte) *x509.CertPool {
	pool := x509.NewCertPool()
	rest := bundle
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return pool
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			pool.AddCert(c)
		}
	}
}
