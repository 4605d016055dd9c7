// Package datadir owns the files of a ledger's data dir that its log does not hold: the server
// key, the checkpoint signing key, the auth callout issuer's seed, and how they are made, read,
// backed up and restored. ledgerd's process owns the data dir; the ledger's core only gets the
// keys it is handed.
package datadir

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/licledger/licledger/eventstore"
)

// CalloutIssuerFile is the data-dir file holding the seed of the account key that signs the
// auth callout's answers on an external cluster (natsapi.LoadCalloutIssuer reads and makes it).
const CalloutIssuerFile = "nats-callout.seed"

// KeyFiles are the files of a data dir that its log does not hold, so a backup must: the server
// key (required to restore: without it no token or license key issued before validates, and a log
// that is not empty never bootstraps a new admin), the checkpoint signing key and the auth callout
// issuer's seed and the license signing keys (without them, no license file issued before
// verifies).
var KeyFiles = []string{ServerKeyFile, CheckpointKeyFile, CalloutIssuerFile, LicenseKeysFile}

// RestoreKeys copies the key files from a backup directory into a data dir (mode 0600, synced).
// The server key must be there; a missing other key is skipped, and the next start makes a new
// one.
func RestoreKeys(backup, dataDir string) error {
	for _, name := range KeyFiles {
		b, err := os.ReadFile(filepath.Join(backup, name))
		if errors.Is(err, os.ErrNotExist) && name != ServerKeyFile {
			continue
		}
		if err != nil {
			return err
		}
		if err := WriteFileSync(filepath.Join(dataDir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// CheckpointVerifierKey returns the verifier key of the checkpoint signing key in dir (a data dir,
// or a backup of its keys), which must be there.
func CheckpointVerifierKey(dir string) (string, error) {
	path := filepath.Join(dir, CheckpointKeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	vkey, err := eventstore.VerifierKey(strings.TrimSpace(string(b)))
	if err != nil {
		return "", fmt.Errorf("datadir: %s: %w", path, err)
	}
	return vkey, nil
}

// WriteFileSync writes a file atomically (temp file, fsync, rename) with the given mode.
func WriteFileSync(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ServerKeyFile holds the server secret under the data dir.
const ServerKeyFile = "server.key"

// LoadServerKey reads <dataDir>/server.key, creating it (32 random bytes, mode 0600) on first
// start. Losing it makes every token and license key unverifiable: back it up with the data.
func LoadServerKey(dataDir string, size int) ([]byte, error) {
	path := filepath.Join(dataDir, ServerKeyFile)
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != size {
			return nil, fmt.Errorf("datadir: %s is %d bytes, want %d", path, len(key), size)
		}
		return key, nil
	}
	if !os.IsNotExist(err) {
		return nil, err
	}
	key = make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, WriteFileSync(path, key, 0o600)
}

// CheckpointKeyFile holds the log's checkpoint signing key under the data dir (mode 0600).
const CheckpointKeyFile = "checkpoint-signing.key"

// CheckpointKeyName is the name in the keys of a new ledger, and the origin line of its
// checkpoints.
const CheckpointKeyName = "licledger"

// LoadCheckpointKey reads the checkpoint signing key, creating it on the first start. It returns
// the signing key and its public verifier key.
func LoadCheckpointKey(dataDir string) (skey, vkey string, err error) {
	path := filepath.Join(dataDir, CheckpointKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		skey = strings.TrimSpace(string(b))
	case os.IsNotExist(err):
		if skey, err = eventstore.GenerateCheckpointKey(CheckpointKeyName); err != nil {
			return "", "", err
		}
		if err := WriteFileSync(path, []byte(skey+"\n"), 0o600); err != nil {
			return "", "", err
		}
	default:
		return "", "", err
	}
	if vkey, err = eventstore.VerifierKey(skey); err != nil {
		return "", "", fmt.Errorf("datadir: %s: %w", path, err)
	}
	return skey, vkey, nil
}
