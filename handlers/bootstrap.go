package handlers

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/oklog/ulid/v2"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/internal/datadir"
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
	if err := datadir.WriteFileSync(path, []byte(token+"\n"), 0o600); err != nil {
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
