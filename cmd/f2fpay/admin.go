package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

const adminUsage = `Usage: f2fpay admin COMMAND [flags]

Operator's tasks on the service's database (docs/operations.md):

  create-user        add a staff account of the operator console (the first owner)
  backup             copy a SQLite database while the service runs (VACUUM INTO)
  rotate-master-key  re-seal every stored secret with a new master key (service stopped)

Run "f2fpay admin COMMAND -h" for the flags of a command.
`

func runAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return &usageError{"admin: no command given"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "create-user":
		return runCreateUser(ctx, rest, stdin, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "rotate-master-key":
		return runRotateMasterKey(ctx, rest, os.Getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, adminUsage)
		return nil
	default:
		fmt.Fprint(stderr, adminUsage)
		return &usageError{fmt.Sprintf("admin: unknown command %q", cmd)}
	}
}

const backupUsage = `Usage: f2fpay admin backup -db sqlite:PATH -out FILE

Copy the SQLite database into FILE, a new file, while the service keeps running:
SQLite's VACUUM INTO reads one consistent snapshot (a read transaction beside the
service's writes, which it does not block) and writes it compacted. The copy is then
checked (PRAGMA integrity_check) and its orders counted.

A backup is useless without the master key that sealed the secrets inside it
(F2FPAY_MASTER_KEY): keep the key too, apart from the backups. PostgreSQL: use
pg_dump (docs/operations.md).

Flags:
`

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); fs.PrintDefaults() }
	dbFlag := fs.String("db", os.Getenv("F2FPAY_DB"), "the service's `database`: sqlite:PATH")
	out := fs.String("out", "", "`file` to write the copy to; must not exist")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kind, path, err := parseDB(*dbFlag)
	switch {
	case err != nil:
		return &usageError{"admin backup: " + err.Error()}
	case kind != dbSQLite:
		return &usageError{"admin backup: -db is PostgreSQL: back it up with pg_dump (docs/operations.md)"}
	case *out == "":
		return &usageError{"admin backup: -out FILE is required"}
	}
	n, size, err := backupSQLite(ctx, path, *out)
	if err != nil {
		return fmt.Errorf("admin backup: %w", err)
	}
	fmt.Fprintf(stdout, "f2fpay admin backup: %s → %s (%d bytes, %d orders, integrity ok)\n", path, *out, size, n)
	fmt.Fprintln(stdout, "  keep the master key (F2FPAY_MASTER_KEY) too: the secrets in the copy are sealed with it")
	return nil
}

// backupSQLite copies the database at path into out with VACUUM INTO, on a connection
// of its own (the running service holds the store's lock file, not the database), and
// checks the copy. It returns the copy's order count and size.
//
// The store's own checkpoints do not fight it: VACUUM INTO is one read transaction, so
// PASSIVE checkpoints leave the WAL frames it reads alone, and a RESTART checkpoint
// (the store asks for one when the WAL reaches 16 MiB) waits 20 ms for it, gives up and
// is tried again later; the WAL only grows until the copy is done.
func backupSQLite(ctx context.Context, path, out string) (orders int64, size int64, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, fmt.Errorf("database: %w", err)
	}
	if _, err := os.Stat(out); err == nil {
		return 0, 0, fmt.Errorf("%s exists; a backup goes to a new file", out)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return 0, 0, err
	}
	src, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return 0, 0, fmt.Errorf("VACUUM INTO %s: %w", abs, err)
	}
	if err := syncFile(abs); err != nil {
		return 0, 0, err
	}
	orders, err = checkSQLiteCopy(ctx, abs)
	if err != nil {
		return 0, 0, fmt.Errorf("the copy %s: %w", abs, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return 0, 0, err
	}
	return orders, st.Size(), nil
}

// checkSQLiteCopy runs PRAGMA integrity_check on a copy, read-only, and counts its
// orders.
func checkSQLiteCopy(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var res []string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, err
		}
		res = append(res, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(res) != 1 || res[0] != "ok" {
		return 0, fmt.Errorf("integrity_check: %s", strings.Join(res, "; "))
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

const rotateUsage = `Usage: F2FPAY_MASTER_KEY=old F2FPAY_NEW_MASTER_KEY=new f2fpay admin rotate-master-key -db DATABASE

Re-seal every secret the database keeps under the master key — apps' private keys
(those stored in the database; "file:" references are left alone), app_auth_tokens,
merchants' webhook secrets and terminals' signing secrets — from the old key
(F2FPAY_MASTER_KEY) to the new one (F2FPAY_NEW_MASTER_KEY). Make the new key with
` + "`head -c32 /dev/urandom | base64`" + `.

Stop the service first (every instance, on PostgreSQL): a running service holds the
old key and cannot open what is sealed with the new one. Then rotate, and start the
service with F2FPAY_MASTER_KEY set to the new key. Running it again is safe: a secret
that opens with the new key already is left as it is, so an interrupted rotation is
finished by running it again. Back up the database first and keep the old key until
the service pays with the new one.

Flags:
`

// rotation counts what rotate-master-key did.
type rotation struct {
	resealed map[string]int // by kind of secret
	already  int            // opened with the new key: done by an earlier run
	files    int            // "file:" references, not sealed
	failed   []string       // what opened with neither key
}

func runRotateMasterKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin rotate-master-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rotateUsage); fs.PrintDefaults() }
	dbFlag := fs.String("db", getenv("F2FPAY_DB"), "the service's `database`: sqlite:PATH or postgres://…")
	schema := fs.String("schema", "", "PostgreSQL `schema` (search_path) holding f2fpay's tables; default: the server's")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	keyOf := func(name string) (*secret.Box, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return nil, &usageError{fmt.Sprintf("admin rotate-master-key: %s is not set (see -h)", name)}
		}
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("admin rotate-master-key: %s is not base64", name)}
		}
		box, err := secret.NewBox(k)
		if err != nil {
			return nil, &usageError{fmt.Sprintf("admin rotate-master-key: %s: %v", name, err)}
		}
		return box, nil
	}
	oldBox, err := keyOf("F2FPAY_MASTER_KEY")
	if err != nil {
		return err
	}
	newBox, err := keyOf("F2FPAY_NEW_MASTER_KEY")
	if err != nil {
		return err
	}
	if strings.TrimSpace(getenv("F2FPAY_MASTER_KEY")) == strings.TrimSpace(getenv("F2FPAY_NEW_MASTER_KEY")) {
		return &usageError{"admin rotate-master-key: F2FPAY_NEW_MASTER_KEY is the same as F2FPAY_MASTER_KEY"}
	}
	store, name, err := openDB(ctx, *dbFlag, *schema, false)
	if err != nil {
		return fmt.Errorf("admin rotate-master-key: %w (stop the service first: it must not run while its secrets change key)", err)
	}
	defer store.Close()
	r, err := rotateMasterKey(ctx, store, oldBox, newBox)
	if err != nil {
		return fmt.Errorf("admin rotate-master-key: %w", err)
	}
	total := 0
	for _, n := range r.resealed {
		total += n
	}
	fmt.Fprintf(stdout, "f2fpay admin rotate-master-key: %s: re-sealed %d secrets (%d app private keys, %d app_auth_tokens, %d webhook secrets, %d terminal signing secrets); %d already sealed with the new key; %d file: references left alone\n",
		name, total, r.resealed["private_key"], r.resealed["app_auth_token"], r.resealed["webhook_secret"], r.resealed["signing_secret"], r.already, r.files)
	if len(r.failed) > 0 {
		return fmt.Errorf("admin rotate-master-key: %d secrets open with neither key and were left as they are: %s", len(r.failed), strings.Join(r.failed, "; "))
	}
	fmt.Fprintln(stdout, "  start the service with F2FPAY_MASTER_KEY set to the new key; keep the old one until it pays")
	return nil
}

// rotateMasterKey re-seals every secret of store from oldBox to newBox through the
// store's update methods, one record at a time. A secret that already opens with
// newBox is skipped (an interrupted run is finished by running again); one that opens
// with neither is reported in failed and left alone.
func rotateMasterKey(ctx context.Context, store f2fpay.MerchantStore, oldBox, newBox *secret.Box) (*rotation, error) {
	r := &rotation{resealed: map[string]int{}}
	// reseal returns the secret sealed with newBox, or "" when it needs no change.
	reseal := func(what, stored, purpose string) (string, error) {
		switch {
		case stored == "":
			return "", nil
		case secret.IsReference(stored):
			r.files++
			return "", nil
		}
		if _, err := newBox.Open(stored, purpose); err == nil {
			r.already++
			return "", nil
		}
		plain, err := oldBox.Open(stored, purpose)
		if err != nil {
			r.failed = append(r.failed, what)
			return "", nil
		}
		return newBox.Seal(plain, purpose)
	}
	merchants, err := store.ListMerchants(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range merchants {
		if v, err := reseal(fmt.Sprintf("merchant %d webhook secret", m.ID), m.WebhookSecret, f2fpay.WebhookSecretPurpose); err != nil {
			return r, err
		} else if v != "" {
			if _, err := store.UpdateMerchant(ctx, m.ID, f2fpay.MerchantUpdate{WebhookSecret: &v}); err != nil {
				return r, fmt.Errorf("merchant %d: %w", m.ID, err)
			}
			r.resealed["webhook_secret"]++
		}

		apps, err := store.ListApps(ctx, m.ID)
		if err != nil {
			return r, err
		}
		for _, a := range apps {
			upd := f2fpay.AppUpdate{IfVersion: a.Version}
			if v, err := reseal(fmt.Sprintf("app %s private key", a.AppID), a.PrivateKey, payment.PrivateKeyPurpose(a.AppID)); err != nil {
				return r, err
			} else if v != "" {
				upd.PrivateKey = &v
			}
			if v, err := reseal(fmt.Sprintf("app %s app_auth_token", a.AppID), a.AppAuthToken, payment.AppAuthTokenPurpose(a.AppID)); err != nil {
				return r, err
			} else if v != "" {
				upd.AppAuthToken = &v
			}
			if upd.IsZero() {
				continue
			}
			if _, err := store.UpdateApp(ctx, a.ID, upd); err != nil {
				return r, fmt.Errorf("app %s: %w", a.AppID, err)
			}
			if upd.PrivateKey != nil {
				r.resealed["private_key"]++
			}
			if upd.AppAuthToken != nil {
				r.resealed["app_auth_token"]++
			}
		}

		terminals, err := store.ListTerminals(ctx, m.ID)
		if err != nil {
			return r, err
		}
		for _, t := range terminals {
			if t.KeyID == "" {
				continue
			}
			v, err := reseal(fmt.Sprintf("terminal %d signing secret", t.ID), t.SigningSecret, f2fpay.TerminalSigningPurpose(t.KeyID))
			if err != nil {
				return r, err
			}
			if v == "" {
				continue
			}
			// The same key, its secret sealed anew: RotateTerminalKey replaces the three
			// together, and the terminal keeps its key id and API key.
			if _, err := store.RotateTerminalKey(ctx, t.ID, f2fpay.TerminalKey{KeyID: t.KeyID, KeyHash: t.KeyHash, SigningSecret: v}); err != nil {
				return r, fmt.Errorf("terminal %d: %w", t.ID, err)
			}
			r.resealed["signing_secret"]++
		}
	}
	return r, nil
}

// parseFlags parses a subcommand's flags into usage errors; -h stays flag.ErrHelp
// (run answers it with the usage on stdout and exit status 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	if err != nil {
		return &usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}
