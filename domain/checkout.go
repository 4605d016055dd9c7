package domain

import (
	"time"
)

// Signed license files (Keygen's license file checkout): an application validates offline with a
// file the ledger signed. The ledger makes and signs the file once the checkout is durable; the
// event says who took one for which license and machine, signed with which key, valid until when.

// Bounds of a license file's validity.
const (
	DefaultCheckoutTTL = 30 * 24 * time.Hour
	MinCheckoutTTL     = time.Hour
	MaxCheckoutTTL     = 365 * 24 * time.Hour
)

// LicenseCheckout asks for a signed license file.
type LicenseCheckout struct {
	LicenseID string `json:"licenseId"`
	// Fingerprint binds the file to one machine activated on the license.
	Fingerprint string `json:"fingerprint,omitempty"`
	// TTLSeconds is how long the file is valid (default 30 days, 1 hour to 1 year).
	TTLSeconds int64 `json:"ttlSeconds,omitempty"`
	// KeyID is the ledger's signing key's id; the handlers fill it, never the wire.
	KeyID string `json:"-"`
}

func (LicenseCheckout) CommandName() string { return "license.checkout" }

// TTL is how long the file is valid: TTLSeconds, or the default when it is left out. Only for a
// checkout the decision took (which refuses one out of bounds).
func (c LicenseCheckout) TTL() time.Duration {
	if c.TTLSeconds == 0 {
		return DefaultCheckoutTTL
	}
	return time.Duration(c.TTLSeconds) * time.Second
}

// TypeLicenseCheckedOut is the event type of a checkout.
const TypeLicenseCheckedOut = "license.checked-out.v1"

// LicenseCheckedOut records that a signed license file was issued.
type LicenseCheckedOut struct {
	LicenseID   string    `json:"licenseId"`
	ResellerID  string    `json:"resellerId"`
	TenantID    string    `json:"tenantId"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	KeyID       string    `json:"keyId"`
	IssuedAt    time.Time `json:"issuedAt"`
	ValidUntil  time.Time `json:"validUntil"`
}

func (LicenseCheckedOut) EventType() string         { return TypeLicenseCheckedOut }
func (e LicenseCheckedOut) AggregateID() string     { return e.LicenseID }
func (e LicenseCheckedOut) Stream() string          { return LicenseStream(e.LicenseID) }
func (e LicenseCheckedOut) Owner() (string, string) { return e.ResellerID, e.TenantID }

func (s *State) decideLicenseCheckout(now time.Time, c LicenseCheckout) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	// In seconds, as given: a number of seconds too large for a Duration must not wrap into range.
	if c.TTLSeconds != 0 && (c.TTLSeconds < int64(MinCheckoutTTL/time.Second) || c.TTLSeconds > int64(MaxCheckoutTTL/time.Second)) {
		return nil, Errorf(CodeInvalidArgument, "ttlSeconds", "must be between %d (an hour) and %d (a year) seconds", int64(MinCheckoutTTL/time.Second), int64(MaxCheckoutTTL/time.Second))
	}
	if c.Fingerprint != "" {
		if err := checkFingerprint(c.Fingerprint); err != nil {
			return nil, err
		}
		if _, ok := l.Activations[c.Fingerprint]; !ok {
			return nil, Errorf(CodeMachineNotFound, "fingerprint", "no machine with this fingerprint is activated on license %q: activate it before binding a file to it", l.ID)
		}
	}
	if c.KeyID == "" {
		return nil, Errorf(CodeInvalidArgument, "", "the ledger has no license signing key")
	}
	return []Event{LicenseCheckedOut{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID,
		Fingerprint: c.Fingerprint, KeyID: c.KeyID, IssuedAt: now, ValidUntil: now.Add(c.TTL())}}, nil
}
