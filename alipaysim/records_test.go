package alipaysim

import (
	"context"
	"strings"
	"testing"
)

// TestDataDirLock: a second sandbox on the same --data directory must refuse to start,
// and the directory is free again once the first closes.
func TestDataDirLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := OpenSQLiteStore(ctx, dir); err == nil || !strings.Contains(err.Error(), "in use by another sandbox") {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second open: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatalf("after close: %v", err)
	}
	again.Close()
}
