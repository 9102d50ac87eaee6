package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/appkey"
)

const keysUsage = `Usage: f2fpay keys SUBCOMMAND [flags]

Make and check the RSA keys of an Alipay app (应用密钥).

Subcommands:
  generate [-dir DIR] [-name app] [-force]
        generate an RSA-2048 app key pair, write it to DIR, and print the app public key
        (应用公钥) as the one line Alipay's console asks for
  check -private KEY [-public KEY] [-app-id ID]
        say what each key is and whether they belong together (exit status 1 if not)
  public -private KEY
        print the one-line app public key (应用公钥) of an existing private key

KEY is a file name, a key pasted as text (PEM or bare base64), or "-" for standard input.
`

// runKeys implements "f2fpay keys".
func runKeys(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return &usageError{"keys: no subcommand given (generate, check or public)"}
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "generate":
		return runKeysGenerate(rest, stdout, stderr)
	case "check":
		return runKeysCheck(rest, stdin, stdout, stderr)
	case "public":
		return runKeysPublic(rest, stdin, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, keysUsage)
		return nil
	default:
		fmt.Fprint(stderr, keysUsage)
		return &usageError{fmt.Sprintf("keys: unknown subcommand %q (want generate, check or public)", sub)}
	}
}

// newKeysFlags returns a flag set that reports to stderr and returns its errors.
func newKeysFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fset := flag.NewFlagSet("f2fpay keys "+name, flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprintf(stderr, "Usage: f2fpay keys %s %s\n\n", name, usage)
		fset.PrintDefaults()
	}
	return fset
}

// parseKeysFlags parses args and turns flag errors into usage errors; -h stays
// flag.ErrHelp so main prints nothing more.
func parseKeysFlags(fset *flag.FlagSet, args []string) error {
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{fmt.Sprintf("%s: %v", fset.Name(), err)}
	}
	if fset.NArg() > 0 {
		fset.Usage()
		return &usageError{fmt.Sprintf("%s: unexpected argument %q (flags come before any other argument; keys go in -private/-public)", fset.Name(), fset.Arg(0))}
	}
	return nil
}

func runKeysGenerate(args []string, stdout, stderr io.Writer) error {
	fset := newKeysFlags("generate", "[-dir DIR] [-name app] [-force]", stderr)
	dir := fset.String("dir", ".", "directory to write the key files to (created with mode 0700 if missing)")
	name := fset.String("name", "app", "file name stem: writes NAME_private_pkcs1.pem, NAME_private_pkcs8.pem, NAME_public.pem")
	force := fset.Bool("force", false, "replace existing key files (the old private key is lost)")
	if err := parseKeysFlags(fset, args); err != nil {
		return err
	}
	if err := appkey.CheckName(*name); err != nil {
		return &usageError{"keys generate: " + err.Error()}
	}
	key, err := appkey.Generate()
	if err != nil {
		return err
	}
	paths, err := appkey.WriteFiles(*dir, *name, key, *force)
	if errors.Is(err, appkey.ErrExist) {
		return &usageError{"keys generate: " + err.Error()}
	}
	if err != nil {
		return fmt.Errorf("keys generate: %w", err)
	}
	w := max(len(paths.PrivatePKCS1), len(paths.PrivatePKCS8), len(paths.Public))
	fmt.Fprintf(stdout, `Wrote a new RSA-%d app key pair (应用密钥), fingerprint %s:
  %-*s  app private key (应用私钥), PKCS#1, mode 0600 — f2fpay and most SDKs
  %-*s  the same private key, PKCS#8, mode 0600 — the Java SDK wants this form
  %-*s  app public key (应用公钥), PEM

App public key (应用公钥), one line, as Alipay's console asks for it:

%s

Next:
  1. Upload that line as the app public key (应用公钥) of your app on open.alipay.com
     (your app → 开发设置 → 接口加签方式 → 公钥), or POST it to the f2fpay sandbox:
     curl -d "{\"app_public_key\":\"$(f2fpay keys public -private %s)\"}" http://SANDBOX_ADDR/sandbox/apps
  2. Keep the private key files secret and backed up; f2fpay signs requests with one of them.
     Never upload or paste the private key anywhere — Alipay never asks for it.
  3. After the upload the console shows the Alipay public key (支付宝公钥) (the sandbox returns
     it as alipay_public_key). Copy THAT key into your configuration to verify Alipay's
     responses; it is not the key above.
  Check a pair at any time with: f2fpay keys check -private %s -public KEY
`, appkey.Bits, appkey.Fingerprint(&key.PublicKey),
		w, paths.PrivatePKCS1, w, paths.PrivatePKCS8, w, paths.Public,
		alipay.PublicKeyBase64(&key.PublicKey), paths.PrivatePKCS1, paths.PrivatePKCS1)
	return nil
}

func runKeysCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fset := newKeysFlags("check", "-private KEY [-public KEY] [-app-id ID]", stderr)
	priv := fset.String("private", "", "your app private key (应用私钥): file, pasted PEM/base64 text, or - for stdin")
	pub := fset.String("public", "", "a public key or certificate to check against it: file, pasted text, or -")
	appID := fset.String("app-id", "", "your APPID (16 digits), to check its shape and name it in the advice")
	if err := parseKeysFlags(fset, args); err != nil {
		return err
	}
	if *priv == "" && *pub == "" {
		fset.Usage()
		return &usageError{"keys check: give -private (your app private key) and, to compare, -public"}
	}
	if *priv == "-" && *pub == "-" {
		return &usageError{"keys check: only one of -private and -public can read standard input"}
	}
	req := appkey.Request{AppID: *appID}
	var err error
	if *priv != "" {
		if req.Private, err = readKeyArg("-private", *priv, stdin); err != nil {
			return err
		}
	}
	if *pub != "" {
		if req.Public, err = readKeyArg("-public", *pub, stdin); err != nil {
			return err
		}
	}
	report := appkey.Check(req)
	if _, err := report.WriteTo(stdout); err != nil {
		return err
	}
	if report.Failed() {
		return fmt.Errorf("keys check: %s (see the explanation above)", report.Summary())
	}
	return nil
}

func runKeysPublic(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fset := newKeysFlags("public", "-private KEY", stderr)
	priv := fset.String("private", "", "your app private key (应用私钥): file, pasted PEM/base64 text, or - for stdin")
	if err := parseKeysFlags(fset, args); err != nil {
		return err
	}
	if *priv == "" {
		fset.Usage()
		return &usageError{"keys public: give -private, your app private key"}
	}
	in, err := readKeyArg("-private", *priv, stdin)
	if err != nil {
		return err
	}
	k, err := appkey.Parse(in.Data)
	if err != nil {
		return fmt.Errorf("keys public: -private (%s) is not a key I can read: %v", in.Source, err)
	}
	if k.Kind != appkey.Private {
		return fmt.Errorf("keys public: -private (%s) is already a public key (%s), not a private key; the app public key (应用公钥) must be derived from your app private key (应用私钥). To find out whose key this is, run: f2fpay keys check -public ...", in.Source, k.Describe())
	}
	if k.Bits() < appkey.Bits {
		fmt.Fprintf(stderr, "f2fpay: warning: this key is %d bits; Alipay's RSA2 expects 2048 (f2fpay keys generate makes a new pair)\n", k.Bits())
	}
	fmt.Fprintln(stdout, alipay.PublicKeyBase64(k.Public))
	return nil
}

// maxKeyFile bounds what is read from a key file or standard input: keys and certificate
// bundles are a few kilobytes, and a wrong path should not read a disk image.
const maxKeyFile = 1 << 20

// readKeyArg reads a -private/-public value: "-" is standard input, a readable path is
// a file, and anything that looks like key material is the key itself. The value is
// never echoed unless it is short enough to be a path, since it may be a private key.
func readKeyArg(flagName, value string, stdin io.Reader) (*appkey.Input, error) {
	if value == "-" {
		data, err := io.ReadAll(io.LimitReader(stdin, maxKeyFile+1))
		if err != nil {
			return nil, fmt.Errorf("keys: %s: reading standard input: %w", flagName, err)
		}
		if len(data) > maxKeyFile {
			return nil, &usageError{fmt.Sprintf("keys: %s: standard input is larger than 1 MiB; that is not a key", flagName)}
		}
		return &appkey.Input{Flag: flagName, Source: "standard input", Data: data}, nil
	}
	pathLike := len(value) <= 4096 && !strings.ContainsAny(value, "\n\r") && !strings.Contains(value, "-----")
	var ferr error
	if pathLike {
		data, err := readKeyFile(value)
		if err == nil {
			return &appkey.Input{Flag: flagName, Source: "file " + value, Data: data}, nil
		}
		ferr = err
	}
	if looksLikeKeyText(value) {
		return &appkey.Input{Flag: flagName, Source: fmt.Sprintf("text given on the command line (%d characters)", len(value)), Data: []byte(value)}, nil
	}
	if len(value) > 200 || ferr == nil {
		return nil, &usageError{fmt.Sprintf("keys: %s: the value (%d characters) is neither a readable file nor key text (PEM or base64)", flagName, len(value))}
	}
	if errors.Is(ferr, fs.ErrNotExist) {
		return nil, &usageError{fmt.Sprintf("keys: %s: no such file %q (give a file name, the key text itself, or - for standard input)", flagName, value)}
	}
	return nil, &usageError{fmt.Sprintf("keys: %s: %v", flagName, ferr)}
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory; give the key file inside it", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s is larger than 1 MiB; that is not a key file", path)
	}
	return data, nil
}

// looksLikeKeyText reports whether a command-line value is plausibly a pasted key rather
// than a mistyped path: PEM armour, or a long run of base64. The shortest RSA key Go
// reads (a 1024-bit public key) is over 200 base64 characters.
func looksLikeKeyText(v string) bool {
	if strings.Contains(v, "-----BEGIN") {
		return true
	}
	if len(v) < 128 {
		return false
	}
	for _, c := range v {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '=', c == '-', c == '_', c == ' ', c == '\n', c == '\r', c == '\t', c == '\\':
		default:
			return false
		}
	}
	return true
}
