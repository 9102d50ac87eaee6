// Package docs embeds f2fpay's reference documents so that the service can serve them:
// its home page (httpapi, GET /) links /docs/api.md and /docs/openapi.yaml, which are
// then always the documents of the running version.
package docs

import _ "embed"

// API is docs/api.md, the HTTP API explained with curl examples.
//
//go:embed api.md
var API []byte

// OpenAPI is docs/openapi.yaml, the machine-readable description of the API.
//
//go:embed openapi.yaml
var OpenAPI []byte
