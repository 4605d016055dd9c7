package handlers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// An admin's personal data (first and last name, email address) and password hash never enter
// the log in the clear: the events carry them sealed (AES-256-GCM) under a key of that admin's
// own, which the ledger keeps outside the log, in its store's metadata (never published, never
// exported). Deleting the admin destroys the key: the history stays whole and verifiable — its
// bytes do not change — but no one can read that person's data in it any more (crypto-shredding).
//
// The domain carries the sealed strings as they are; the seal is put on in the decision, after
// the domain has checked the plain values, and taken off only to render a reply.

// personalKeyMeta prefixes the metadata names of the admins' keys.
const personalKeyMeta = "pii/"

// sealedPrefix marks a sealed value: "pii:v1:<key id>:<base64 of nonce and ciphertext>".
const sealedPrefix = "pii:v1:"

// personalKeys holds the admins' keys, by key id.
type personalKeys struct {
	store *eventstore.Store
	mu    sync.RWMutex
	keys  map[string]cipher.AEAD
}

func loadPersonalKeys(store *eventstore.Store) (*personalKeys, error) {
	p := &personalKeys{store: store, keys: map[string]cipher.AEAD{}}
	err := store.ScanMeta(personalKeyMeta, func(name string, v []byte) error {
		aead, err := newAEAD(v)
		if err != nil {
			return fmt.Errorf("personal data key %s: %w", name, err)
		}
		p.keys[strings.TrimPrefix(name, personalKeyMeta)] = aead
		return nil
	})
	return p, err
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// newKey draws a key, stores it (fsynced, before any event sealed under it) and returns its id.
func (p *personalKeys) newKey() (string, error) {
	key, id := make([]byte, 32), make([]byte, 8)
	_, _ = rand.Read(key)
	_, _ = rand.Read(id)
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	name := hex.EncodeToString(id)
	if err := p.store.SetMetaSynced(personalKeyMeta+name, key); err != nil {
		return "", err
	}
	p.mu.Lock()
	p.keys[name] = aead
	p.mu.Unlock()
	return name, nil
}

// forget destroys a key: what was sealed under it can no longer be read.
func (p *personalKeys) forget(id string) error {
	if id == "" {
		return nil
	}
	p.mu.Lock()
	delete(p.keys, id)
	p.mu.Unlock()
	return p.store.DeleteMeta(personalKeyMeta + id)
}

// seal seals plain under key id ("" stays "").
func (p *personalKeys) seal(id, plain string) string {
	if plain == "" {
		return ""
	}
	p.mu.RLock()
	aead := p.keys[id]
	p.mu.RUnlock()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return sealedPrefix + id + ":" + base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), []byte(id)))
}

// open reads a value: a sealed one with its key, or "" if the key is destroyed; anything else
// (a value from before sealing) as it is.
func (p *personalKeys) open(v string) string {
	rest, sealed := strings.CutPrefix(v, sealedPrefix)
	if !sealed || p == nil {
		return v
	}
	id, b64, _ := strings.Cut(rest, ":")
	p.mu.RLock()
	aead := p.keys[id]
	p.mu.RUnlock()
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if aead == nil || err != nil || len(raw) < aead.NonceSize() {
		return ""
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id))
	if err != nil {
		return ""
	}
	return string(plain)
}

// sealEvents seals the personal data and password hashes of the admin events a decision made,
// against the write model s as it stands before they apply. It runs on the sequencer.
func (p *personalKeys) sealEvents(s *domain.State, events []domain.Event) ([]domain.Event, error) {
	sealPtr := func(id string, v *string) *string {
		if v == nil {
			return nil
		}
		sealed := p.seal(id, *v)
		return &sealed
	}
	for i, e := range events {
		switch e := e.(type) {
		case domain.AdminCreated:
			id, err := p.newKey()
			if err != nil {
				return nil, err
			}
			e.PIIKey = id
			e.FirstName, e.LastName, e.EmailAddress = p.seal(id, e.FirstName), p.seal(id, e.LastName), p.seal(id, e.EmailAddress)
			e.PasswordHash = p.seal(id, e.PasswordHash)
			events[i] = e
		case domain.AdminUpdated:
			id := ""
			if a, ok := s.Admins[e.Username]; ok {
				id = a.PIIKey
			}
			if id == "" { // an admin from before sealing gets its key now
				var err error
				if id, err = p.newKey(); err != nil {
					return nil, err
				}
				e.PIIKey = id
			}
			e.FirstName, e.LastName, e.EmailAddress = sealPtr(id, e.FirstName), sealPtr(id, e.LastName), sealPtr(id, e.EmailAddress)
			e.PasswordHash = p.seal(id, e.PasswordHash)
			events[i] = e
		}
	}
	return events, nil
}

// forgetDeleted destroys the keys of the admins the events delete, given the write model as it
// stood before them.
func (p *personalKeys) forgetDeleted(s *domain.State, events []domain.Event) []string {
	var ids []string
	for _, e := range events {
		if d, ok := e.(domain.AdminDeleted); ok {
			if a, ok := s.Admins[d.Username]; ok && a.PIIKey != "" {
				ids = append(ids, a.PIIKey)
			}
		}
	}
	return ids
}

// sweep destroys every key no admin of s holds: an admin deleted by a ledger that stopped before
// it destroyed the key.
func (p *personalKeys) sweep(s *domain.State) error {
	live := map[string]bool{}
	for _, a := range s.Admins {
		live[a.PIIKey] = true
	}
	p.mu.RLock()
	var dead []string
	for id := range p.keys {
		if !live[id] {
			dead = append(dead, id)
		}
	}
	p.mu.RUnlock()
	for _, id := range dead {
		if err := p.forget(id); err != nil {
			return err
		}
	}
	return nil
}
