package handlers

import (
	"time"

	"github.com/licledger/licledger/domain"
)

// Wire forms of the license commands that need nothing filled in by the server.
type (
	suspendWire struct {
		domain.LicenseSuspend
		CommandMeta
	}
	reinstateWire struct {
		domain.LicenseReinstate
		CommandMeta
	}
	expireWire struct {
		domain.LicenseExpire
		CommandMeta
	}
	renewWire struct {
		domain.LicenseRenew
		CommandMeta
	}
	terminateWire struct {
		domain.LicenseTerminate
		CommandMeta
	}
	upgradeWire struct {
		domain.LicenseUpgrade
		CommandMeta
	}
	downgradeWire struct {
		domain.LicenseDowngrade
		CommandMeta
	}
	noteWire struct {
		domain.LicenseNote
		CommandMeta
	}
	setQuotaWire struct {
		domain.LicenseSetQuota
		Seats *int `json:"seats"` // shadows LicenseSetQuota.Seats: left out is refused, not 0
		CommandMeta
	}
	activateWire struct {
		domain.MachineActivate
		CommandMeta
	}
	deactivateWire struct {
		domain.MachineDeactivate
		CommandMeta
	}
)

func (w suspendWire) parts() (domain.Command, CommandMeta) { return w.LicenseSuspend, w.CommandMeta }
func (w reinstateWire) parts() (domain.Command, CommandMeta) {
	return w.LicenseReinstate, w.CommandMeta
}
func (w expireWire) parts() (domain.Command, CommandMeta) { return w.LicenseExpire, w.CommandMeta }
func (w renewWire) parts() (domain.Command, CommandMeta)  { return w.LicenseRenew, w.CommandMeta }
func (w terminateWire) parts() (domain.Command, CommandMeta) {
	return w.LicenseTerminate, w.CommandMeta
}
func (w upgradeWire) parts() (domain.Command, CommandMeta) { return w.LicenseUpgrade, w.CommandMeta }
func (w downgradeWire) parts() (domain.Command, CommandMeta) {
	return w.LicenseDowngrade, w.CommandMeta
}
func (w noteWire) parts() (domain.Command, CommandMeta) { return w.LicenseNote, w.CommandMeta }
func (w setQuotaWire) parts() (domain.Command, CommandMeta) {
	c := w.LicenseSetQuota
	c.Seats = *w.Seats
	return c, w.CommandMeta
}

func (w setQuotaWire) missing() error {
	if w.Seats == nil {
		return domain.Errorf(domain.CodeInvalidArgument, "seats", "is required")
	}
	return nil
}
func (w activateWire) parts() (domain.Command, CommandMeta) { return w.MachineActivate, w.CommandMeta }
func (w deactivateWire) parts() (domain.Command, CommandMeta) {
	return w.MachineDeactivate, w.CommandMeta
}

type rotateKeyWire struct {
	domain.LicenseRotateKey
	CommandMeta
}

// licenseKeyRotated is license.rotate-key's reply: the license and its new key.
type licenseKeyRotated struct {
	licenseSummary
	Key string `json:"key"` // shown once, here
}

func rotateKeyCommand(w rotateKeyWire, env *commandEnv) (*prepared, error) {
	key, hash, hint := env.secrets.NewLicenseKey()
	w.KeyHash, w.KeyHint = hash, hint
	summary := licenseResult(w.LicenseRotateKey)
	return &prepared{cmd: w.LicenseRotateKey, meta: w.CommandMeta, secret: true,
		result: func(s *domain.State, now time.Time) any {
			return licenseKeyRotated{summary(s, now), key}
		}}, nil
}

// licenseSummary is how a license looks in a command's reply.
type licenseSummary struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	PlanID    string     `json:"planId"`
	Seats     int        `json:"seats"`
	Machines  int        `json:"machines"`
	KeyHint   string     `json:"keyHint"`
	StartsAt  time.Time  `json:"startsAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	Notes     int        `json:"notes"`
	// ActiveMachines is how many machines are activated now (Machines is the limit; 0: none).
	ActiveMachines int `json:"activeMachines"`
}

// licenseResult answers with the license a command acted on, as it stands after it.
func licenseResult(cmd domain.Command) func(*domain.State, time.Time) licenseSummary {
	id := aggregateID(cmd)
	return func(s *domain.State, now time.Time) licenseSummary {
		l := s.Licenses[id]
		return licenseSummary{ID: l.ID, Status: l.StatusAt(now), PlanID: l.PlanID, Seats: l.Seats, Machines: l.Machines,
			KeyHint: l.KeyHint, StartsAt: l.StartsAt, ExpiresAt: optionalTime(l.ExpiresAt), Notes: len(l.Notes),
			ActiveMachines: len(l.Activations)}
	}
}
