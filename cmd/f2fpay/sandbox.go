package main

import (
	"context"
	"io"
)

// runSandbox is being written (issue 3, f2fpay sandbox).
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return &usageError{"sandbox: not built yet"}
}
