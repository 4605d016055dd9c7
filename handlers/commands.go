package handlers

import (
	"reflect"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/schemas"
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
	// addressed is the reseller the command's subject names (ledger.v1.cmd.<command>.<reseller>),
	// "" if it names none: every event the command makes must then be that reseller's.
	addressed string
	// unaddressable says the command came by HTTP, which has no addressed form: a refusal for
	// want of an address says what to do instead.
	unaddressable bool
}

// resultFunc renders a command's reply "result" from the write model after its events applied.
type resultFunc = func(s *domain.State, now time.Time) any

// untyped is a typed result function as a resultFunc.
func untyped[R any](f func(*domain.State, time.Time) R) resultFunc {
	return func(s *domain.State, now time.Time) any { return f(s, now) }
}

// wireCommand is a command's wire form: the domain command and the common meta fields, decoded
// from one JSON object. parts fills what the server chooses (an id left out).
type wireCommand interface {
	parts() (domain.Command, CommandMeta)
}

// checksPresence is a wire form with a required field whose zero value Go cannot tell from its
// absence (a number, a map, an object): missing refuses the body without it, which would
// otherwise read as 0 seats, no access limits, or the whole system.
type checksPresence interface {
	missing() error
}

// commandSpec is one command endpoint: its decoder, and the Go types of its body and of its
// reply's result, from which its schemas are generated (Endpoints).
type commandSpec struct {
	decode  func(name string, body []byte, env *commandEnv) (*prepared, error)
	request reflect.Type
	result  reflect.Type
}

// decodeCommand is the spec of a command whose wire form is W and whose reply is result(cmd).
func decodeCommand[W wireCommand, R any](result func(domain.Command) func(*domain.State, time.Time) R) commandSpec {
	return prepareCommand[W, R](func(w W, env *commandEnv) (*prepared, error) {
		if p, ok := any(w).(checksPresence); ok {
			if err := p.missing(); err != nil {
				return nil, err
			}
		}
		if d, ok := any(&w).(scopeDefaults); ok {
			d.defaultFromScope(env.caller.Scope)
		}
		cmd, meta := w.parts()
		return &prepared{cmd: cmd, meta: meta, result: untyped(result(cmd))}, nil
	})
}

// prepareCommand is the spec of a command whose body decodes strictly into W and whose reply's
// result is an R; prepare does the rest (draws secrets, hashes passwords, looks at the caller).
func prepareCommand[W, R any](prepare func(w W, env *commandEnv) (*prepared, error)) commandSpec {
	return commandSpec{
		decode: func(name string, body []byte, env *commandEnv) (*prepared, error) {
			var w W
			if err := decodeRequest(schemas.Command, name, body, &w); err != nil {
				return nil, err
			}
			return prepare(w, env)
		},
		request: reflect.TypeFor[W](),
		result:  reflect.TypeFor[R](),
	}
}

// aggregateID is the id of the aggregate a command acts on (its stream is "<kind>/<id>").
func aggregateID(cmd domain.Command) string {
	t := domain.Target(cmd)
	return t[strings.IndexByte(t, '/')+1:]
}

// commands decode each command's body. Server-side fields (ids left out, key and token hashes)
// are filled here, never taken from the wire.
var commands = map[string]commandSpec{
	"reseller.create":             decodeCommand[resellerCreateWire](created),
	"tenant.create":               decodeCommand[tenantCreateWire](created),
	"tenant.update":               decodeCommand[tenantUpdateWire](tenantResult),
	"product.create":              decodeCommand[productCreateWire](created),
	"plan.create":                 decodeCommand[planCreateWire](created),
	"license.create":              prepareCommand[licenseCreateWire, licenseCreatedResult](licenseCreateCommand),
	"license.suspend":             decodeCommand[suspendWire](licenseResult),
	"license.reinstate":           decodeCommand[reinstateWire](licenseResult),
	"license.expire":              decodeCommand[expireWire](licenseResult),
	"license.renew":               decodeCommand[renewWire](licenseResult),
	"license.terminate":           decodeCommand[terminateWire](licenseResult),
	"license.upgrade":             decodeCommand[upgradeWire](licenseResult),
	"license.downgrade":           decodeCommand[downgradeWire](licenseResult),
	"license.note":                decodeCommand[noteWire](licenseResult),
	"license.set-quota":           decodeCommand[setQuotaWire](licenseResult),
	"license.rotate-key":          prepareCommand[rotateKeyWire, licenseKeyRotated](rotateKeyCommand),
	"license.checkout":            prepareCommand[checkoutWire, checkoutResult](checkoutCommand),
	"entitlement.create":          decodeCommand[entitlementCreateWire](entitlementResult),
	"machine.heartbeat":           decodeCommand[heartbeatWire](heartbeatResultOf),
	"plan.attach-entitlements":    decodeCommand[planAttachWire](planEntitlementsResult),
	"plan.detach-entitlements":    decodeCommand[planDetachWire](planEntitlementsResult),
	"license.attach-entitlements": decodeCommand[licenseAttachWire](licenseEntitlementsResult),
	"license.detach-entitlements": decodeCommand[licenseDetachWire](licenseEntitlementsResult),
	"seat.register":               decodeCommand[seatRegisterWire](seatResult),
	"seat.unregister":             decodeCommand[seatUnregisterWire](seatResult),
	"machine.activate":            decodeCommand[activateWire](licenseResult),
	"machine.deactivate":          decodeCommand[deactivateWire](licenseResult),
	"admin.create":                prepareCommand[adminCreateWire, adminView](adminCommand[adminCreateWire]),
	"admin.update":                prepareCommand[adminUpdateWire, adminView](adminCommand[adminUpdateWire]),
	"admin.delete":                prepareCommand[adminDeleteWire, adminDeleted](adminDeleteCommand),
	"credential.issue":            prepareCommand[credentialIssueWire, credentialIssued](credentialIssueCommand),
	"credential.disable":          decodeCommand[credDisableWire](credentialResult),
	"credential.enable":           decodeCommand[credEnableWire](credentialResult),
	"credential.revoke":           decodeCommand[credRevokeWire](credentialResult),
	"credential.set-access":       decodeCommand[credSetAccessWire](credentialResult),
	"credential.update":           decodeCommand[credUpdateWire](credentialResult),
	"credential.delete":           decodeCommand[credDeleteWire](credentialResult),
	"credential.rotate":           prepareCommand[credentialRotateWire, credentialRotated](credentialRotateCommand),
	domain.AdminLoginOp:           adminLoginSpec,
	"webhook.create":              prepareCommand[webhookCreateWire, webhookCreated](webhookCreateCommand),
	"webhook.update":              decodeCommand[webhookUpdateWire](webhookResult),
	"webhook.disable":             decodeCommand[webhookDisableWire](webhookResult),
	"webhook.enable":              decodeCommand[webhookEnableWire](webhookResult),
	"webhook.delete":              decodeCommand[webhookDeleteWire](webhookResult),
	// Decoded by Command itself (batch.go): each of its commands by its own decoder.
	"batch.submit": {request: reflect.TypeFor[batchWire](), result: reflect.TypeFor[batchResult]()},
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
	// planCreateWire spells out the plan's fields rather than embed domain.PlanCreate, whose
	// tags (shared with the plan.created event) mark every field as always present: on the wire
	// productId, name and seats are required, the id is drawn when left out, and the other
	// numbers default to 0 (tier 0, no machine limit, perpetual).
	planCreateWire struct {
		ID           string `json:"id,omitempty"`
		ProductID    string `json:"productId"`
		Name         string `json:"name"`
		Tier         int    `json:"tier,omitempty"`
		Seats        int    `json:"seats"`
		Machines     int    `json:"machines,omitempty"`
		DurationDays int    `json:"durationDays,omitempty"`
		// Entitlements every license on the plan has (entitlement codes).
		Entitlements []string `json:"entitlements,omitempty"`
		// Floating keeps machines activated only while they send heartbeats, one at least every
		// HeartbeatSeconds (default 600).
		Floating         bool `json:"floating,omitempty"`
		HeartbeatSeconds int  `json:"heartbeatSeconds,omitempty"`
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
	c := domain.PlanCreate{ID: w.ID, ProductID: w.ProductID, Name: w.Name, Tier: w.Tier, Seats: w.Seats,
		Machines: w.Machines, DurationDays: w.DurationDays, Entitlements: w.Entitlements,
		Floating: w.Floating, HeartbeatSeconds: w.HeartbeatSeconds}
	fillID(&c.ID)
	return c, w.CommandMeta
}

func (w tenantUpdateWire) parts() (domain.Command, CommandMeta) { return w.TenantUpdate, w.CommandMeta }
func (w seatRegisterWire) parts() (domain.Command, CommandMeta) { return w.SeatRegister, w.CommandMeta }

// scopeDefaults is a request that may leave out what the caller's scope already says: DBSync's
// calls are tied to the partner's application key, so a credential scoped to one license
// registers, unregisters and counts seats without naming the license again.
type scopeDefaults interface{ defaultFromScope(domain.Scope) }

func (w *seatRegisterWire) defaultFromScope(sc domain.Scope) {
	if w.LicenseID == "" {
		w.LicenseID = sc.LicenseID
	}
}

func (w *seatUnregisterWire) defaultFromScope(sc domain.Scope) {
	if w.LicenseID == "" {
		w.LicenseID = sc.LicenseID
	}
}
func (w seatUnregisterWire) parts() (domain.Command, CommandMeta) {
	return w.SeatUnregister, w.CommandMeta
}

type licenseCreateWire struct {
	domain.LicenseCreate
	CommandMeta
}

func licenseCreateCommand(w licenseCreateWire, env *commandEnv) (*prepared, error) {
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

// idResult is a create's reply: the new aggregate's id.
type idResult struct {
	ID string `json:"id"`
}

// created answers a create with the new aggregate's id.
func created(cmd domain.Command) func(*domain.State, time.Time) idResult {
	id := aggregateID(cmd)
	return func(*domain.State, time.Time) idResult { return idResult{id} }
}

// tenantView is a tenant as replies show it.
type tenantView struct {
	ID         string `json:"id"`
	ResellerID string `json:"resellerId"`
	Name       string `json:"name"`
}

// tenantResult answers with the tenant after the command.
func tenantResult(cmd domain.Command) func(*domain.State, time.Time) tenantView {
	id := aggregateID(cmd)
	return func(s *domain.State, _ time.Time) tenantView {
		t := s.Tenants[id]
		return tenantView{t.ID, t.ResellerID, t.Name}
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
func seatResult(cmd domain.Command) func(*domain.State, time.Time) seatResultBody {
	var c domain.SeatRegister
	switch cmd := cmd.(type) {
	case domain.SeatRegister:
		c = cmd
	case domain.SeatUnregister:
		c = domain.SeatRegister(cmd)
	}
	return func(s *domain.State, now time.Time) seatResultBody {
		l := s.Licenses[c.LicenseID]
		return seatResultBody{LicenseID: c.LicenseID, EndUserCompany: c.EndUserCompany, EndUserName: c.EndUserName,
			Registered: l.Users.Active(c.EndUserCompany, c.EndUserName), Usage: l.UsageAt(now)}
	}
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
