package main

import (
	"context"
	"io"
)

// runKeys is being written (issue 2, f2fpay keys).
func runKeys(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return &usageError{"keys: not built yet"}
}
