package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SignatureScheme is the Authorization scheme of signed terminal requests.
const SignatureScheme = "F2FPAY-HMAC-SHA256"

// StringToSign is what a signed request's signature covers, the lines
//
//	F2FPAY-HMAC-SHA256
//	<method>
//	<path and query, as sent: "/v1/payments/T1?wait=30s">
//	<ts, Unix seconds>
//	<nonce>
//	<Idempotency-Key header, or empty>
//	<hex SHA-256 of the body, of nothing for no body>
//
// joined by "\n" (no newline at the end). The Idempotency-Key is signed so that a
// copy of a POST cannot be passed off as another operation.
func StringToSign(method, requestURI string, ts int64, nonce, idempotencyKey string, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{SignatureScheme, method, requestURI, strconv.FormatInt(ts, 10), nonce, idempotencyKey,
		hex.EncodeToString(sum[:])}, "\n")
}

// SignRequest sets req's Authorization header to a signature of req, its body, the
// time at and nonce, made with the terminal's API key (keyID and secret):
//
//	Authorization: F2FPAY-HMAC-SHA256 key_id=<keyID>,ts=<at, Unix seconds>,nonce=<nonce>,sig=<hex HMAC-SHA256 of StringToSign>
//
// Set the Idempotency-Key header before signing. Client does this for every attempt
// when SignRequests is set; SignRequest is for terminals with their own HTTP stack.
// nonce must be 16 to 64 letters, digits, '-' or '_', never used before (NewNonce).
func SignRequest(req *http.Request, body []byte, keyID, secret string, at time.Time, nonce string) {
	ts := at.Unix()
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(StringToSign(req.Method, req.URL.RequestURI(), ts, nonce, req.Header.Get("Idempotency-Key"), body)))
	req.Header.Set("Authorization", SignatureScheme+" key_id="+keyID+",ts="+strconv.FormatInt(ts, 10)+
		",nonce="+nonce+",sig="+hex.EncodeToString(m.Sum(nil)))
}

// NewNonce returns a fresh nonce for a signed request: 128 random bits, hex.
func NewNonce() string { return NewIdempotencyKey() }
