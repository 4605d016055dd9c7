package handlers

import (
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/licledger/licledger/domain"
)

// CommandMeta are the fields every command body may carry beside its own. (Exported so that
// decode errors, which name embedded structs by type, can tell Go names from wire names.)
type CommandMeta struct {
	CommandID       string `json:"commandId,omitempty"`
	ExpectedVersion *int64 `json:"expectedVersion,omitempty"`
}

// prepared is a decoded command, ready for the sequencer.
type prepared struct {
	cmd    domain.Command
	meta   CommandMeta
	secret bool // the result shows a secret once: keep it sealed in the idempotency table
	// result renders the reply's "result" from the write model after the events are applied.
	result func(s *domain.State, now time.Time) any
}

// commands decode each command's body. Server-side fields (ids left out, key and token hashes)
// are filled here, never taken from the wire.
var commands = map[string]func(body []byte, env *commandEnv) (*prepared, error){
	"license.suspend":       licenseCommand[suspendWire](),
	"license.reinstate":     licenseCommand[reinstateWire](),
	"license.expire":        licenseCommand[expireWire](),
	"license.renew":         licenseCommand[renewWire](),
	"license.terminate":     licenseCommand[terminateWire](),
	"license.upgrade":       licenseCommand[upgradeWire](),
	"license.downgrade":     licenseCommand[downgradeWire](),
	"license.note":          licenseCommand[noteWire](),
	"license.set-quota":     licenseCommand[setQuotaWire](),
	"license.rotate-key":    rotateKeyCommand,
	"admin.create":          adminCommand[adminCreateWire],
	"credential.issue":      credentialIssueCommand,
	"credential.disable":    credentialCommand[credDisableWire](),
	"credential.enable":     credentialCommand[credEnableWire](),
	"credential.revoke":     credentialCommand[credRevokeWire](),
	"credential.set-access": credentialCommand[credSetAccessWire](),
	"credential.rotate":     credentialRotateCommand,
	"admin.update":          adminCommand[adminUpdateWire],
	"admin.delete":          adminDeleteCommand,
	"machine.activate":      licenseCommand[activateWire](),
	"machine.deactivate":    licenseCommand[deactivateWire](),
	"reseller.create": func(body []byte, _ *commandEnv) (*prepared, error) {
		var w struct {
			domain.ResellerCreate
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		fillID(&w.ID)
		return &prepared{cmd: w.ResellerCreate, meta: w.CommandMeta, result: idResult(w.ID)}, nil
	},
	"tenant.create": func(body []byte, _ *commandEnv) (*prepared, error) {
		var w struct {
			domain.TenantCreate
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		fillID(&w.ID)
		return &prepared{cmd: w.TenantCreate, meta: w.CommandMeta, result: idResult(w.ID)}, nil
	},
	"tenant.update": func(body []byte, _ *commandEnv) (*prepared, error) {
		var w struct {
			domain.TenantUpdate
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		id := w.TenantID
		return &prepared{cmd: w.TenantUpdate, meta: w.CommandMeta, result: func(s *domain.State, _ time.Time) any {
			t := s.Tenants[id]
			return struct {
				ID         string `json:"id"`
				ResellerID string `json:"resellerId"`
				Name       string `json:"name"`
			}{t.ID, t.ResellerID, t.Name}
		}}, nil
	},
	"product.create": func(body []byte, _ *commandEnv) (*prepared, error) {
		var w struct {
			domain.ProductCreate
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		fillID(&w.ID)
		return &prepared{cmd: w.ProductCreate, meta: w.CommandMeta, result: idResult(w.ID)}, nil
	},
	"plan.create": func(body []byte, _ *commandEnv) (*prepared, error) {
		var w struct {
			domain.PlanCreate
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		fillID(&w.ID)
		return &prepared{cmd: w.PlanCreate, meta: w.CommandMeta, result: idResult(w.ID)}, nil
	},
	"license.create": func(body []byte, env *commandEnv) (*prepared, error) {
		var w struct {
			domain.LicenseCreate
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		fillID(&w.ID)
		key, hash, hint := env.secrets.NewLicenseKey()
		w.KeyHash, w.KeyHint = hash, hint
		return &prepared{cmd: w.LicenseCreate, meta: w.CommandMeta, secret: true,
			result: func(s *domain.State, _ time.Time) any {
				l := s.Licenses[w.ID]
				return licenseCreatedResult{ID: l.ID, Key: key, KeyHint: hint, PlanID: l.PlanID, Seats: l.Seats, StartsAt: l.StartsAt, ExpiresAt: optionalTime(l.ExpiresAt)}
			}}, nil
	},
	"seat.register": func(body []byte, _ *commandEnv) (*prepared, error) {
		var w struct {
			domain.SeatRegister
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		return &prepared{cmd: w.SeatRegister, meta: w.CommandMeta, result: seatResult(w.LicenseID, w.EndUserCompany, w.EndUserName)}, nil
	},
	"seat.unregister": func(body []byte, _ *commandEnv) (*prepared, error) {
		var w struct {
			domain.SeatUnregister
			CommandMeta
		}
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		return &prepared{cmd: w.SeatUnregister, meta: w.CommandMeta, result: seatResult(w.LicenseID, w.EndUserCompany, w.EndUserName)}, nil
	},
}

func fillID(id *string) {
	if *id == "" {
		*id = ulid.Make().String()
	}
}

func idResult(id string) func(*domain.State, time.Time) any {
	return func(*domain.State, time.Time) any {
		return struct {
			ID string `json:"id"`
		}{id}
	}
}

type licenseCreatedResult struct {
	ID        string     `json:"id"`
	Key       string     `json:"key"` // shown once, here
	KeyHint   string     `json:"keyHint"`
	PlanID    string     `json:"planId"`
	Seats     int        `json:"seats"`
	StartsAt  time.Time  `json:"startsAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

type seatResultBody struct {
	LicenseID      string `json:"licenseId"`
	EndUserCompany string `json:"endUserCompany"`
	EndUserName    string `json:"endUserName"`
	Registered     bool   `json:"registered"`
	domain.Usage
}

// seatResult answers a seat command with the user's state and the license's quota after it.
func seatResult(licenseID, company, name string) func(*domain.State, time.Time) any {
	return func(s *domain.State, now time.Time) any {
		l := s.Licenses[licenseID]
		seat := l.Users[company+"\x00"+name]
		return seatResultBody{LicenseID: licenseID, EndUserCompany: company, EndUserName: name,
			Registered: seat != nil && seat.Active, Usage: l.UsageAt(now)}
	}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
