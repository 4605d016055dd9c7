package datadir

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LicenseKeysFile holds the ledger's license signing keys (mode 0600), one per line, oldest
// first: the base64 Ed25519 seed, then "-" for the current key or the RFC 3339 time it was
// retired. The current key signs license files; retired ones stay listed (license.signing-keys)
// until every file they signed has expired.
const LicenseKeysFile = "license-signing.keys"

// LicenseKey is one line of LicenseKeysFile.
type LicenseKey struct {
	Private ed25519.PrivateKey
	Retired time.Time // zero: the current key
}

// LoadLicenseKeys reads the license signing keys, making the first on the first start.
func LoadLicenseKeys(dataDir string) ([]LicenseKey, error) {
	path := filepath.Join(dataDir, LicenseKeysFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		keys := []LicenseKey{newLicenseKey()}
		return keys, writeLicenseKeys(path, keys)
	}
	if err != nil {
		return nil, err
	}
	var keys []LicenseKey
	current := 0
	for n, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		seed, retired, ok := strings.Cut(strings.TrimSpace(line), " ")
		raw, err := base64.StdEncoding.DecodeString(seed)
		if !ok || err != nil || len(raw) != ed25519.SeedSize {
			return nil, fmt.Errorf("datadir: %s:%d: want \"<base64 seed> <- or retired time>\"", path, n+1)
		}
		k := LicenseKey{Private: ed25519.NewKeyFromSeed(raw)}
		if retired == "-" {
			current++
		} else if k.Retired, err = time.Parse(time.RFC3339, retired); err != nil {
			return nil, fmt.Errorf("datadir: %s:%d: %w", path, n+1, err)
		}
		keys = append(keys, k)
	}
	if current != 1 {
		return nil, fmt.Errorf("datadir: %s has %d current keys; want one", path, current)
	}
	return keys, nil
}

// RotateLicenseKey retires the current license signing key at now and makes a new one, which
// signs from the next start. It returns the keys as they are now.
func RotateLicenseKey(dataDir string, now time.Time) ([]LicenseKey, error) {
	keys, err := LoadLicenseKeys(dataDir)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if keys[i].Retired.IsZero() {
			keys[i].Retired = now.UTC().Truncate(time.Second)
		}
	}
	keys = append(keys, newLicenseKey())
	return keys, writeLicenseKeys(filepath.Join(dataDir, LicenseKeysFile), keys)
}

func newLicenseKey() LicenseKey {
	seed := make([]byte, ed25519.SeedSize)
	_, _ = rand.Read(seed) // crypto/rand.Read never fails (Go 1.24+)
	return LicenseKey{Private: ed25519.NewKeyFromSeed(seed)}
}

func writeLicenseKeys(path string, keys []LicenseKey) error {
	var b bytes.Buffer
	for _, k := range keys {
		retired := "-"
		if !k.Retired.IsZero() {
			retired = k.Retired.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%s %s\n", base64.StdEncoding.EncodeToString(k.Private.Seed()), retired)
	}
	return WriteFileSync(path, b.Bytes(), 0o600)
}
