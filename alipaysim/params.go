package alipaysim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strings"
)

// params is a request's parameters merged from the query string and the body, one value
// per key. SDKs split parameters between the two differently (docs/alipay-protocol.md §1.2), and
// gopay sends charset in both, so keys are de-duplicated: the first non-empty value wins,
// query before body — the same rule alipay.AppendSignContent applies.
type params map[string]string

func (p params) add(k, v string) {
	if old, ok := p[k]; !ok || old == "" {
		p[k] = v
	}
}

// values converts to url.Values for the signing helpers.
func (p params) values() url.Values {
	v := make(url.Values, len(p))
	for k, x := range p {
		v[k] = []string{x}
	}
	return v
}

var errTooLarge = errors.New("request body too large")

// parseForm decodes an application/x-www-form-urlencoded string into p: pairs split on
// '&', key and value split on the first '=', '+' is a space, percent escapes decoded
// once. A malformed escape is an error — Alipay refuses such requests rather than
// guessing. Empty pairs ("a=1&&b=2") are skipped.
func parseForm(s string, p params) error {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return fmt.Errorf("bad percent-encoding in parameter name %q", truncate(k, 40))
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return fmt.Errorf("bad percent-encoding in the value of %q", truncate(key, 40))
		}
		if key == "" {
			continue
		}
		p.add(key, val)
	}
	return nil
}

// parseBody reads the request body (already bounded by the caller) as a form or a
// multipart form. File parts are ignored: no face-to-face API uploads files, and Alipay
// leaves file parameters out of the string to sign.
func parseBody(contentType string, body io.Reader, limit int64, p params) error {
	mt, mp, _ := mime.ParseMediaType(contentType)
	if mt == "multipart/form-data" {
		boundary := mp["boundary"]
		if boundary == "" {
			return errors.New("multipart body without a boundary")
		}
		r := multipart.NewReader(body, boundary)
		for {
			part, err := r.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				if errors.Is(err, errTooLarge) {
					return err
				}
				return fmt.Errorf("malformed multipart body: %v", err)
			}
			name := part.FormName()
			if name == "" || part.FileName() != "" {
				continue
			}
			var b bytes.Buffer
			if _, err := io.Copy(&b, io.LimitReader(part, limit+1)); err != nil {
				if errors.Is(err, errTooLarge) {
					return err
				}
				return fmt.Errorf("malformed multipart body: %v", err)
			}
			if int64(b.Len()) > limit {
				return errTooLarge
			}
			p.add(name, b.String())
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	return parseForm(string(b), p)
}

// limitedReader fails with errTooLarge past n bytes, rather than silently truncating.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	k, err := l.r.Read(b)
	l.n -= int64(k)
	return k, err
}
