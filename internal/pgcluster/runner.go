package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// serverUser is the system account PostgreSQL runs as when Tim runs as
// root: the server refuses to run as root.
const serverUser = "postgres"

// runner runs PostgreSQL programs from one directory, as the postgres
// system user when the current process is root and as the current user
// otherwise.
type runner struct {
	binDir  string
	workDir string              // working directory of every program: the cluster directory
	cred    *syscall.Credential // nil: run as the current user
}

// newRunner returns a runner for the programs in binDir, working in workDir.
func newRunner(binDir, workDir string) (*runner, error) {
	r := &runner{binDir: binDir, workDir: workDir}
	if os.Geteuid() != 0 {
		return r, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no %q system user to run it as: %w", serverUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of %s: %w", serverUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of %s: %w", serverUser, err)
	}
	groupIDs, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("list groups of %s: %w", serverUser, err)
	}
	groups := make([]uint32, 0, len(groupIDs))
	for _, g := range groupIDs {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("parse group id %q of %s: %w", g, serverUser, err)
		}
		groups = append(groups, uint32(n))
	}
	r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}
	return r, nil
}

// command prepares prog from the binary directory. PG* variables are
// removed from its environment so that a PGDATA or PGPORT meant for another
// server cannot redirect it.
func (r *runner) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(r.binDir, prog), args...)
	cmd.Dir = r.workDir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if r.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	}
	return cmd
}

// run runs prog to completion. A failure's error carries the program's
// output, which is where PostgreSQL programs explain themselves.
func (r *runner) run(ctx context.Context, prog string, args ...string) (string, error) {
	cmd := r.command(ctx, prog, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	if err != nil {
		if text != "" {
			return text, fmt.Errorf("%s %s: %w: %s", prog, args[0], err, text)
		}
		return text, fmt.Errorf("%s %s: %w", prog, args[0], err)
	}
	return text, nil
}

// exitCode runs prog and returns its exit status; err is set only when it
// could not be run at all.
func (r *runner) exitCode(ctx context.Context, prog string, args ...string) (int, error) {
	err := r.command(ctx, prog, args...).Run()
	if err == nil {
		return 0, nil
	}
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok && exitErr.ExitCode() >= 0 {
		return exitErr.ExitCode(), nil
	}
	return 0, fmt.Errorf("%s %s: %w", prog, args[0], err)
}

// chown gives path to the user programs run as; a no-op without a user
// switch.
func (r *runner) chown(path string) error {
	if r.cred == nil {
		return nil
	}
	if err := os.Lchown(path, int(r.cred.Uid), int(r.cred.Gid)); err != nil {
		return fmt.Errorf("chown %s to %s: %w", path, serverUser, err)
	}
	return nil
}

// checkReachable verifies that the programs' user can enter the working
// directory. A directory on the way lacking search permission for that
// user (for example /root, mode 0700) makes every PostgreSQL program fail,
// so this names that directory once, clearly, instead.
func (r *runner) checkReachable(ctx context.Context) error {
	if r.cred == nil {
		return nil
	}
	const advice = "choose a directory such as /var/lib/tim or /tmp, or run Tim as another user"
	blocked, err := r.firstUnsearchable(r.workDir)
	if err != nil {
		return err
	}
	if blocked != "" {
		return fmt.Errorf("PostgreSQL must run as the %q system user because Tim runs as root, and that user cannot enter %s "+
			"(%s; every directory down to %s needs search (x) permission for %s): %s",
			serverUser, blocked, describeDir(blocked), r.workDir, serverUser, advice)
	}
	// The modes allow it; something else (an ACL, a security module) may
	// not. The child switches user before it changes into cmd.Dir, so a
	// directory the server user cannot enter fails this start.
	if err := r.command(ctx, "pg_ctl", "--version").Run(); err != nil {
		return fmt.Errorf("PostgreSQL must run as the %q system user because Tim runs as root, and that user cannot enter %s: %s: %w",
			serverUser, r.workDir, advice, err)
	}
	return nil
}

// firstUnsearchable returns the first directory from / down to dir, dir
// included, that the programs' user may not search according to its mode
// bits, or "" when each one lets it through.
func (r *runner) firstUnsearchable(dir string) (string, error) {
	path := "/"
	for _, part := range append([]string{""}, strings.Split(strings.TrimPrefix(filepath.Clean(dir), "/"), "/")...) {
		path = filepath.Join(path, part)
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("inspect %s: %w", path, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return "", nil // not a Unix file system: leave it to the programs
		}
		if !r.maySearch(fi.Mode().Perm(), st.Uid, st.Gid) {
			return path, nil
		}
	}
	return "", nil
}

// maySearch applies the Unix rule for search permission on a directory
// with mode perm, owned by uid and gid, to the programs' user: the owner
// bits if it owns the directory, else the group bits if it is in the
// group, else the bits for others.
func (r *runner) maySearch(perm os.FileMode, uid, gid uint32) bool {
	if uid == r.cred.Uid {
		return perm&0o100 != 0
	}
	if gid == r.cred.Gid || slices.Contains(r.cred.Groups, gid) {
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}

// describeDir returns "mode 0700, owner root" for path, as far as known.
func describeDir(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "not inspectable"
	}
	d := fmt.Sprintf("mode %04o", fi.Mode().Perm())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		owner := strconv.FormatUint(uint64(st.Uid), 10)
		if u, err := user.LookupId(owner); err == nil {
			owner = u.Username
		}
		d += ", owner " + owner
	}
	return d
}
