// Package api embeds Tim's contract documents so that the server can serve
// the exact documents it was built from.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml, the HTTP contract.
//
//go:embed openapi.yaml
var OpenAPI []byte

// AsyncAPI is api/asyncapi.yaml, the WebSocket contract.
//
//go:embed asyncapi.yaml
var AsyncAPI []byte
