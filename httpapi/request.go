package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/f2fpay/f2fpay"
)

// Reading a request, shared by the endpoints of every resource: the body as JSON
// (decode.go has the decoder and the field checks), ids in the path and the query,
// and the secrets a request hands over.

// decode reads and decodes a JSON request body (bounded).
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// decodeEmpty accepts an empty body or {} for POST actions that take no fields.
func (s *Server) decodeEmpty(w http.ResponseWriter, r *http.Request) error {
	var empty struct{}
	return s.decode(w, r, &empty)
}

// pathID reads a path segment that names a record by its id; what names the record
// in the message ("merchant id").
func pathID(r *http.Request, name, what string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "%s %q in the path is not a positive whole number", what, v)
	}
	return id, nil
}

// queryID reads an optional id from the query; nil when absent.
func queryID(q url.Values, name string) (*int64, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "query parameter %s=%q is not a positive whole number", name, v)
	}
	return &id, nil
}

// maxListLimit bounds a list's page (?limit=).
const maxListLimit = 1000

// queryLimit reads ?limit=, the size of a list's page: 100 when absent.
func queryLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > maxListLimit {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "query parameter limit=%q must be a whole number from 1 to %d", v, maxListLimit)
	}
	return n, nil
}

// seal encrypts a secret for storage under purpose (a "file:" reference is not a
// secret and is stored as it is by its caller, storePrivateKey).
func (s *Server) seal(plain, purpose string) (string, error) {
	if s.box == nil {
		return "", f2fpay.Errorf(f2fpay.EUNAVAILABLE, "the service has no master key configured, so it cannot store secrets; start it with a master key")
	}
	return s.box.Seal(plain, purpose)
}
