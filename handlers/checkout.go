package handlers

import (
	"crypto/ed25519"
	"encoding/base64"
	"slices"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/licensefile"
)

// Signed license files: license.checkout signs a licensefile.License with the ledger's current
// Ed25519 key once the checkout event is durable (the file names the event's sequence), and
// license.signing-keys lists the public keys an application verifies files with.

// LicenseKey is one of the ledger's license signing keys. The current one (Retired zero) signs;
// a retired one is listed until every file it signed has expired.
type LicenseKey struct {
	Private ed25519.PrivateKey
	Retired time.Time
}

// licenseKeys are the ledger's license signing keys (Options.LicenseKeys).
type licenseKeys struct {
	current ed25519.PrivateKey // nil: checkouts are refused
	keys    []LicenseKey
}

func newLicenseKeys(keys []LicenseKey) *licenseKeys {
	k := &licenseKeys{keys: slices.Clone(keys)}
	for _, key := range keys {
		if key.Retired.IsZero() {
			k.current = key.Private
		}
	}
	return k
}

// currentID is the current key's id ("" if there is none).
func (k *licenseKeys) currentID() string {
	if k.current == nil {
		return ""
	}
	return licensefile.KeyID(k.current.Public().(ed25519.PublicKey))
}

// signingKey is one public key as license.signing-keys lists it.
type signingKey struct {
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"` // "ed25519"
	PublicKey string `json:"publicKey"` // the 32 bytes, standard base64
	// Retired is when the key stopped signing (absent for the current key); it is listed until
	// every file it signed has expired.
	Retired *time.Time `json:"retired,omitempty"`
}

type signingKeysQuery struct{ ReadOptions }

type signingKeys struct {
	Keys []signingKey `json:"keys"`
}

// listSigningKeys answers license.signing-keys: the current key and those retired less than the
// longest validity of a file ago. It is open to anyone, as license.validate.
func listSigningKeys(l *Ledger, _ domain.Credential, _ signingKeysQuery) (signingKeys, error) {
	out := signingKeys{Keys: []signingKey{}}
	now := l.now()
	for _, k := range l.licenseKeys.keys {
		if !k.Retired.IsZero() && now.Sub(k.Retired) > domain.MaxCheckoutTTL {
			continue
		}
		pub := k.Private.Public().(ed25519.PublicKey)
		sk := signingKey{KeyID: licensefile.KeyID(pub), Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub)}
		if !k.Retired.IsZero() {
			retired := k.Retired.UTC()
			sk.Retired = &retired
		}
		out.Keys = append(out.Keys, sk)
	}
	return out, nil
}

type checkoutWire struct {
	domain.LicenseCheckout
	CommandMeta
}

// checkoutResult is license.checkout's result: the signed file and what it says.
type checkoutResult struct {
	// File is the license file: a compact JWS (docs/LICENSE-FILES.md), to store as is.
	File    string              `json:"file"`
	KeyID   string              `json:"keyId"`
	License licensefile.License `json:"license"`
	key     ed25519.PrivateKey
}

// atSequence signs the file once the checkout's sequence is known (sequenced).
func (r *checkoutResult) atSequence(seq uint64) {
	r.License.Sequence = seq
	file, err := licensefile.Sign(r.License, r.key)
	if err == nil { // the claims are plain data
		r.File = string(file)
	}
}

// sequenced is a result that needs its command's first event's sequence before it is rendered.
type sequenced interface{ atSequence(seq uint64) }

func checkoutCommand(w checkoutWire, env *commandEnv) (*prepared, error) {
	if env.licenseKeys == nil || env.licenseKeys.current == nil {
		return nil, domain.Errorf(CodeUnavailable, "", "the ledger has no license signing key")
	}
	w.KeyID = env.licenseKeys.currentID()
	key := env.licenseKeys.current
	return &prepared{cmd: w.LicenseCheckout, meta: w.CommandMeta, result: func(s *domain.State, now time.Time) any {
		l := s.Licenses[w.LicenseID]
		claims := licensefile.License{LicenseID: l.ID, ProductID: l.ProductID, PlanID: l.PlanID, ResellerID: l.ResellerID,
			TenantID: l.TenantID, Status: l.StatusAt(now), ExpiresAt: l.ExpiresAt, Machines: l.Machines,
			Entitlements: append([]string{}, s.Entitled(l)...), Fingerprint: w.Fingerprint, IssuedAt: now, ValidUntil: now.Add(w.TTL())}
		return &checkoutResult{KeyID: w.KeyID, License: claims, key: key}
	}}, nil
}
