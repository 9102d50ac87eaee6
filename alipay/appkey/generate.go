package appkey

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/f2fpay/f2fpay/alipay"
)

// Bits is the size of generated keys. RSA2 (SHA256withRSA), the only sign type Alipay
// accepts for new apps, asks for 2048-bit keys.
const Bits = 2048

// Generate returns a new RSA-2048 app private key from the system's secure random source.
func Generate() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, Bits)
	if err != nil {
		return nil, fmt.Errorf("appkey: generating an RSA-%d key: %w", Bits, err)
	}
	return k, nil
}

// Paths names the three files WriteFiles writes.
type Paths struct {
	PrivatePKCS1 string // NAME_private_pkcs1.pem, "BEGIN RSA PRIVATE KEY": non-Java SDKs, f2fpay
	PrivatePKCS8 string // NAME_private_pkcs8.pem, "BEGIN PRIVATE KEY": the Java SDK wants this one
	Public       string // NAME_public.pem, "BEGIN PUBLIC KEY"
}

// PathsFor returns the file names WriteFiles uses for dir and name.
func PathsFor(dir, name string) Paths {
	return Paths{
		PrivatePKCS1: filepath.Join(dir, name+"_private_pkcs1.pem"),
		PrivatePKCS8: filepath.Join(dir, name+"_private_pkcs8.pem"),
		Public:       filepath.Join(dir, name+"_public.pem"),
	}
}

// ErrExist is returned (wrapped) by WriteFiles when a key file already exists and
// overwriting was not asked for.
var ErrExist = errors.New("key file already exists")

// CheckName reports whether name is usable as the stem of key file names: not empty and
// without path separators, so that "-name ../x" cannot write outside the directory.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("the key name is empty; give a short name such as \"app\" or your APPID")
	case strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		return fmt.Errorf("the key name %q contains a path; put the directory in -dir and a plain name in -name", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("the key name %q starts with a dot, which would hide the files; choose a plain name", name)
	}
	return nil
}

// WriteFiles writes key to the three files of PathsFor(dir, name), creating dir (mode
// 0700) if it is missing. Private key files are created with mode 0600 by the open call
// itself — never chmod-ed afterwards — so there is no moment at which another user can
// open them. Without overwrite, WriteFiles refuses (ErrExist) if any of the files exists
// and writes none; with overwrite, each file is written to a new temporary file and
// renamed over the old one, so an old, world-readable file is replaced by a 0600 one
// rather than truncated in place with its old mode.
func WriteFiles(dir, name string, key *rsa.PrivateKey, overwrite bool) (Paths, error) {
	if err := CheckName(name); err != nil {
		return Paths{}, err
	}
	if dir == "" {
		dir = "."
	}
	p := PathsFor(dir, name)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Paths{}, fmt.Errorf("appkey: encoding PKCS#8: %w", err)
	}
	files := []struct {
		path string
		data []byte
		mode fs.FileMode
	}{
		{p.PrivatePKCS1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600},
		{p.PrivatePKCS8, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600},
		{p.Public, alipay.PublicKeyPEM(&key.PublicKey), 0o644},
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Paths{}, fmt.Errorf("cannot create the key directory: %w", err)
	}
	if !overwrite {
		var existing []string
		for _, f := range files {
			if _, err := os.Lstat(f.path); err == nil {
				existing = append(existing, f.path)
			}
		}
		if len(existing) > 0 {
			return Paths{}, fmt.Errorf("%w: %s; an app key pair may already be registered with Alipay — move the files away, choose another -name or -dir, or pass -force to replace them", ErrExist, strings.Join(existing, ", "))
		}
		var created []string
		for _, f := range files {
			if err := writeNew(f.path, f.data, f.mode); err != nil {
				for _, c := range created {
					os.Remove(c)
				}
				if errors.Is(err, fs.ErrExist) {
					err = fmt.Errorf("%w: %s appeared while writing; nothing was left behind, run again", ErrExist, f.path)
				}
				return Paths{}, err
			}
			created = append(created, f.path)
		}
		return p, nil
	}
	for _, f := range files {
		if err := replace(f.path, f.data, f.mode); err != nil {
			return Paths{}, err
		}
	}
	return p, nil
}

// writeNew creates path exclusively with mode and writes data to it, removing the file
// again if the write fails half-way.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// replace writes data to a fresh temporary file next to path (created with mode, never
// chmod-ed) and renames it over path.
func replace(path string, data []byte, mode fs.FileMode) error {
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(suffix[:]))
	if err := writeNew(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}
