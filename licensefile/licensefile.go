// Package licensefile reads and checks the signed license files licledger issues
// (license.checkout), so that an application can decide whether it may run without asking the
// ledger. It needs only the ledger's public signing keys (the query license.signing-keys) and
// imports only the standard library: copy it, or import it.
//
// A license file is a compact JWS (RFC 7515) signed with Ed25519 (RFC 8037, "alg": "EdDSA"):
//
//	base64url(header) "." base64url(claims) "." base64url(signature)
//
// without padding, optionally followed by a newline. The header is
// {"alg":"EdDSA","kid":"<key id>","typ":"licledger-license"}; the key id is the first 16 hex
// digits of the SHA-256 of the 32-byte public key. The signature is Ed25519 over the ASCII bytes
// of the first two parts joined by the dot. The claims are License, as JSON. Any other language
// verifies it with its JWS library or in a few lines: docs/LICENSE-FILES.md has the format byte
// for byte.
package licensefile

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Type is the header's "typ" of a license file.
const Type = "licledger-license"

// License is what a license file says: the claims the ledger signed.
type License struct {
	LicenseID    string    `json:"licenseId"`
	ProductID    string    `json:"productId"`
	PlanID       string    `json:"planId"`
	ResellerID   string    `json:"resellerId"`
	TenantID     string    `json:"tenantId"`
	Status       string    `json:"status"` // active, suspended, expired or terminated when issued
	ExpiresAt    time.Time `json:"expiresAt,omitzero"`
	Machines     int       `json:"machines"` // how many machines may be activated (0: no limit)
	Entitlements []string  `json:"entitlements"`
	// Fingerprint binds the file to one activated machine ("" for none).
	Fingerprint string    `json:"fingerprint,omitempty"`
	IssuedAt    time.Time `json:"issuedAt"`
	ValidUntil  time.Time `json:"validUntil"`
	// Sequence is the ledger's log sequence of the checkout: an auditor finds the event there.
	Sequence uint64 `json:"sequence"`
}

// Key is one of the ledger's public signing keys.
type Key struct {
	ID        string            // KeyID(Public)
	PublicKey ed25519.PublicKey // 32 bytes
}

// Why a file is refused. Verify wraps them with the detail.
var (
	ErrMalformed        = errors.New("licensefile: not a license file")
	ErrUnknownKey       = errors.New("licensefile: signed with an unknown key")
	ErrBadSignature     = errors.New("licensefile: bad signature")
	ErrExpired          = errors.New("licensefile: expired")
	ErrWrongFingerprint = errors.New("licensefile: bound to another machine")
)

type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// b64 is strict: a changed bit that base64 would ignore (the last character's spare bits) makes a
// different file, and any changed byte must be refused.
var b64 = base64.RawURLEncoding.Strict()

// KeyID is a public key's id: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Sign makes the license file of l, signed with key (whose id it derives).
func Sign(l License, key ed25519.PrivateKey) ([]byte, error) {
	h, err := json.Marshal(header{Alg: "EdDSA", Kid: KeyID(key.Public().(ed25519.PublicKey)), Typ: Type})
	if err != nil {
		return nil, err
	}
	c, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	signed := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sig := ed25519.Sign(key, []byte(signed))
	return []byte(signed + "." + b64.EncodeToString(sig) + "\n"), nil
}

// Verify checks a license file against the ledger's public keys and returns what it says. It is
// refused (with one of the errors above, wrapped) unless it is well formed, signed by one of keys,
// not past its ValidUntil at now, and, if it is bound to a machine, fingerprint is that machine's.
func Verify(file []byte, keys []Key, now time.Time, fingerprint string) (License, error) {
	l, err := Parse(file, keys)
	if err != nil {
		return License{}, err
	}
	if !now.Before(l.ValidUntil) {
		return l, fmt.Errorf("%w: valid until %s", ErrExpired, l.ValidUntil.UTC().Format(time.RFC3339))
	}
	if l.Fingerprint != "" && l.Fingerprint != fingerprint {
		return l, fmt.Errorf("%w: the file is for machine %q", ErrWrongFingerprint, l.Fingerprint)
	}
	return l, nil
}

// Parse checks a license file's form and signature only (not its validity period or machine).
func Parse(file []byte, keys []Key) (License, error) {
	file = bytes.TrimSpace(file)
	parts := bytes.Split(file, []byte("."))
	if len(parts) != 3 {
		return License{}, fmt.Errorf("%w: want three base64url parts separated by dots, got %d", ErrMalformed, len(parts))
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := b64.DecodeString(string(p))
		if err != nil {
			return License{}, fmt.Errorf("%w: part %d: %v", ErrMalformed, i+1, err)
		}
		raw[i] = b
	}
	var h header
	if err := strictJSON(raw[0], &h); err != nil {
		return License{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != "EdDSA" || h.Typ != Type {
		return License{}, fmt.Errorf("%w: header says alg %q, typ %q; want EdDSA, %s", ErrMalformed, h.Alg, h.Typ, Type)
	}
	var key ed25519.PublicKey
	for _, k := range keys {
		if k.ID == h.Kid && len(k.PublicKey) == ed25519.PublicKeySize {
			key = k.PublicKey
		}
	}
	if key == nil {
		return License{}, fmt.Errorf("%w: key id %q", ErrUnknownKey, h.Kid)
	}
	signed := file[:len(parts[0])+1+len(parts[1])]
	if len(raw[2]) != ed25519.SignatureSize || !ed25519.Verify(key, signed, raw[2]) {
		return License{}, ErrBadSignature
	}
	var l License
	if err := json.Unmarshal(raw[1], &l); err != nil {
		return License{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	return l, nil
}

// strictJSON decodes exactly one object with no field v does not have.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("more after the object")
	}
	return nil
}
