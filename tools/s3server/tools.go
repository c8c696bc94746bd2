//go:build tools

// Package s3server pins the S3-compatible server the tests start (SeaweedFS,
// Apache-2.0) in a module of its own, so Tim's go.mod does not gain its
// dependencies.
package s3server

import _ "github.com/seaweedfs/seaweedfs/weed"
