package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/licledger/licledger/licensefile"
)

// runVerifyFile is `ledgerctl license verify-file --public-key KEY [--fingerprint F] FILE`: it
// checks a license file offline, with the ledger's public key alone (license signing-keys prints
// it), and prints what the file says; a file that does not verify exits non-zero with the reason.
func runVerifyFile(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("license verify-file", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keys multiFlag
	fs.Var(&keys, "public-key", "the ledger's public signing key, standard base64 (repeat for several)")
	fingerprint := fs.String("fingerprint", "", "this machine's fingerprint, for a file bound to one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(keys) == 0 || fs.NArg() != 1 {
		return errors.New("license verify-file: want --public-key KEY and one FILE")
	}
	var known []licensefile.Key
	for _, k := range keys {
		pub, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("--public-key %q: not a base64 Ed25519 public key (32 bytes)", k)
		}
		known = append(known, licensefile.Key{ID: licensefile.KeyID(pub), PublicKey: pub})
	}
	file, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	l, err := licensefile.Verify(file, known, time.Now(), *fingerprint)
	if err != nil {
		return fmt.Errorf("%s does not verify: %w", fs.Arg(0), err)
	}
	b, _ := json.MarshalIndent(l, "", "  ")
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// multiFlag is a flag that may be given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
