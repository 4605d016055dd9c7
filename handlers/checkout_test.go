package handlers

import (
	"bytes"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/licensefile"
)

// TestSigningKeysKeepRetiredKeysForAYear: the current key and those retired less than the longest
// validity of a file ago are listed (their files still verify); older ones are not.
func TestSigningKeysKeepRetiredKeysForAYear(t *testing.T) {
	key := func(b byte) ed25519.PrivateKey {
		return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	}
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	l := &Ledger{now: func() time.Time { return now }, licenseKeys: newLicenseKeys([]LicenseKey{
		{Private: key(1), Retired: now.Add(-domain.MaxCheckoutTTL - time.Hour)}, // its files have all expired
		{Private: key(2), Retired: now.Add(-24 * time.Hour)},
		{Private: key(3)},
	})}
	got, err := listSigningKeys(l, domain.Credential{}, signingKeysQuery{})
	if err != nil {
		t.Fatal(err)
	}
	id := func(k ed25519.PrivateKey) string { return licensefile.KeyID(k.Public().(ed25519.PublicKey)) }
	if len(got.Keys) != 2 || got.Keys[0].KeyID != id(key(2)) || got.Keys[0].Retired == nil || got.Keys[1].KeyID != id(key(3)) || got.Keys[1].Retired != nil {
		t.Fatalf("listed %+v", got.Keys)
	}
	if l.licenseKeys.currentID() != id(key(3)) {
		t.Fatalf("signs with %s, want the current key", l.licenseKeys.currentID())
	}
}
