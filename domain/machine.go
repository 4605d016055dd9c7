package domain

import (
	"time"
	"unicode/utf8"
)

// MaxFingerprintLength bounds a machine fingerprint.
const MaxFingerprintLength = 256

// Machine is a device activated on a license (Keygen's machine), known by its fingerprint.
type Machine struct {
	Fingerprint string
	Name        string
	ActivatedAt time.Time
	// HeartbeatAt is the machine's first heartbeat (zero: none yet); on a floating license the
	// later ones are kept outside the log.
	HeartbeatAt time.Time
}

// MachineActivate activates a machine on a license. The plan's machine limit (0: no limit)
// bounds how many may be active at once.
type MachineActivate struct {
	LicenseID   string `json:"licenseId"`
	Fingerprint string `json:"fingerprint"`
	Name        string `json:"name,omitempty"`
}

func (MachineActivate) CommandName() string { return "machine.activate" }

// MachineDeactivate frees a machine's activation.
type MachineDeactivate struct {
	LicenseID   string `json:"licenseId"`
	Fingerprint string `json:"fingerprint"`
}

func (MachineDeactivate) CommandName() string { return "machine.deactivate" }

// Event types.
const (
	TypeMachineActivated   = "machine.activated.v1"
	TypeMachineDeactivated = "machine.deactivated.v1"
)

// MachineActivated records an activation.
type MachineActivated struct {
	LicenseID   string    `json:"licenseId"`
	ResellerID  string    `json:"resellerId"`
	TenantID    string    `json:"tenantId"`
	Fingerprint string    `json:"fingerprint"`
	Name        string    `json:"name,omitempty"`
	At          time.Time `json:"at"`
}

// MachineDeactivated records a deactivation.
type MachineDeactivated struct {
	LicenseID   string `json:"licenseId"`
	ResellerID  string `json:"resellerId"`
	TenantID    string `json:"tenantId"`
	Fingerprint string `json:"fingerprint"`
	// Reason is why the ledger itself deactivated the machine (ReasonHeartbeatDead); absent when
	// someone asked.
	Reason string `json:"reason,omitempty"`
}

func (MachineActivated) EventType() string           { return TypeMachineActivated }
func (MachineDeactivated) EventType() string         { return TypeMachineDeactivated }
func (e MachineActivated) AggregateID() string       { return e.LicenseID }
func (e MachineDeactivated) AggregateID() string     { return e.LicenseID }
func (e MachineActivated) Stream() string            { return LicenseStream(e.LicenseID) }
func (e MachineDeactivated) Stream() string          { return LicenseStream(e.LicenseID) }
func (e MachineActivated) Owner() (string, string)   { return e.ResellerID, e.TenantID }
func (e MachineDeactivated) Owner() (string, string) { return e.ResellerID, e.TenantID }

func checkFingerprint(fp string) error {
	if fp == "" {
		return Errorf(CodeInvalidArgument, "fingerprint", "is required")
	}
	if !utf8.ValidString(fp) || utf8.RuneCountInString(fp) > MaxFingerprintLength {
		return Errorf(CodeInvalidArgument, "fingerprint", "must be 1-%d characters of UTF-8", MaxFingerprintLength)
	}
	return nil
}

func (s *State) decideMachineActivate(now time.Time, c MachineActivate) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	if err := checkFingerprint(c.Fingerprint); err != nil {
		return nil, err
	}
	if c.Name != "" {
		if err := checkText("name", c.Name); err != nil {
			return nil, err
		}
	}
	switch status := l.StatusAt(now); status {
	case StatusActive:
	case StatusExpired:
		return nil, Errorf(CodeLicenseExpired, "licenseId", "license %q has expired; renew it first", l.ID)
	default:
		return nil, Errorf(CodeLicenseNotActive, "licenseId", "license %q is %s", l.ID, status)
	}
	if _, ok := l.Activations[c.Fingerprint]; ok {
		return nil, Errorf(CodeAlreadyExists, "fingerprint", "this fingerprint is already activated on license %q", l.ID)
	}
	if l.Machines > 0 && len(l.Activations) >= l.Machines {
		return nil, Errorf(CodeTooManyMachines, "fingerprint", "license %q already has its %d machines activated; deactivate one first", l.ID, l.Machines)
	}
	return []Event{MachineActivated{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID,
		Fingerprint: c.Fingerprint, Name: c.Name, At: now}}, nil
}

func (s *State) decideMachineDeactivate(c MachineDeactivate) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	if err := checkFingerprint(c.Fingerprint); err != nil {
		return nil, err
	}
	if _, ok := l.Activations[c.Fingerprint]; !ok {
		return nil, Errorf(CodeMachineNotFound, "fingerprint", "no machine with this fingerprint is activated on license %q", l.ID)
	}
	return []Event{MachineDeactivated{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, Fingerprint: c.Fingerprint}}, nil
}

func (l *License) applyMachine(e Event) {
	switch e := e.(type) {
	case MachineActivated:
		l.Activations[e.Fingerprint] = &Machine{Fingerprint: e.Fingerprint, Name: e.Name, ActivatedAt: e.At}
	case MachineDeactivated:
		delete(l.Activations, e.Fingerprint)
	}
}

// Validation codes (Keygen's validate-key).
const (
	ValidationValid            = "VALID"
	ValidationNotFound         = "NOT_FOUND"
	ValidationSuspended        = "SUSPENDED"
	ValidationExpired          = "EXPIRED"
	ValidationTerminated       = "TERMINATED"
	ValidationNoMachine        = "NO_MACHINE"
	ValidationFingerprintScope = "FINGERPRINT_SCOPE_MISMATCH"
	ValidationTooManyMachines  = "TOO_MANY_MACHINES"
)

// ValidateAt answers whether the license may be used at time t, on the machine with this
// fingerprint if one is given. It returns a validation code and a sentence for people.
func (l *License) ValidateAt(t time.Time, fingerprint string) (code, detail string) {
	switch l.StatusAt(t) {
	case StatusSuspended:
		return ValidationSuspended, "the license is suspended"
	case StatusExpired:
		return ValidationExpired, "the license has expired"
	case StatusTerminated:
		return ValidationTerminated, "the license is terminated"
	}
	if l.Machines > 0 && len(l.Activations) > l.Machines {
		// A downgrade can leave more machines than the new plan allows.
		return ValidationTooManyMachines, "more machines are activated than the license allows"
	}
	if fingerprint != "" {
		if len(l.Activations) == 0 {
			return ValidationNoMachine, "no machine is activated on the license"
		}
		if _, ok := l.Activations[fingerprint]; !ok {
			return ValidationFingerprintScope, "no machine with this fingerprint is activated on the license"
		}
	}
	return ValidationValid, "the license is valid"
}
