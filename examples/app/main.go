// Command app is how an application asks licledger whether it may run: it validates its license
// key online (license.validate, no token needed), and when the ledger cannot be reached it falls
// back to its signed license file, checked offline with the ledger's public key alone
// (package licensefile). README, "Integrating an application", walks through it.
//
//	go run ./examples/app --key KEY --file app.lic --public-key PUB [--fingerprint F] [--nats-url URL]
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/licledger/licledger/client"
	"github.com/licledger/licledger/licensefile"
)

func main() {
	url := flag.String("nats-url", nats.DefaultURL, "the ledger's NATS server")
	key := flag.String("key", "", "the license key")
	fingerprint := flag.String("fingerprint", "", "this machine's fingerprint")
	file := flag.String("file", "", "the signed license file, for when the ledger cannot be reached")
	publicKey := flag.String("public-key", "", "the ledger's public signing key (license.signing-keys), base64")
	flag.Parse()
	verdict, err := mayRun(*url, *key, *fingerprint, *file, *publicKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, "app: may not run:", err)
		os.Exit(1)
	}
	fmt.Println("app: may run:", verdict)
}

// mayRun asks the ledger, and only if it cannot be reached, reads the license file.
func mayRun(url, key, fingerprint, file, publicKey string) (string, error) {
	nc, err := client.Connect(url, "", nats.Timeout(2*time.Second)) // anonymous: validation needs no token
	if err == nil {
		defer nc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		raw, err := client.New(nc, "").Query(ctx, "license.validate", map[string]string{"key": key, "fingerprint": fingerprint})
		if err == nil {
			var v struct {
				Valid        bool
				Code, Detail string
			}
			if err := json.Unmarshal(raw, &v); err != nil {
				return "", err
			}
			if !v.Valid {
				return "", fmt.Errorf("%s: %s", v.Code, v.Detail) // the ledger said no: no fallback
			}
			return "validated online", nil
		}
		var refused *client.Error
		if errors.As(err, &refused) {
			return "", err
		}
	}
	// The ledger cannot be reached: the signed file decides, until it expires.
	pub, err := base64.StdEncoding.DecodeString(publicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return "", errors.New("offline, and --public-key is not an Ed25519 public key")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("offline, and no license file: %w", err)
	}
	l, err := licensefile.Verify(b, []licensefile.Key{{ID: licensefile.KeyID(pub), PublicKey: pub}}, time.Now(), fingerprint)
	if err != nil {
		return "", fmt.Errorf("offline: %w", err)
	}
	return fmt.Sprintf("offline, license %s (%s) by its file, valid until %s", l.LicenseID, l.Status, l.ValidUntil.Format(time.RFC3339)), nil
}
