package projections

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/licledger/licledger/domain"
)

// Licenses is the read model of resellers, tenants, plans and licenses with their seats. It keeps
// its own copy of the model, evolved by the same domain rules, so quota arithmetic lives in one
// place (domain) and reads never touch the sequencer's write model.
type Licenses struct {
	mu         sync.RWMutex
	state      *domain.State
	byReseller map[string][]string // reseller id -> license ids, in creation order
	byKeyHash  map[string]string   // keyed hash of the current key -> license id
	byCompany  map[string][]string // end-user company -> licenses it ever had users on
	created    map[string]uint64   // license id -> the sequence that created it

	// What changed since the last Save (see licenses_records.go); tracked once Load has made the
	// read model persistent, so in-memory uses (LicensesAt, benchmarks) pay nothing for it.
	tracking      bool
	lastSeq       uint64 // the last sequence applied
	sinceSnapshot map[*domain.License]int
	// SnapshotEvents is the fewest events between two snapshots of a license (see
	// snapshots.go). Default 1000.
	SnapshotEvents int
	dirtyStreams   map[string]struct{} // aggregates other than licenses, by stream
	dirtyLicenses  map[*domain.License]struct{}
	dirtySeats     []seatRef

	// numbered is, for the catch-up whose decoder numbered the licenses (numberedBy), each
	// license by its number (see ApplySeat).
	numberedBy *licenseNumbers
	numbered   []*domain.License
}

// NewLicenses returns an empty read model.
func NewLicenses() *Licenses {
	p := &Licenses{}
	p.reset()
	return p
}

// reset empties the read model.
func (p *Licenses) reset() {
	p.state = domain.NewState()
	p.byReseller, p.byKeyHash, p.byCompany = map[string][]string{}, map[string]string{}, map[string][]string{}
	p.created = map[string]uint64{}
	p.dirtyStreams, p.dirtyLicenses, p.dirtySeats = map[string]struct{}{}, map[*domain.License]struct{}{}, nil
	p.sinceSnapshot = map[*domain.License]int{}
	p.numberedBy, p.numbered = nil, nil
	if p.SnapshotEvents == 0 {
		p.SnapshotEvents = defaultSnapshotEvents
	}
}

// Apply implements Projection.
func (p *Licenses) Apply(m Meta, e domain.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apply(m, e)
}

// ApplySeat implements SeatProjection: Apply for a seat event.
func (p *Licenses) ApplySeat(m Meta, f *SeatFact) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applySeatFact(m, f)
}

// applyBatch implements batchProjection: a catch-up's batch under one lock, with its cache misses
// overlapped first (touchSeats).
func (p *Licenses) applyBatch(b []decoded, after uint64) {
	p.touchSeats(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range b {
		switch d := &b[i]; {
		case d.meta.Sequence <= after:
		case d.event != nil:
			p.apply(d.meta, d.event)
		default:
			p.applySeatFact(d.meta, &d.seat)
		}
	}
}

// apply is Apply with the lock held.
func (p *Licenses) apply(m Meta, e domain.Event) {
	if r, ok := e.(domain.LicenseKeyRotated); ok {
		delete(p.byKeyHash, p.state.Licenses[r.LicenseID].KeyHash) // the old key stops at once
		p.byKeyHash[r.KeyHash] = r.LicenseID
	}
	p.lastSeq = m.Sequence
	switch e := e.(type) {
	case domain.SeatRegistered: // the bulk of every log: one license lookup, no type switch in markDirty
		p.applySeat(p.state.Licenses[e.LicenseID], true, domain.NewSeatUser(e.EndUserCompany, e.EndUserName), e.Period)
		return
	case domain.SeatUnregistered:
		p.applySeat(p.state.Licenses[e.LicenseID], false, domain.NewSeatUser(e.EndUserCompany, e.EndUserName), e.Period)
		return
	}
	p.state.Evolve(e)
	if e, ok := e.(domain.LicenseCreated); ok {
		p.byReseller[e.ResellerID] = append(p.byReseller[e.ResellerID], e.ID)
		p.byKeyHash[e.KeyHash] = e.ID
		p.created[e.ID] = m.Sequence
	}
	p.markDirty(e)
}

// applySeatFact is ApplySeat with the lock held: the license is found by its number in the
// catch-up, and the user is hashed already.
func (p *Licenses) applySeatFact(m Meta, f *SeatFact) {
	p.lastSeq = m.Sequence
	if f.numbers != p.numberedBy { // another catch-up numbered this one
		p.numberedBy, p.numbered = f.numbers, p.numbered[:0]
	}
	for int(f.number) >= len(p.numbered) {
		p.numbered = append(p.numbered, nil)
	}
	l := p.numbered[f.number]
	if l == nil {
		l = p.state.Licenses[f.LicenseID]
		p.numbered[f.number] = l
	}
	p.applySeat(l, f.Registered, f.User, f.Period)
}

// touchSeats loads, for each seat fact in b, the license and the slot its user's probe starts
// at. The loads do not depend on each other, so the processor overlaps their cache misses, and
// applying the batch right after finds them cached. (A probe into a big license's table is a miss
// otherwise: the largest single cost of applying a rebuild.) It reads without the lock: it runs
// under the runner's applyMu, which every write to the read model holds too.
func (p *Licenses) touchSeats(b []decoded) {
	var sink uint32
	for i := range b {
		f := &b[i].seat
		if b[i].event != nil || f.numbers != p.numberedBy || int(f.number) >= len(p.numbered) {
			continue
		}
		if l := p.numbered[f.number]; l != nil {
			sink += l.Users.Touch(f.User)
		}
	}
	touched.Store(sink)
}

// touched keeps touchSeats' loads from being optimized away.
var touched atomic.Uint32

// applySeat applies a seat event of user u to l, the license it names. Called with the lock held.
func (p *Licenses) applySeat(l *domain.License, registered bool, u domain.SeatUser, period int) {
	if !registered {
		l.UnregisterSeat(u, period)
	} else if l.RegisterSeat(u, period) {
		p.noteCompany(u.Company(), l.ID)
	}
	p.seatChanged(l, u)
}

// CopyState returns a deep copy of the domain model the read model holds, and the sequence it
// reflects is the runner's position: a starting point for the write model, which then needs only
// the events after it.
func (p *Licenses) CopyState() *domain.State {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.state.Clone()
}

// Validation is the answer to license.validate (Keygen's validate-key).
type Validation struct {
	Valid  bool   `json:"valid"`
	Code   string `json:"code"` // domain.Validation* codes
	Detail string `json:"detail"`
	// License is set when the key belongs to a license.
	License *ValidatedLicense `json:"license,omitempty"`
	// Missing names the entitlements asked for that the license lacks (ENTITLEMENTS_MISSING).
	Missing []string `json:"missing,omitempty"`
}

// ValidatedLicense is what a validation tells about the license (no owner details: the call is
// open to anonymous callers).
type ValidatedLicense struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	ProductID string     `json:"productId"`
	PlanID    string     `json:"planId"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Entitlements are the license's: its plan's and its own.
	Entitlements []string `json:"entitlements"`
}

// Validate answers whether the license whose key has this keyed hash may be used at time t (on
// the machine with this fingerprint, if one is given, and for the entitlements asked, if any).
func (p *Licenses) Validate(keyHash, fingerprint string, t time.Time, entitlements []string) Validation {
	p.mu.RLock()
	defer p.mu.RUnlock()
	l, ok := p.state.Licenses[p.byKeyHash[keyHash]]
	if !ok {
		return Validation{Code: domain.ValidationNotFound, Detail: "no license has this key"}
	}
	code, detail := l.ValidateAt(t, fingerprint)
	v := Validation{Valid: code == domain.ValidationValid, Code: code, Detail: detail,
		License: &ValidatedLicense{ID: l.ID, Status: l.StatusAt(t), ProductID: l.ProductID, PlanID: l.PlanID,
			Entitlements: append([]string{}, p.state.Entitled(l)...)}}
	if v.Valid && len(entitlements) > 0 {
		if missing := p.state.MissingEntitlements(l, entitlements); len(missing) > 0 {
			v.Valid, v.Code, v.Detail, v.Missing = false, domain.ValidationEntitlementsMissing, domain.MissingDetail(missing), missing
		}
	}
	if !l.ExpiresAt.IsZero() {
		exp := l.ExpiresAt
		v.License.ExpiresAt = &exp
	}
	return v
}

// LicenseUsage is one license's quota at a time.
type LicenseUsage struct {
	LicenseID string `json:"licenseId"`
	domain.Usage
}

// LicenseQuota returns a license's quota at time t, or false if there is no such license.
func (p *Licenses) LicenseQuota(id string, t time.Time, visible func(*domain.License) bool) (LicenseUsage, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	l, ok := p.state.Licenses[id]
	if !ok || !visible(l) {
		return LicenseUsage{}, false
	}
	return LicenseUsage{LicenseID: id, Usage: l.UsageAt(t)}, true
}

// ResellerUsage sums the quotas of a reseller's licenses.
type ResellerUsage struct {
	ResellerID string `json:"resellerId"`
	Licenses   int    `json:"licenses"`
	Seats      int    `json:"seats"`
	Active     int    `json:"active"`
	Consumed   int    `json:"consumed"`
	Remaining  int    `json:"remaining"`
}

// ResellerQuota returns the sum of a reseller's license quotas at time t, or false if there is no
// such reseller.
func (p *Licenses) ResellerQuota(id string, t time.Time) (ResellerUsage, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if _, ok := p.state.Resellers[id]; !ok {
		return ResellerUsage{}, false
	}
	u := ResellerUsage{ResellerID: id}
	for _, lid := range p.byReseller[id] {
		lu := p.state.Licenses[lid].UsageAt(t)
		u.Licenses++
		u.Seats += lu.Seats
		u.Active += lu.Active
		u.Consumed += lu.Consumed
		u.Remaining += lu.Remaining
	}
	return u, true
}

// Seats counts the seats ever registered on any license (held or since released).
func (p *Licenses) Seats() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := 0
	for _, l := range p.state.Licenses {
		n += l.Users.Len()
	}
	return n
}

// Floating is what a machine's heartbeats are judged by: its license's plan's window and the
// machine's first heartbeat (zero: none yet). ok is false unless the license is floating and the
// machine activated on it.
func (p *Licenses) Floating(licenseID, fingerprint string, visible func(*domain.License) bool) (window time.Duration, started time.Time, ok bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	l, found := p.state.Licenses[licenseID]
	if !found || l.Status == domain.StatusTerminated || (visible != nil && !visible(l)) {
		return 0, time.Time{}, false
	}
	m, activated := l.Activations[fingerprint]
	window, floating := p.state.Plans[l.PlanID].HeartbeatWindow()
	if !activated || !floating {
		return 0, time.Time{}, false
	}
	return window, m.HeartbeatAt, true
}

// FloatingMachine is a machine of a floating license that has sent its first heartbeat.
type FloatingMachine struct {
	LicenseID, ResellerID, Fingerprint string
	Window                             time.Duration
	Started                            time.Time
}

// FloatingMachines lists the machines of floating licenses that have started their heartbeats.
func (p *Licenses) FloatingMachines() []FloatingMachine {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []FloatingMachine
	for _, l := range p.state.Licenses {
		window, floating := p.state.Plans[l.PlanID].HeartbeatWindow()
		if !floating {
			continue
		}
		for fp, m := range l.Activations {
			if !m.HeartbeatAt.IsZero() {
				out = append(out, FloatingMachine{LicenseID: l.ID, ResellerID: l.ResellerID, Fingerprint: fp, Window: window, Started: m.HeartbeatAt})
			}
		}
	}
	return out
}
