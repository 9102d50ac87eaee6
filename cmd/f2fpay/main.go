// Command f2fpay is Alipay face-to-face payment in one binary: an offline Alipay
// sandbox, a merchant payment service, and tools around the Alipay OpenAPI SDK.
//
// Usage:
//
//	f2fpay keys generate|check|public  make and check RSA app keys
//	f2fpay sandbox [flags]           run the offline Alipay gateway simulator
//	f2fpay version
//
// Run "f2fpay COMMAND -h" for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "f2fpay:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks errors caused by how the command was called (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

const usage = `f2fpay — Alipay face-to-face payment (当面付): SDK tools, offline sandbox, payment service.

Usage: f2fpay COMMAND [flags]

Commands:
  admin     create-user: add a staff account of the operator console (the first owner)
  demo      start the sandbox, take a first payment, print what to try next
  keys      generate an RSA-2048 app key pair, or check which key is which
  migrate   apply the database migrations (sqlite:PATH or postgres://...) and print the version
  serve     run the merchant payment service (terminal, admin and notification API)
  provision onboard a merchant: merchant, Alipay app, store and terminal, its API key printed once
  bench     load-test the service against an in-process sandbox, beside the RSA ceiling
  sandbox   run the offline, stateful Alipay gateway simulator
  version   print the version

Run "f2fpay COMMAND -h" for the flags of a command.
`

// run dispatches a command. It takes its streams as arguments so tests can drive the
// real program in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command given"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "keys":
		return runKeys(ctx, rest, stdin, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "sandbox":
		return runSandbox(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "admin":
		return runAdmin(ctx, rest, stdin, stdout, stderr)
	case "provision":
		return runProvision(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "f2fpay", version)
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
