package alipay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// certPool is the trust anchor for Alipay certificates downloaded at run time.
type certPool struct {
	pool *x509.CertPool
}

func (c *Client) loadCerts(cfg Config) error {
	if len(cfg.AppCert) == 0 || len(cfg.AlipayCert) == 0 || len(cfg.AlipayRootCert) == 0 {
		return errors.New("alipay: certificate mode needs all three of AppCert (appCertPublicKey_<appid>.crt), AlipayCert (alipayCertPublicKey_RSA2.crt) and AlipayRootCert (alipayRootCert.crt)")
	}
	appCerts, err := ParseCertificates(cfg.AppCert)
	if err != nil {
		return fmt.Errorf("alipay: AppCert: %w", err)
	}
	c.appCertSN = CertSN(appCerts[0])
	if ks, ok := c.signer.(*KeySigner); ok {
		if pk, ok := appCerts[0].PublicKey.(*rsa.PublicKey); !ok || !pk.Equal(&ks.key.PublicKey) {
			return errors.New("alipay: AppCert does not hold the public half of PrivateKey; use the appCertPublicKey_<appid>.crt issued for this key")
		}
	}
	alipayCerts, err := ParseCertificates(cfg.AlipayCert)
	if err != nil {
		return fmt.Errorf("alipay: AlipayCert: %w", err)
	}
	leaf := alipayCerts[0] // the file also holds the issuing CA after the leaf
	pk, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("alipay: AlipayCert holds a %T key, not RSA", leaf.PublicKey)
	}
	c.alipayCerts.Store(CertSN(leaf), pk)
	c.configuredCertKey = pk
	if c.rootCertSN, err = RootCertSN(cfg.AlipayRootCert); err != nil {
		return err
	}
	c.rootPool = &certPool{pool: RootCertificates(cfg.AlipayRootCert)}
	c.certMode = true
	c.certDownload = !cfg.DisableCertDownload
	return nil
}

// AppCertSN returns app_cert_sn ("" in public-key mode).
func (c *Client) AppCertSN() string { return c.appCertSN }

// RootCertSN returns alipay_root_cert_sn ("" in public-key mode).
func (c *Client) RootCertSN() string { return c.rootCertSN }

// downloadAlipayCert fetches a rotated Alipay certificate by serial, as Alipay's Java
// SDK does. The download answer cannot be verified with a key we do not have yet, so
// trust comes from the chain instead: the certificate must be currently valid, chain to
// the configured root bundle, and have exactly the serial asked for. Only then is it
// cached and used.
func (c *Client) downloadAlipayCert(ctx context.Context, sn string) (*rsa.PublicKey, error) {
	const method = "alipay.open.app.alipaycert.download"
	var o callOptions
	query, body, err := c.buildRequest(ctx, method, map[string]string{"alipay_cert_sn": sn}, &o)
	if err != nil {
		return nil, err
	}
	raw, _, err := c.post(ctx, method, query, body)
	if err != nil {
		return nil, fmt.Errorf("%w: downloading Alipay certificate %s: %v", ErrSignature, sn, err)
	}
	env, err := ParseEnvelope(raw, method)
	if err != nil {
		return nil, fmt.Errorf("%w: downloading Alipay certificate %s: %v", ErrSignature, sn, err)
	}
	var node struct {
		Code    string `json:"code"`
		SubMsg  string `json:"sub_msg"`
		Content string `json:"alipay_cert_content"`
	}
	if err := json.Unmarshal(env.Content, &node); err != nil || node.Code != CodeSuccess {
		return nil, fmt.Errorf("%w: Alipay did not provide certificate %s (%s %s)", ErrSignature, sn, node.Code, node.SubMsg)
	}
	pemBytes, err := base64.StdEncoding.DecodeString(node.Content)
	if err != nil {
		return nil, fmt.Errorf("%w: downloaded certificate is not base64", ErrSignature)
	}
	certs, err := ParseCertificates(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: downloaded certificate: %v", ErrSignature, err)
	}
	leaf := certs[0]
	if CertSN(leaf) != sn {
		return nil, fmt.Errorf("%w: downloaded certificate has serial %s, not %s", ErrSignature, CertSN(leaf), sn)
	}
	inter := x509.NewCertPool()
	for _, ic := range certs[1:] {
		inter.AddCert(ic)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: c.rootPool.pool, Intermediates: inter, CurrentTime: c.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		return nil, fmt.Errorf("%w: downloaded certificate %s does not chain to alipayRootCert.crt: %v", ErrSignature, sn, err)
	}
	pk, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: downloaded certificate key is %T, not RSA", ErrSignature, leaf.PublicKey)
	}
	// The download answer itself must verify with the certificate it delivered (or
	// one we already trust), so a man in the middle cannot swap a valid-but-other cert.
	key := pk
	if env.CertSN != "" && env.CertSN != sn {
		k, ok := c.alipayCerts.Load(env.CertSN)
		if !ok {
			return nil, fmt.Errorf("%w: certificate download answer is signed by unknown certificate %s", ErrSignature, env.CertSN)
		}
		key = k.(*rsa.PublicKey)
	}
	if err := VerifySignature(key, c.signType, env.Content, env.Sign); err != nil {
		return nil, fmt.Errorf("%w: certificate download answer: %v", ErrSignature, err)
	}
	c.alipayCerts.Store(sn, pk)
	return pk, nil
}
