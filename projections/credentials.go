package projections

import (
	"sync"

	"github.com/licledger/licledger/domain"
)

// Credentials is the read model authentication uses: credentials by the keyed hash of their token.
type Credentials struct {
	mu     sync.RWMutex
	byHash map[string]domain.Credential
	count  int
}

// NewCredentials returns an empty read model.
func NewCredentials() *Credentials {
	return &Credentials{byHash: map[string]domain.Credential{}}
}

// Apply implements Projection.
func (p *Credentials) Apply(_ Meta, e domain.Event) {
	if c, ok := e.(domain.CredentialIssued); ok {
		p.mu.Lock()
		p.byHash[c.TokenHash] = domain.Credential{ID: c.ID, Role: c.Role, Scope: c.Scope, Description: c.Description, Enabled: true}
		p.count++
		p.mu.Unlock()
	}
}

// ByTokenHash returns the enabled credential whose token has this keyed hash.
func (p *Credentials) ByTokenHash(hash string) (domain.Credential, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c, ok := p.byHash[hash]
	return c, ok && c.Enabled
}

// Count is how many credentials were ever issued.
func (p *Credentials) Count() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.count
}
