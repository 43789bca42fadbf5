// Package migrations embeds the versioned schema migrations, one numbered set
// per SQL dialect. The store package applies them with goose; both sets carry
// the same version numbers and produce the same tables and columns.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed sqlite/*.sql mysql/*.sql
var files embed.FS

// FS returns the migration files for a dialect ("sqlite" or "mysql").
func FS(dialect string) (fs.FS, error) {
	switch dialect {
	case "sqlite", "mysql":
		sub, err := fs.Sub(files, dialect)
		if err != nil {
			return nil, fmt.Errorf("migrations for %s: %w", dialect, err)
		}
		return sub, nil
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
}
