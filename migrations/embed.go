// Package migrations embeds Tim's SQL migrations so that the binary applies
// them at start-up.
package migrations

import "embed"

// FS holds the migration files, applied in name order.
//
//go:embed *.sql
var FS embed.FS
