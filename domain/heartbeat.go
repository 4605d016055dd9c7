package domain

import (
	"time"
)

// Floating licenses (Keygen): a plan may say its machines stay activated only while they send
// heartbeats. The first heartbeat of a machine is an event (machine.heartbeat-started.v1); the
// later ones are not (a million machines beating every ten minutes would be 1,700 events a
// second of noise): the ledger keeps them in memory, and deactivates a machine whose window
// passed without one, as an event with the reason, which frees its slot.

// Heartbeat windows.
const (
	DefaultHeartbeatWindow = 10 * time.Minute // Keygen's
	MinHeartbeatWindow     = time.Second
	MaxHeartbeatWindow     = 24 * time.Hour
)

// Validation codes of floating licenses (Keygen's).
const (
	ValidationHeartbeatNotStarted = "HEARTBEAT_NOT_STARTED"
	ValidationHeartbeatDead       = "HEARTBEAT_DEAD"
)

// ReasonHeartbeatDead is the reason of a machine the ledger deactivated for want of heartbeats.
const ReasonHeartbeatDead = "no heartbeat within the window"

// HeartbeatWindow is how long a machine of a license on plan p may go without a heartbeat;
// false if the plan's licenses are not floating.
func (p *Plan) HeartbeatWindow() (time.Duration, bool) {
	if p == nil || !p.Floating {
		return 0, false
	}
	if p.HeartbeatSeconds == 0 {
		return DefaultHeartbeatWindow, true
	}
	return time.Duration(p.HeartbeatSeconds) * time.Second, true
}

// MachineHeartbeat says an activated machine is alive.
type MachineHeartbeat struct {
	LicenseID   string `json:"licenseId"`
	Fingerprint string `json:"fingerprint"`
}

func (MachineHeartbeat) CommandName() string { return "machine.heartbeat" }

// MachineCull deactivates a machine whose heartbeat window passed. Only the ledger sends it (it
// has no wire form): Dead says, when the command is decided, whether the machine is still dead.
type MachineCull struct {
	LicenseID   string
	Fingerprint string
	Dead        func() bool
}

func (MachineCull) CommandName() string { return "machine.cull" }

// TypeMachineHeartbeatStarted is the event of a machine's first heartbeat.
const TypeMachineHeartbeatStarted = "machine.heartbeat-started.v1"

// MachineHeartbeatStarted records a machine's first heartbeat.
type MachineHeartbeatStarted struct {
	LicenseID   string    `json:"licenseId"`
	ResellerID  string    `json:"resellerId"`
	TenantID    string    `json:"tenantId"`
	Fingerprint string    `json:"fingerprint"`
	At          time.Time `json:"at"`
}

func (MachineHeartbeatStarted) EventType() string         { return TypeMachineHeartbeatStarted }
func (e MachineHeartbeatStarted) AggregateID() string     { return e.LicenseID }
func (e MachineHeartbeatStarted) Stream() string          { return LicenseStream(e.LicenseID) }
func (e MachineHeartbeatStarted) Owner() (string, string) { return e.ResellerID, e.TenantID }

// decideMachineHeartbeat: a heartbeat of a machine activated on a floating license. Only the
// first appends an event; the later ones append nothing (the handlers keep them).
func (s *State) decideMachineHeartbeat(now time.Time, c MachineHeartbeat) ([]Event, error) {
	l, err := s.changeable(c.LicenseID)
	if err != nil {
		return nil, err
	}
	if err := checkFingerprint(c.Fingerprint); err != nil {
		return nil, err
	}
	m, ok := l.Activations[c.Fingerprint]
	if !ok {
		return nil, Errorf(CodeMachineNotFound, "fingerprint", "no machine with this fingerprint is activated on license %q", l.ID)
	}
	if _, floating := s.Plans[l.PlanID].HeartbeatWindow(); !floating {
		return nil, Errorf(CodeInvalidArgument, "licenseId", "license %q is not floating: its plan asks for no heartbeats", l.ID)
	}
	if !m.HeartbeatAt.IsZero() {
		return nil, nil
	}
	return []Event{MachineHeartbeatStarted{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID, Fingerprint: c.Fingerprint, At: now}}, nil
}

// decideMachineCull deactivates a dead machine, if it still is one.
func (s *State) decideMachineCull(now time.Time, c MachineCull) ([]Event, error) {
	l, ok := s.Licenses[c.LicenseID]
	if !ok {
		return nil, nil
	}
	if _, ok := l.Activations[c.Fingerprint]; !ok || (c.Dead != nil && !c.Dead()) {
		return nil, nil // deactivated meanwhile, or a heartbeat came
	}
	return []Event{MachineDeactivated{LicenseID: l.ID, ResellerID: l.ResellerID, TenantID: l.TenantID,
		Fingerprint: c.Fingerprint, Reason: ReasonHeartbeatDead}}, nil
}
