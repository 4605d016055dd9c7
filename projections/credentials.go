package projections

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/licledger/licledger/domain"
)

// Credentials is the read model authentication uses: credentials by the keyed hash of their
// current token. A disabled or revoked credential, or a token rotated away, stops working as soon
// as the event is applied.
type Credentials struct {
	mu     sync.RWMutex
	byID   map[string]*domain.Credential
	byHash map[string]string // keyed hash of the current token -> credential id
	times  map[string]*credentialTimes
	dirty  map[string]struct{} // credentials changed since the last Save; nil until Load
}

// credentialTimes are what the ERP's API user list shows besides the credential itself. Issue and
// rotation times come from the log; the last login is kept in memory (an event per request would
// double the log) and persisted from time to time by the caller (see LastLogins).
type credentialTimes struct {
	IssuedAt, RotatedAt, LastLoginAt time.Time
	dirty                            bool // last login changed since LastLogins last reported it
}

// NewCredentials returns an empty read model.
func NewCredentials() *Credentials {
	return &Credentials{byID: map[string]*domain.Credential{}, byHash: map[string]string{}, times: map[string]*credentialTimes{}}
}

// ApplySeat implements SeatProjection: seats do not concern credentials.
func (p *Credentials) ApplySeat(Meta, *SeatFact) {}

// Apply implements Projection.
func (p *Credentials) Apply(m Meta, e domain.Event) {
	switch e := e.(type) {
	case domain.CredentialIssued:
		p.mu.Lock()
		p.byID[e.ID] = domain.NewCredential(e)
		p.byHash[e.TokenHash] = e.ID
		p.markDirty(e.ID)
		if t := p.times[e.ID]; t != nil { // a last login restored before the log was read
			t.IssuedAt = m.Time
		} else {
			p.times[e.ID] = &credentialTimes{IssuedAt: m.Time}
		}
		p.mu.Unlock()
	case domain.CredentialDisabled, domain.CredentialEnabled, domain.CredentialRevoked, domain.CredentialRotated, domain.CredentialAccessSet,
		domain.CredentialDeleted, domain.CredentialUpdated:
		p.mu.Lock()
		defer p.mu.Unlock()
		c := p.byID[e.AggregateID()]
		p.markDirty(c.ID)
		oldHash := c.TokenHash
		c.Apply(e)
		if c.TokenHash != oldHash {
			delete(p.byHash, oldHash) // the old token stops at once
			p.byHash[c.TokenHash] = c.ID
			p.times[c.ID].RotatedAt = m.Time
		}
	}
}

func (p *Credentials) markDirty(id string) {
	if p.dirty != nil {
		p.dirty[id] = struct{}{}
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

// loginResolution is how fine last-login times are kept: within it, a login changes nothing and
// takes no write lock (authentication is on every request's path).
const loginResolution = time.Second

// RecordLogin notes that credential id authenticated at t. It touches memory only.
func (p *Credentials) RecordLogin(id string, t time.Time) {
	p.mu.RLock()
	ct := p.times[id]
	fresh := ct != nil && t.Sub(ct.LastLoginAt) < loginResolution
	p.mu.RUnlock()
	if fresh {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ct = p.times[id]
	if ct == nil || !t.After(ct.LastLoginAt) {
		return
	}
	ct.LastLoginAt, ct.dirty = t, true
}

// LastLogins returns the last logins that changed since the previous call, for the caller to
// persist (licledger does so at most once a minute), and RestoreLastLogin puts one back at start.
func (p *Credentials) LastLogins() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]time.Time{}
	for id, t := range p.times {
		if t.dirty {
			out[id], t.dirty = t.LastLoginAt, false
		}
	}
	return out
}

// RestoreLastLogin sets a credential's last login from persisted state.
func (p *Credentials) RestoreLastLogin(id string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ct := p.times[id]
	if ct == nil {
		ct = &credentialTimes{}
		p.times[id] = ct
	}
	if t.After(ct.LastLoginAt) {
		ct.LastLoginAt = t
	}
}

// CredentialView is a credential in the ERP's API user list (never its token or hash).
type CredentialView struct {
	ID          string            `json:"id"`
	Role        string            `json:"role"`
	Scope       domain.Scope      `json:"scope"`
	Description string            `json:"description,omitempty"`
	Enabled     bool              `json:"enabled"`
	Revoked     bool              `json:"revoked"`
	Access      map[string]string `json:"access,omitempty"`
	ExpiresAt   *time.Time        `json:"expiresAt,omitempty"`
	IssuedAt    time.Time         `json:"issuedAt"`
	RotatedAt   *time.Time        `json:"rotatedAt,omitempty"`
	LastLoginAt *time.Time        `json:"lastLoginAt,omitempty"`
	Session     bool              `json:"session,omitempty"` // an admin's login session (admin.login)
}

func (p *Credentials) view(c *domain.Credential) CredentialView {
	v := CredentialView{ID: c.ID, Role: c.Role, Scope: c.Scope, Description: c.Description, Enabled: c.Enabled, Revoked: c.Revoked,
		Access: c.Access, Session: c.Session}
	if !c.ExpiresAt.IsZero() {
		at := c.ExpiresAt
		v.ExpiresAt = &at
	}
	if t := p.times[c.ID]; t != nil {
		v.IssuedAt = t.IssuedAt
		if !t.RotatedAt.IsZero() {
			r := t.RotatedAt
			v.RotatedAt = &r
		}
		if !t.LastLoginAt.IsZero() {
			l := t.LastLoginAt
			v.LastLoginAt = &l
		}
	}
	return v
}

// Get returns one credential's view; a deleted credential is not found.
func (p *Credentials) Get(id string) (CredentialView, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c, ok := p.byID[id]
	if !ok || c.Deleted {
		return CredentialView{}, false
	}
	return p.view(c), true
}

// List returns the credentials keep accepts (the caller's filters and scope), in id order, one
// page at a time; after is the last id of the previous page. Deleted credentials are left out.
func (p *Credentials) List(after string, limit int, keep func(*domain.Credential) bool) (items []CredentialView, next string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	ids := make([]string, 0, len(p.byID))
	for id, c := range p.byID {
		if id > after && !c.Deleted && keep(c) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	items = []CredentialView{}
	for _, id := range ids {
		if len(items) == limit {
			return items, items[len(items)-1].ID
		}
		items = append(items, p.view(p.byID[id]))
	}
	return items, ""
}

// Credentials are stored as one record per credential (under p/credentials/r/<id>): the
// credential and its issue and rotation times. Last logins are not: they are not in the log, and
// the caller persists them itself (see LastLogins).

// credentialsVersion is the record layout and rules version; change it whenever either changes.
const credentialsVersion = 3

type credentialStored struct {
	domain.Credential
	IssuedAt, RotatedAt time.Time
}

// Name implements Persistent.
func (p *Credentials) Name() string { return "credentials" }

// Version implements Persistent.
func (p *Credentials) Version() int { return credentialsVersion }

// Save implements Persistent.
func (p *Credentials) Save(w RecordWriter) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := range p.dirty {
		b, err := p.record(id)
		if err != nil {
			return err
		}
		w.Set([]byte(id), b)
	}
	clear(p.dirty)
	return nil
}

func (p *Credentials) record(id string) ([]byte, error) {
	r := credentialStored{Credential: *p.byID[id]}
	if t := p.times[id]; t != nil {
		r.IssuedAt, r.RotatedAt = t.IssuedAt, t.RotatedAt
	}
	return json.Marshal(r)
}

// Load implements Persistent. Call RestoreLastLogin after it.
func (p *Credentials) Load(scan func(fn func(key, value []byte) error) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byID, p.byHash, p.times, p.dirty = map[string]*domain.Credential{}, map[string]string{}, map[string]*credentialTimes{}, map[string]struct{}{}
	return scan(func(key, value []byte) error {
		var r credentialStored
		if err := json.Unmarshal(value, &r); err != nil {
			return fmt.Errorf("credential record %q: %w", key, err)
		}
		c := r.Credential
		p.byID[c.ID] = &c
		p.byHash[c.TokenHash] = c.ID
		p.times[c.ID] = &credentialTimes{IssuedAt: r.IssuedAt, RotatedAt: r.RotatedAt}
		return nil
	})
}

// Dump returns every credential's record and the token index, keyed by record key (see
// Licenses.Dump).
func (p *Credentials) Dump() (map[string]string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := map[string]string{}
	for id := range p.byID {
		b, err := p.record(id)
		if err != nil {
			return nil, err
		}
		out[id] = string(b)
	}
	for h, id := range p.byHash {
		out["index/token/"+h] = id
	}
	return out, nil
}
