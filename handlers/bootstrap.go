package handlers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// BootstrapTokenFile is where the first start writes the system-admin token.
const BootstrapTokenFile = "bootstrap-admin.token"

// Bootstrap issues one system-admin credential if the log has none, and writes its token to
// <dataDir>/bootstrap-admin.token (mode 0600). It returns the file's path, or "" if the log
// already had credentials. It must run before the ledger serves requests.
//
// The file is written (and synced) before the credential is committed: a crash in between leaves
// a token that matches nothing, and the next start issues a new one over it.
func (l *Ledger) Bootstrap(ctx context.Context, dataDir string) (string, error) {
	if len(l.state.Credentials) > 0 { // no request is served yet: nothing else touches the state
		return "", nil
	}
	token, hash, prefix := l.secrets.NewToken()
	path := filepath.Join(dataDir, BootstrapTokenFile)
	if err := writeFileSync(path, []byte(token+"\n"), 0o600); err != nil {
		return "", err
	}
	issue := domain.CredentialIssue{ID: ulid.Make().String(), Role: domain.RoleSystemAdmin,
		Description: "bootstrap system administrator", TokenHash: hash, TokenPrefix: prefix}
	p := &prepared{cmd: issue, result: untyped(created(issue))}
	if _, err := l.store.Submit(ctx, eventstore.Command{Actor: "bootstrap", Decide: l.decision(p)}); err != nil {
		return "", fmt.Errorf("handlers: bootstrap credential: %w", err)
	}
	if _, err := l.runner.CatchUp(); err != nil { // the projector runs only after bootstrap
		return "", err
	}
	return path, nil
}

// KeyFiles are the files of a data dir that its log does not hold, so a backup must: the server
// key (required to restore: without it no token or license key issued before validates, and a log
// that is not empty never bootstraps a new admin), the checkpoint signing key and the auth callout
// issuer's seed.
var KeyFiles = []string{ServerKeyFile, CheckpointKeyFile, CalloutIssuerFile}

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
		if err := writeFileSync(filepath.Join(dataDir, name), b, 0o600); err != nil {
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
		return "", fmt.Errorf("handlers: %s: %w", path, err)
	}
	return vkey, nil
}

// writeFileSync writes a file atomically (temp file, fsync, rename) with the given mode.
func writeFileSync(path string, data []byte, mode os.FileMode) error {
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
func LoadServerKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, ServerKeyFile)
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != ServerKeySize {
			return nil, fmt.Errorf("handlers: %s is %d bytes, want %d", path, len(key), ServerKeySize)
		}
		return key, nil
	}
	if !os.IsNotExist(err) {
		return nil, err
	}
	key = make([]byte, ServerKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, writeFileSync(path, key, 0o600)
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
		if err := writeFileSync(path, []byte(skey+"\n"), 0o600); err != nil {
			return "", "", err
		}
	default:
		return "", "", err
	}
	if vkey, err = eventstore.VerifierKey(skey); err != nil {
		return "", "", fmt.Errorf("handlers: %s: %w", path, err)
	}
	return skey, vkey, nil
}
