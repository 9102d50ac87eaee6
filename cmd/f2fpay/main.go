// Command f2fpay is Alipay face-to-face payment in one binary: an offline Alipay
// sandbox, a merchant payment service, and tools around the Alipay OpenAPI SDK.
//
// Usage:
//
//	f2fpay demo                      the sandbox, the service and a first payment
//	f2fpay serve [flags]             run the merchant payment service
//	f2fpay migrate|provision         set up its database and onboard a merchant
//	f2fpay admin backup|rotate-master-key  back up SQLite, re-seal the secrets
//	f2fpay keys generate|check|public  make and check RSA app keys
//	f2fpay sandbox [flags]           run the offline Alipay gateway simulator
//	f2fpay bench                     load-test the service
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
	if errors.Is(err, flag.ErrHelp) {
		return 0 // asked for: the usage was printed on stdout
	}
	if errors.As(err, &u) {
		return 2
	}
	var s interface{ ExitCode() int }
	if errors.As(err, &s) {
		return s.ExitCode()
	}
	return 1
}

const usage = `f2fpay — Alipay face-to-face payment (当面付): SDK tools, offline sandbox, payment service.

Usage: f2fpay COMMAND [flags]

Commands:
  demo      start the sandbox, take a first payment, print what to try next
  keys      generate an RSA-2048 app key pair, or check which key is which
  migrate   apply the database migrations (sqlite:PATH or postgres://...) and print the version
  serve     run the merchant payment service (terminal, admin and notification API)
  provision onboard a merchant: merchant, Alipay app, store and terminal, its API key printed once
  acceptance run the go-live checks (云验收) of an app: keys, gateway, notify URL and every flow
  bench     load-test the service against an in-process sandbox, beside the RSA ceiling
  admin     operator's tasks: console staff accounts, back up a SQLite database, rotate the master key
  reconcile reconcile an app's day against Alipay's trade bill (对账)
  sandbox   run the offline, stateful Alipay gateway simulator
  version   print the version (module version, VCS revision and time)

Run "f2fpay COMMAND -h" for the flags of a command.
`

// run dispatches a command. It takes its streams as arguments so tests can drive the
// real program in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	if wantsHelp(rest) {
		// "f2fpay COMMAND -h" asks for the usage: it goes to stdout (to be read or
		// piped to less) and the command succeeds.
		stderr = stdout
		err := dispatch(ctx, cmd, rest, stdin, stdout, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	return dispatch(ctx, cmd, rest, stdin, stdout, stderr)
}

// wantsHelp reports whether a command's arguments ask for its usage.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

func dispatch(ctx context.Context, cmd string, rest []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch cmd {
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
	case "reconcile":
		return runReconcile(ctx, rest, stdout, stderr)
	case "acceptance":
		return runAcceptance(ctx, rest, stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "f2fpay", versionString())
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}
