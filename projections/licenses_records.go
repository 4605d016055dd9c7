// This file is over 400 lines because it is one format: how every record of the Licenses read
// model is written and read back (the layout below), kept together so that a change to one record
// and its reader is one diff.

package projections

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/licledger/licledger/domain"
)

// How the Licenses read model is stored (under p/licenses/r/):
//
//	a/<stream>                             one aggregate as JSON ("a/license/L1", "a/admin/jo", …);
//	                                       a license's record holds everything but its seats
//	s/<license id> 0x00 <seat key>         one seat: active (1 byte), counted-in period (int32 BE)
//
// Seats are records of their own because they are the bulk of the model: registering one user on
// a license with ten thousand rewrites five bytes, not the license. Ids never contain 0x00 (they
// are letters, digits, '_' and '-'), and neither do end-user names (no control characters).
//
// The indexes (by reseller, by key hash, by company) are not stored: Load derives them.

// licensesVersion is the Licenses record layout and rules version; change it whenever either
// changes, and stored state is rebuilt at the next start.
const licensesVersion = 4 // 3: entitlements (plans, licenses, the entitlement kind); 4: webhooks

// Name implements Persistent.
func (p *Licenses) Name() string { return "licenses" }

// Version implements Persistent.
func (p *Licenses) Version() int { return licensesVersion }

// seatRef names a seat changed since the last Save.
type seatRef struct {
	license *domain.License
	user    domain.SeatUser // hashed already: saving finds the seat without hashing again
}

// markDirty notes what an applied event other than a seat event changed (those go through
// seatChanged), once Load has made the read model persistent.
// Called with the lock held.
func (p *Licenses) markDirty(e domain.Event) {
	if !p.tracking {
		return
	}
	if stream := e.Stream(); strings.HasPrefix(stream, "license/") {
		p.licenseChanged(p.state.Licenses[e.AggregateID()])
	} else {
		p.dirtyStreams[stream] = struct{}{}
	}
}

// seatChanged notes a seat and its license l to save.
func (p *Licenses) seatChanged(l *domain.License, u domain.SeatUser) {
	if !p.tracking {
		return
	}
	p.licenseChanged(l)
	p.dirtySeats = append(p.dirtySeats, seatRef{l, u})
}

// licenseChanged notes a license to save, and counts the change towards its next snapshot.
func (p *Licenses) licenseChanged(l *domain.License) {
	p.dirtyLicenses[l] = struct{}{}
	p.sinceSnapshot[l]++
}

// Save implements Persistent.
func (p *Licenses) Save(w RecordWriter) error {
	write, err := p.cutSave()
	if err != nil {
		return err
	}
	return write(w)
}

// cutSave implements cutSaver: under the lock it takes what Save writes as of now (the changed
// aggregates, licenses and snapshots encoded, each changed seat's state), and returns the writing
// of it, which needs no lock. A rebuild's flush saves about a million seats; sorting and encoding
// them so run on the runner's writing goroutine while applying goes on.
func (p *Licenses) cutSave() (func(RecordWriter) error, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var records recordBuffer
	var key []byte
	for stream := range p.dirtyStreams {
		v, ok, err := p.aggregateRecord(stream)
		if err != nil {
			return nil, err
		}
		key = append(append(key[:0], "a/"...), stream...)
		if ok {
			records.Set(key, v)
		} else {
			records.Delete(key) // a deleted admin
		}
	}
	for l := range p.dirtyLicenses {
		v, err := p.licenseRecord(l)
		if err != nil {
			return nil, err
		}
		key = append(append(append(key[:0], "a/"...), "license/"...), l.ID...)
		records.Set(key, v)
	}
	if err := p.saveSnapshots(&records); err != nil {
		return nil, err
	}
	// Each seat's state, a probe into a table that is mostly not in the cache: a run of seats'
	// slots is touched first, so that the misses overlap. Names and companies alias the tables'
	// arenas, whose bytes never change.
	seats := make([]seatState, len(p.dirtySeats))
	var sink uint32
	for start := 0; start < len(p.dirtySeats); start += touchRun {
		run := p.dirtySeats[start:min(start+touchRun, len(p.dirtySeats))]
		for _, s := range run {
			sink += s.license.Users.Touch(s.user)
		}
		for i, s := range run {
			st, _ := s.license.Users.Find(s.user)
			seats[start+i] = seatState{s.license.ID, s.user.Company(), s.user.Name(), st}
		}
	}
	touched.Store(sink)
	clear(p.dirtyStreams)
	clear(p.dirtyLicenses)
	p.dirtySeats = p.dirtySeats[:0]
	return func(w RecordWriter) error {
		records.writeTo(w)
		// In key order, each once: Pebble sorts a batch that large itself, in one pass if sorted.
		seats := sortSeats(seats)
		var seat [5]byte
		for i, s := range seats {
			if i > 0 && s == seats[i-1] {
				continue
			}
			key = appendSeatRecordKey(key[:0], s.license, s.company, s.name)
			w.Set(key, encodeSeat(seat[:0], s.seat))
		}
		return nil
	}, nil
}

// sortSeats returns seats in key order: grouped by license first (the license ids sorted once, a
// counting pass placing each seat), then each license's run sorted by company and name. One
// sort over a rebuild flush's million seats compared about twenty pairs per seat, names from all
// over the heap; a license's run is short, and its names lie in one table's arena.
func sortSeats(seats []seatState) []seatState {
	counts := map[string]int{}
	for _, s := range seats {
		counts[s.license]++
	}
	next := make(map[string]int, len(counts)) // where a license's next seat goes
	at := 0
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		next[id] = at
		at += counts[id]
	}
	out := make([]seatState, len(seats))
	for _, s := range seats {
		out[next[s.license]] = s
		next[s.license]++
	}
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].license == out[i].license {
			j++
		}
		slices.SortFunc(out[i:j], func(a, b seatState) int {
			return cmp.Or(strings.Compare(a.company, b.company), strings.Compare(a.name, b.name))
		})
		i = j
	}
	return out
}

// touchRun is how many seats' slots cutSave touches ahead of reading them.
const touchRun = 64

// seatState is a seat to save: whose, and its state when the save was cut.
type seatState struct {
	license, company, name string
	seat                   domain.Seat
}

// recordBuffer is a RecordWriter that keeps the writes, in order, to replay them later.
type recordBuffer struct{ ops []recordOp }

type recordOp struct {
	kind       byte // 's'et, 'd'elete, 'h'istory
	key, value []byte
}

func (b *recordBuffer) Set(key, value []byte) {
	b.ops = append(b.ops, recordOp{'s', bytes.Clone(key), bytes.Clone(value)})
}
func (b *recordBuffer) Delete(key []byte) {
	b.ops = append(b.ops, recordOp{'d', bytes.Clone(key), nil})
}
func (b *recordBuffer) History(key, value []byte) {
	b.ops = append(b.ops, recordOp{'h', bytes.Clone(key), bytes.Clone(value)})
}

// writeTo replays the writes into w.
func (b *recordBuffer) writeTo(w RecordWriter) {
	for _, op := range b.ops {
		switch op.kind {
		case 's':
			w.Set(op.key, op.value)
		case 'd':
			w.Delete(op.key)
		default:
			w.History(op.key, op.value)
		}
	}
}

// appendSeatRecordKey appends the key of the record of company's user name on a license:
// s/<license id> NUL <SeatKey(company, name)>.
func appendSeatRecordKey(dst []byte, licenseID, company, name string) []byte {
	dst = append(dst, "s/"...)
	dst = append(dst, licenseID...)
	dst = append(dst, 0)
	dst = append(dst, company...)
	dst = append(dst, 0)
	return append(dst, name...)
}

func decodeSeat(b []byte) domain.Seat {
	return domain.Seat{Active: b[0] == 1, CountedIn: int32(binary.BigEndian.Uint32(b[1:]))}
}

func encodeSeat(dst []byte, s domain.Seat) []byte {
	active := byte(0)
	if s.Active {
		active = 1
	}
	return binary.BigEndian.AppendUint32(append(dst, active), uint32(s.CountedIn))
}

// licenseStored is a license's record: the license without its seats, and the sequence that
// created it (the by-reseller index lists licenses in creation order).
type licenseStored struct {
	domain.License
	Created uint64
}

func (p *Licenses) licenseRecord(l *domain.License) ([]byte, error) {
	return json.Marshal(licenseStored{License: *l, Created: p.created[l.ID]}) // seats are not in JSON
}

// decodeLicenseRecord is licenseRecord's inverse: the license (with no seats yet) and the
// sequence that created it.
func decodeLicenseRecord(b []byte) (*domain.License, uint64, error) {
	var r licenseStored
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, 0, err
	}
	l := r.License
	if l.Activations == nil {
		l.Activations = map[string]*domain.Machine{}
	}
	return &l, r.Created, nil
}

// aggregateKind stores one kind of aggregate other than licenses (which carry their seats
// apart): how to list, encode and decode the aggregates of that kind in a domain.State.
type aggregateKind struct {
	ids    func(*domain.State) []string
	encode func(s *domain.State, id string) ([]byte, bool, error) // false: no such aggregate
	decode func(s *domain.State, id string, value []byte) error
}

// kindOf returns the stored form of map field m of domain.State, whose values are JSON records.
func kindOf[T any](m func(*domain.State) map[string]*T) aggregateKind {
	return aggregateKind{
		ids: func(s *domain.State) []string { return slices.Collect(maps.Keys(m(s))) },
		encode: func(s *domain.State, id string) ([]byte, bool, error) {
			v, ok := m(s)[id]
			if !ok {
				return nil, false, nil
			}
			b, err := json.Marshal(v)
			return b, true, err
		},
		decode: func(s *domain.State, id string, value []byte) error {
			v := new(T)
			if err := json.Unmarshal(value, v); err != nil {
				return err
			}
			m(s)[id] = v
			return nil
		},
	}
}

// aggregateKinds are the stored kinds by stream prefix ("reseller" for "reseller/R1").
var aggregateKinds = map[string]aggregateKind{
	"reseller":    kindOf(func(s *domain.State) map[string]*domain.Reseller { return s.Resellers }),
	"tenant":      kindOf(func(s *domain.State) map[string]*domain.Tenant { return s.Tenants }),
	"product":     kindOf(func(s *domain.State) map[string]*domain.Product { return s.Products }),
	"plan":        kindOf(func(s *domain.State) map[string]*domain.Plan { return s.Plans }),
	"credential":  kindOf(func(s *domain.State) map[string]*domain.Credential { return s.Credentials }),
	"admin":       kindOf(func(s *domain.State) map[string]*domain.Admin { return s.Admins }),
	"entitlement": kindOf(func(s *domain.State) map[string]*domain.Entitlement { return s.Entitlements }),
	"webhook":     kindOf(func(s *domain.State) map[string]*domain.Webhook { return s.Webhooks }),
}

// aggregateRecord encodes the (non-license) aggregate a stream names; false if it no longer
// exists.
func (p *Licenses) aggregateRecord(stream string) ([]byte, bool, error) {
	kind, id, _ := strings.Cut(stream, "/")
	k, ok := aggregateKinds[kind]
	if !ok {
		return nil, false, fmt.Errorf("projections: no record kind for stream %q", stream)
	}
	return k.encode(p.state, id)
}

// Load implements Persistent.
func (p *Licenses) Load(scan func(fn func(key, value []byte) error) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reset()
	p.tracking = true
	err := scan(func(key, value []byte) error {
		k := string(key)
		switch {
		case strings.HasPrefix(k, "a/"):
			return p.loadAggregate(k[2:], value)
		case strings.HasPrefix(k, "s/"):
			licenseID, seatKey, ok := strings.Cut(k[2:], "\x00")
			l := p.state.Licenses[licenseID]
			if !ok || l == nil || len(value) != 5 {
				return fmt.Errorf("malformed seat record %q", k)
			}
			l.Users.SetKey(seatKey, decodeSeat(value))
			company, _ := domain.SeatHolder(seatKey)
			p.noteCompany(company, l.ID)
			return nil
		}
		return fmt.Errorf("unknown record %q", k)
	})
	if err != nil {
		return err
	}
	for _, l := range p.state.Licenses {
		p.byReseller[l.ResellerID] = append(p.byReseller[l.ResellerID], l.ID)
		p.byKeyHash[l.KeyHash] = l.ID
	}
	for r := range p.byReseller {
		p.sortByCreation(r)
	}
	return nil
}

// sortByCreation puts a reseller's licenses back in creation order after loading.
func (p *Licenses) sortByCreation(resellerID string) {
	slices.SortFunc(p.byReseller[resellerID], func(a, b string) int { return cmp.Compare(p.created[a], p.created[b]) })
}

func (p *Licenses) loadAggregate(stream string, value []byte) error {
	kind, id, _ := strings.Cut(stream, "/")
	var err error
	if kind == "license" {
		var l *domain.License
		if l, p.created[id], err = decodeLicenseRecord(value); err == nil {
			p.state.Licenses[id] = l
		}
	} else if k, ok := aggregateKinds[kind]; ok {
		err = k.decode(p.state, id, value)
	} else {
		err = fmt.Errorf("unknown record kind")
	}
	if err != nil {
		return fmt.Errorf("record %q: %w", stream, err)
	}
	return nil
}

// Dump returns the whole read model as its records would be stored, plus its indexes, keyed by
// record key: two read models hold the same state exactly when their dumps are equal. Tests use
// it to compare a resumed read model with one rebuilt from sequence 0.
func (p *Licenses) Dump() (map[string]string, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := map[string]string{}
	set := func(k string, v []byte) { out[k] = string(v) }
	for kind, k := range aggregateKinds {
		for _, id := range k.ids(p.state) {
			v, _, err := k.encode(p.state, id)
			if err != nil {
				return nil, err
			}
			set("a/"+kind+"/"+id, v)
		}
	}
	for _, l := range p.state.Licenses {
		v, err := p.licenseRecord(l)
		if err != nil {
			return nil, err
		}
		set("a/license/"+l.ID, v)
		for u, s := range l.Users.All() {
			set(string(appendSeatRecordKey(nil, l.ID, u.Company(), u.Name())), encodeSeat(nil, s))
		}
	}
	for r, ids := range p.byReseller {
		out["index/reseller/"+r] = strings.Join(ids, ",")
	}
	for h, id := range p.byKeyHash {
		out["index/key/"+h] = id
	}
	for c, ids := range p.byCompany {
		sorted := slices.Sorted(slices.Values(ids))
		out["index/company/"+c] = strings.Join(sorted, ",")
	}
	return out, nil
}
