package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/console"
)

const createUserUsage = `Usage: f2fpay admin create-user -db DATABASE -login LOGIN -role ROLE [-merchant ID] [-name NAME] [-password-stdin]

Add a staff account of the operator console (served by "f2fpay serve" at /). The first
owner is made this way; ROLE is owner, finance, support or readonly, and -merchant
scopes the account to one merchant (0, the default: every merchant).

The password is read from the first line of standard input with -password-stdin;
otherwise a random one is made and printed once. It is stored only as an argon2id hash.
A SQLite database must not be open in "f2fpay serve" at the same time.

Flags:
`

// runCreateUser is "f2fpay admin create-user": args are its flags.
func runCreateUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("admin create-user", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, createUserUsage); fset.PrintDefaults() }
	db := fset.String("db", os.Getenv("F2FPAY_DB"), "`database`: sqlite:PATH or postgres://... (default $F2FPAY_DB)")
	login := fset.String("login", "", "the `login` typed at the console's login form")
	name := fset.String("name", "", "the person's `name`")
	role := fset.String("role", "owner", "`role`: owner, finance, support or readonly")
	merchant := fset.Int64("merchant", 0, "merchant `id` the account is limited to; 0 for every merchant")
	fromStdin := fset.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parseFlags(fset, args); err != nil {
		return err
	}
	var password string
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("admin: reading the password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	st, generated, err := createStaff(ctx, *db, f2fpay.Staff{Login: *login, Name: *name, Role: f2fpay.StaffRole(*role), MerchantID: *merchant}, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "staff %s (id %d, role %s) created\n", st.Login, st.ID, st.Role)
	if generated != "" {
		fmt.Fprintf(stdout, "password: %s   (shown once; log in at the service's /console/)\n", generated)
	}
	return nil
}

// createStaff opens the database, adds the staff member with password (a random one
// when empty, returned) and records it in the audit log.
func createStaff(ctx context.Context, dbURL string, st f2fpay.Staff, password string) (*f2fpay.Staff, string, error) {
	var generated string
	if password == "" {
		b := make([]byte, 15)
		rand.Read(b)
		password = base64.RawURLEncoding.EncodeToString(b)
		generated = password
	}
	hash, err := console.HashPassword(password)
	if err != nil {
		return nil, "", &usageError{"admin: " + err.Error()}
	}
	st.PasswordHash = hash
	if err := st.Validate(); err != nil {
		return nil, "", &usageError{"admin: " + f2fpay.ErrorMessage(err)}
	}
	db, _, err := openDB(ctx, dbURL, "", true)
	if err != nil {
		return nil, "", fmt.Errorf("admin: database: %w", err)
	}
	defer db.Close()
	staff, ok := db.(f2fpay.StaffStore)
	if !ok {
		return nil, "", fmt.Errorf("admin: %T keeps no staff", db)
	}
	if err := staff.CreateStaff(ctx, &st); err != nil {
		return nil, "", fmt.Errorf("admin: %s", f2fpay.ErrorMessage(err))
	}
	detail := fmt.Sprintf("role %s, merchant %d", st.Role, st.MerchantID)
	if err := staff.AppendAudit(ctx, &f2fpay.AuditEntry{StaffLogin: "cli", MerchantID: st.MerchantID, Action: "create_user", Target: st.Login, Detail: detail, IP: "local"}); err != nil {
		return nil, "", fmt.Errorf("admin: audit: %w", err)
	}
	return &st, generated, nil
}
