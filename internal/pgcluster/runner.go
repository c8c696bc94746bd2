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
// directory. Any parent lacking search permission for it (for example
// /root, mode 0700) makes every PostgreSQL program fail, so this reports
// that once, clearly, instead.
func (r *runner) checkReachable(ctx context.Context) error {
	if r.cred == nil {
		return nil
	}
	// The child switches user before it changes into cmd.Dir, so a
	// directory the server user cannot enter fails this start.
	if err := r.command(ctx, "pg_ctl", "--version").Run(); err != nil {
		return fmt.Errorf("PostgreSQL must run as the %q system user because Tim runs as root, and that user cannot reach %s "+
			"(every parent directory needs o+x, which /root, mode 0700, lacks): choose a directory such as /var/lib/tim or /tmp, or run Tim as another user: %w",
			serverUser, r.workDir, err)
	}
	return nil
}
