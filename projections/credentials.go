package projections

import (
	"sync"

	"github.com/licledger/licledger/domain"
)

// Credentials is the read model authentication uses: credentials by the keyed hash of their
// current token. A disabled or revoked credential, or a token rotated away, stops working as soon
// as the event is applied.
type Credentials struct {
	mu     sync.RWMutex
	byID   map[string]*domain.Credential
	byHash map[string]string // keyed hash of the current token -> credential id
}

// NewCredentials returns an empty read model.
func NewCredentials() *Credentials {
	return &Credentials{byID: map[string]*domain.Credential{}, byHash: map[string]string{}}
}

// Apply implements Projection.
func (p *Credentials) Apply(_ Meta, e domain.Event) {
	switch e := e.(type) {
	case domain.CredentialIssued:
		p.mu.Lock()
		p.byID[e.ID] = &domain.Credential{ID: e.ID, Role: e.Role, Scope: e.Scope, Description: e.Description, Enabled: true, TokenHash: e.TokenHash}
		p.byHash[e.TokenHash] = e.ID
		p.mu.Unlock()
	case domain.CredentialDisabled, domain.CredentialEnabled, domain.CredentialRevoked, domain.CredentialRotated, domain.CredentialAccessSet:
		p.mu.Lock()
		defer p.mu.Unlock()
		c := p.byID[e.AggregateID()]
		oldHash := c.TokenHash
		c.Apply(e)
		if c.TokenHash != oldHash {
			delete(p.byHash, oldHash) // the old token stops at once
			p.byHash[c.TokenHash] = c.ID
		}
	}
}

// ByTokenHash returns the usable credential whose current token has this keyed hash.
func (p *Credentials) ByTokenHash(hash string) (domain.Credential, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c, ok := p.byID[p.byHash[hash]]
	if !ok || !c.Enabled || c.Revoked {
		return domain.Credential{}, false
	}
	return *c, true
}
