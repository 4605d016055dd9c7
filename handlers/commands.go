package handlers

import (
	"strings"
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
	result resultFunc
	// caller is checked against the write model before the decision (scope, no escalation);
	// nil only for the ledger's own commands (bootstrap).
	caller *domain.Credential
}

// resultFunc renders a command's reply "result" from the write model after its events applied.
type resultFunc = func(s *domain.State, now time.Time) any

// wireCommand is a command's wire form: the domain command and the common meta fields, decoded
// from one JSON object. parts fills what the server chooses (an id left out).
type wireCommand interface {
	parts() (domain.Command, CommandMeta)
}

// decodeCommand returns the decoder of a command whose wire form is W and whose reply is
// result(cmd). Commands that draw a secret or need the caller are written out on their own.
func decodeCommand[W wireCommand](result func(domain.Command) resultFunc) func([]byte, *commandEnv) (*prepared, error) {
	return func(body []byte, _ *commandEnv) (*prepared, error) {
		var w W
		if err := decodeStrict(body, &w); err != nil {
			return nil, err
		}
		cmd, meta := w.parts()
		return &prepared{cmd: cmd, meta: meta, result: result(cmd)}, nil
	}
}

// aggregateID is the id of the aggregate a command acts on (its stream is "<kind>/<id>").
func aggregateID(cmd domain.Command) string {
	t := domain.Target(cmd)
	return t[strings.IndexByte(t, '/')+1:]
}

// commands decode each command's body. Server-side fields (ids left out, key and token hashes)
// are filled here, never taken from the wire.
var commands = map[string]func(body []byte, env *commandEnv) (*prepared, error){
	"reseller.create":       decodeCommand[resellerCreateWire](created),
	"tenant.create":         decodeCommand[tenantCreateWire](created),
	"tenant.update":         decodeCommand[tenantUpdateWire](tenantResult),
	"product.create":        decodeCommand[productCreateWire](created),
	"plan.create":           decodeCommand[planCreateWire](created),
	"license.create":        licenseCreateCommand,
	"license.suspend":       decodeCommand[suspendWire](licenseResult),
	"license.reinstate":     decodeCommand[reinstateWire](licenseResult),
	"license.expire":        decodeCommand[expireWire](licenseResult),
	"license.renew":         decodeCommand[renewWire](licenseResult),
	"license.terminate":     decodeCommand[terminateWire](licenseResult),
	"license.upgrade":       decodeCommand[upgradeWire](licenseResult),
	"license.downgrade":     decodeCommand[downgradeWire](licenseResult),
	"license.note":          decodeCommand[noteWire](licenseResult),
	"license.set-quota":     decodeCommand[setQuotaWire](licenseResult),
	"license.rotate-key":    rotateKeyCommand,
	"seat.register":         decodeCommand[seatRegisterWire](seatResult),
	"seat.unregister":       decodeCommand[seatUnregisterWire](seatResult),
	"machine.activate":      decodeCommand[activateWire](licenseResult),
	"machine.deactivate":    decodeCommand[deactivateWire](licenseResult),
	"admin.create":          adminCommand[adminCreateWire],
	"admin.update":          adminCommand[adminUpdateWire],
	"admin.delete":          adminDeleteCommand,
	"credential.issue":      credentialIssueCommand,
	"credential.disable":    decodeCommand[credDisableWire](credentialResult),
	"credential.enable":     decodeCommand[credEnableWire](credentialResult),
	"credential.revoke":     decodeCommand[credRevokeWire](credentialResult),
	"credential.set-access": decodeCommand[credSetAccessWire](credentialResult),
	"credential.rotate":     credentialRotateCommand,
}

// Wire forms of the catalogue and seat commands.
type (
	resellerCreateWire struct {
		domain.ResellerCreate
		CommandMeta
	}
	tenantCreateWire struct {
		domain.TenantCreate
		CommandMeta
	}
	tenantUpdateWire struct {
		domain.TenantUpdate
		CommandMeta
	}
	productCreateWire struct {
		domain.ProductCreate
		CommandMeta
	}
	planCreateWire struct {
		domain.PlanCreate
		CommandMeta
	}
	seatRegisterWire struct {
		domain.SeatRegister
		CommandMeta
	}
	seatUnregisterWire struct {
		domain.SeatUnregister
		CommandMeta
	}
)

func (w resellerCreateWire) parts() (domain.Command, CommandMeta) {
	c := w.ResellerCreate
	fillID(&c.ID)
	return c, w.CommandMeta
}

func (w tenantCreateWire) parts() (domain.Command, CommandMeta) {
	c := w.TenantCreate
	fillID(&c.ID)
	return c, w.CommandMeta
}

func (w productCreateWire) parts() (domain.Command, CommandMeta) {
	c := w.ProductCreate
	fillID(&c.ID)
	return c, w.CommandMeta
}

func (w planCreateWire) parts() (domain.Command, CommandMeta) {
	c := w.PlanCreate
	fillID(&c.ID)
	return c, w.CommandMeta
}

func (w tenantUpdateWire) parts() (domain.Command, CommandMeta) { return w.TenantUpdate, w.CommandMeta }
func (w seatRegisterWire) parts() (domain.Command, CommandMeta) { return w.SeatRegister, w.CommandMeta }
func (w seatUnregisterWire) parts() (domain.Command, CommandMeta) {
	return w.SeatUnregister, w.CommandMeta
}

func licenseCreateCommand(body []byte, env *commandEnv) (*prepared, error) {
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
}

func fillID(id *string) {
	if *id == "" {
		*id = ulid.Make().String()
	}
}

// created answers a create with the new aggregate's id.
func created(cmd domain.Command) resultFunc {
	id := aggregateID(cmd)
	return func(*domain.State, time.Time) any {
		return struct {
			ID string `json:"id"`
		}{id}
	}
}

// tenantResult answers with the tenant after the command.
func tenantResult(cmd domain.Command) resultFunc {
	id := aggregateID(cmd)
	return func(s *domain.State, _ time.Time) any {
		t := s.Tenants[id]
		return struct {
			ID         string `json:"id"`
			ResellerID string `json:"resellerId"`
			Name       string `json:"name"`
		}{t.ID, t.ResellerID, t.Name}
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
func seatResult(cmd domain.Command) resultFunc {
	var c domain.SeatRegister
	switch cmd := cmd.(type) {
	case domain.SeatRegister:
		c = cmd
	case domain.SeatUnregister:
		c = domain.SeatRegister(cmd)
	}
	return func(s *domain.State, now time.Time) any {
		l := s.Licenses[c.LicenseID]
		seat := l.Users[c.EndUserCompany+"\x00"+c.EndUserName]
		return seatResultBody{LicenseID: c.LicenseID, EndUserCompany: c.EndUserCompany, EndUserName: c.EndUserName,
			Registered: seat != nil && seat.Active, Usage: l.UsageAt(now)}
	}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
