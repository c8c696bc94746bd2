package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrNoBinaries means that no PostgreSQL server programs (initdb, pg_ctl,
// postgres) could be found. Start returns it, possibly wrapped.
var ErrNoBinaries = errors.New(`no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin and PATH): install them with "apt-get install -y --no-install-recommends postgresql", or set TIM_DATABASE_URL`)

// debianPattern is where Debian and Ubuntu install one directory of server
// programs per major version.
const debianPattern = "/usr/lib/postgresql/*/bin"

// programs are the server programs a cluster needs; they must all live in
// the same directory so that their versions match.
var programs = []string{"initdb", "pg_ctl", "postgres"}

// findBinDir returns the directory holding the PostgreSQL server programs.
// An explicit dir is used as is; otherwise the highest version under
// /usr/lib/postgresql wins, then the directory of pg_ctl on PATH.
func findBinDir(dir string) (string, error) {
	if dir != "" {
		if !hasPrograms(dir) {
			return "", fmt.Errorf("BinDir %s lacks one of %s: %w", dir, strings.Join(programs, ", "), ErrNoBinaries)
		}
		return filepath.Abs(dir)
	}

	candidates, err := filepath.Glob(debianPattern)
	if err != nil {
		return "", fmt.Errorf("glob %s: %w", debianPattern, err)
	}
	// The version is the directory name above bin, e.g. "15" or "9.6".
	slices.SortFunc(candidates, func(a, b string) int {
		// Highest first; slices.Compare sorts an unparsable (nil) version lowest.
		return slices.Compare(versionOf(b), versionOf(a))
	})
	for _, c := range candidates {
		if hasPrograms(c) {
			return c, nil
		}
	}

	if pgctl, err := exec.LookPath("pg_ctl"); err == nil {
		if abs, err := filepath.Abs(pgctl); err == nil && hasPrograms(filepath.Dir(abs)) {
			return filepath.Dir(abs), nil
		}
	}
	return "", ErrNoBinaries
}

// hasPrograms reports whether every server program is an executable file
// in dir.
func hasPrograms(dir string) bool {
	for _, p := range programs {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// versionOf extracts the numeric parts of the version directory in a path
// such as /usr/lib/postgresql/15/bin.
func versionOf(binDir string) []int {
	var v []int
	for _, part := range strings.Split(filepath.Base(filepath.Dir(binDir)), ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}
