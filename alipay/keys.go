package alipay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ParsePrivateKey reads an RSA private key in any form Alipay's tools and the public SDKs
// hand out: PEM ("BEGIN RSA PRIVATE KEY" for PKCS#1, "BEGIN PRIVATE KEY" for PKCS#8) or
// the bare base64 body that Alipay's key tool prints, in either encoding. White space and
// line breaks inside the base64 are ignored. PKCS#8 is tried first, then PKCS#1, as
// Alipay's own tool emits PKCS#8 for Java and PKCS#1 for everything else.
func ParsePrivateKey(key string) (*rsa.PrivateKey, error) {
	der, err := keyDER(key, "private key")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("alipay: private key is %T, not RSA; Alipay app keys are RSA-2048", k)
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if _, err := x509.ParsePKIXPublicKey(der); err == nil {
		return nil, errors.New("alipay: this is a public key, not a private key; the app private key is the one you generated and kept (f2fpay keys generate), never the one from Alipay's console")
	}
	if _, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return nil, errors.New("alipay: this is a public key, not a private key; the app private key is the one you generated and kept (f2fpay keys generate)")
	}
	// In certificate mode the app has a .crt next to its key; the two are easy to swap.
	if _, err := x509.ParseCertificate(der); err == nil {
		return nil, errors.New("alipay: this is a certificate, not a private key; give the app certificate (appCertPublicKey_<appid>.crt) as the certificate and the key you generated the CSR with as the private key")
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return nil, errors.New("alipay: this is an EC key, not RSA; Alipay app keys are RSA-2048 (f2fpay keys generate makes one)")
	}
	return nil, errors.New("alipay: private key is neither PKCS#8 nor PKCS#1 RSA; paste the key exactly as your key tool wrote it")
}

// ParsePublicKey reads an RSA public key: PEM or bare base64 of a SubjectPublicKeyInfo
// (what Alipay's console shows as "支付宝公钥"), a PKCS#1 "RSA PUBLIC KEY", or a PEM
// certificate, in which case the certificate's key is returned.
func ParsePublicKey(key string) (*rsa.PublicKey, error) {
	if strings.Contains(key, "BEGIN CERTIFICATE") {
		certs, err := ParseCertificates([]byte(key))
		if err != nil {
			return nil, err
		}
		pk, ok := certs[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("alipay: certificate key is %T, not RSA", certs[0].PublicKey)
		}
		return pk, nil
	}
	der, err := keyDER(key, "public key")
	if err != nil {
		return nil, err
	}
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("alipay: public key is %T, not RSA", k)
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	if _, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return nil, errors.New("alipay: this is a private key where a public key is expected; never give out a private key — use the public half (f2fpay keys check shows it)")
	}
	if _, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return nil, errors.New("alipay: this is a private key where a public key is expected; never give out a private key — use the public half (f2fpay keys check shows it)")
	}
	// A certificate body pasted without its BEGIN/END lines.
	if c, err := x509.ParseCertificate(der); err == nil {
		rk, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("alipay: certificate key is %T, not RSA", c.PublicKey)
		}
		return rk, nil
	}
	return nil, errors.New("alipay: public key is not an RSA SubjectPublicKeyInfo; paste the key exactly as Alipay's console shows it")
}

// keyDER strips PEM armour if present, else decodes bare base64 with white space removed.
func keyDER(key, what string) ([]byte, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, fmt.Errorf("alipay: %s is empty", what)
	}
	if strings.HasPrefix(key, "-----BEGIN") {
		block, _ := pem.Decode([]byte(key))
		if block == nil {
			return nil, fmt.Errorf("alipay: %s: PEM armour is broken (check the BEGIN/END lines)", what)
		}
		return block.Bytes, nil
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, key)
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		// Some tools strip the padding.
		if der2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(clean, "=")); err2 == nil {
			return der2, nil
		}
		return nil, fmt.Errorf("alipay: %s is neither PEM nor base64: %v", what, err)
	}
	return der, nil
}

// PublicKeyBase64 returns the one-line base64 SubjectPublicKeyInfo that Alipay's console
// asks for when you upload an app public key.
func PublicKeyBase64(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // cannot happen for an *rsa.PublicKey
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// PublicKeyPEM returns pub as a "PUBLIC KEY" PEM block.
func PublicKeyPEM(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PrivateKeyPEM returns key as a PKCS#1 "RSA PRIVATE KEY" PEM block, the form every
// Alipay SDK but Java's reads. Handle the result as the secret it is.
func PrivateKeyPEM(key *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}
