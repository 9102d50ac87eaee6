package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
)

func TestAdminCreateUser(t *testing.T) {
	ctx := t.Context()
	db := "sqlite:" + filepath.Join(t.TempDir(), "f2fpay.db")
	var out, errb bytes.Buffer
	args := []string{"admin", "create-user", "-db", db, "-login", "ada", "-role", "owner", "-password-stdin"}
	if err := run(ctx, args, strings.NewReader("a long enough password\n"), &out, &errb); err != nil {
		t.Fatalf("create-user: %v\n%s", err, errb.String())
	}
	if strings.Contains(out.String(), "a long enough password") {
		t.Fatal("the password was printed")
	}
	// A random password is printed once when none is given.
	out.Reset()
	if err := run(ctx, []string{"admin", "create-user", "-db", db, "-login", "bo", "-role", "readonly", "-merchant", "3"}, strings.NewReader(""), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "password: ") {
		t.Fatalf("no generated password printed:\n%s", out.String())
	}
	for _, bad := range [][]string{
		{"-login", "ada", "-role", "owner"},       // taken
		{"-login", "cy", "-role", "admin"},        // no such role
		{"-login", "has space", "-role", "owner"}, // invalid login
	} {
		if err := run(ctx, append([]string{"admin", "create-user", "-db", db}, bad...), strings.NewReader(""), &out, &errb); err == nil {
			t.Errorf("create-user %v succeeded", bad)
		}
	}
	if err := run(ctx, []string{"admin", "create-user", "-db", db, "-login", "dee", "-password-stdin"}, strings.NewReader("short\n"), &out, &errb); err == nil {
		t.Error("a short password was accepted")
	}

	store, _, err := openDB(ctx, db, "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	staff := store.(f2fpay.StaffStore)
	ada, err := staff.FindStaffByLogin(ctx, "ada")
	if err != nil || ada.Role != f2fpay.RoleOwner || ada.MerchantID != 0 || !strings.HasPrefix(ada.PasswordHash, "$argon2id$v=19$") {
		t.Fatalf("ada = %+v, %v", ada, err)
	}
	bo, err := staff.FindStaffByLogin(ctx, "bo")
	if err != nil || bo.Role != f2fpay.RoleReadOnly || bo.MerchantID != 3 {
		t.Fatalf("bo = %+v, %v", bo, err)
	}
	audit, err := staff.ListAudit(ctx, f2fpay.AuditFilter{})
	if err != nil || len(audit) != 2 || audit[0].Action != "create_user" || audit[0].Target != "bo" || audit[0].StaffLogin != "cli" {
		t.Fatalf("audit = %+v, %v", audit, err)
	}
}
