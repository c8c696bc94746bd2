package testdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"

	"tim/migrations"
)

// templateFormat names the way a template is built; changing what
// buildTemplate writes must change it, so that old templates are not
// reused.
const templateFormat = "tim-testdb-template-1"

// templateLock is the advisory lock key under which one test process at a
// time builds a template. It differs from store's migration lock.
const templateLock = 0x74696d74 // "timt"

// migratedTemplate returns the name of the migrated template on the
// server at admin, building it on first use. The answer is kept for the
// life of the process: the server's template does not change under it.
func migratedTemplate(admin string) (string, error) {
	shared.templateOnce.Do(func() {
		name, err := templateName(migrations.FS)
		if err != nil {
			shared.templateErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		defer cancel()
		if err := ensureTemplate(ctx, admin, name, migrations.FS); err != nil {
			shared.templateErr = err
			return
		}
		shared.template = name
	})
	return shared.template, shared.templateErr
}

// templateName returns tim_template_<hash>, the hash covering the name and
// content of every migration in files and the template format.
func templateName(files fs.FS) (string, error) {
	names, err := migrationNames(files)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(templateFormat))
	for _, name := range names {
		sql, err := fs.ReadFile(files, name)
		if err != nil {
			return "", fmt.Errorf("read migration %s: %w", name, err)
		}
		// Lengths first, so that no two different sets hash alike.
		h.Write([]byte("\x00" + strconv.Itoa(len(name)) + ":" + name + strconv.Itoa(len(sql)) + ":"))
		h.Write(sql)
	}
	return "tim_template_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// migrationNames lists the migrations in files in the order they apply.
func migrationNames(files fs.FS) ([]string, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	return names, nil
}

// ensureTemplate makes sure the server at admin has a template database
// called name holding the migrations in files. Several processes may call
// it at once: one builds the template under an advisory lock while the
// others wait, then find it. A template is built under another name and
// renamed when complete, so a template that exists is whole.
func ensureTemplate(ctx context.Context, admin, name string, files fs.FS) (err error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to admin database: %w", err)
	}
	defer func() {
		if cerr := conn.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = fmt.Errorf("close admin connection: %w", cerr)
		}
	}()

	if ok, err := databaseExists(ctx, conn, name); err != nil || ok {
		return err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return fmt.Errorf("take template lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", templateLock) //nolint:errcheck // released with the session anyway
	if ok, err := databaseExists(ctx, conn, name); err != nil || ok {
		return err // built by another process while this one waited
	}

	build := name + "_build"
	// A process that died while building left this behind.
	if err := dropDatabase(ctx, conn, build); err != nil {
		return err
	}
	ident := pgx.Identifier{build}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("create template %s: %w", build, err)
	}
	if err := buildTemplate(ctx, admin, build, files); err != nil {
		return err
	}
	// No session may ever connect to the template: one would make every
	// copy made meanwhile fail.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"); err != nil {
		return fmt.Errorf("seal template %s: %w", build, err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("rename template %s: %w", build, err)
	}
	return nil
}

// buildTemplate applies the migrations in files to database db in name
// order, each in its own transaction, and records each in
// schema_migrations exactly as store.Migrate does (same table, same
// names), so that store.Migrate later finds every one applied. The
// connection is closed before it returns.
func buildTemplate(ctx context.Context, admin, db string, files fs.FS) (err error) {
	u, err := withDatabase(admin, db)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("connect to template %s: %w", db, err)
	}
	defer func() {
		if cerr := conn.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
			err = fmt.Errorf("close template connection: %w", cerr)
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := migrationNames(files)
	if err != nil {
		return err
	}
	for _, name := range names {
		sql, err := fs.ReadFile(files, name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("apply migration %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (name) VALUES ($1)", name); err != nil {
				return fmt.Errorf("record migration %s: %w", name, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// databaseExists reports whether the server has a database called name.
func databaseExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok); err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	return ok, nil
}

// dropDatabase drops database name, template or not, if it exists.
func dropDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	ok, err := databaseExists(ctx, conn, name)
	if err != nil || !ok {
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" IS_TEMPLATE false"); err != nil {
		return fmt.Errorf("unmark template %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}
