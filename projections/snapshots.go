package projections

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Snapshots make time travel (LicensesAt) cost a bounded part of a license's history instead of
// all of it. With the records it stores, the licenses read model also keeps, now and then, a
// license's whole state as of a sequence, under licenses/h/:
//
//	<license id> 0x00 <sequence u64 BE>   uvarint length, license record (JSON), then each seat as
//	                                      uvarint length, seat key, seat (5 bytes)
//
// A license gets a snapshot at a flush once it has had at least max(SnapshotEvents, its seats)
// events since its last one. Scaling the gap with the license's size keeps the snapshots of a
// big license from outgrowing its events: the history costs a few bytes per event whatever the
// license's size. LicensesAt starts a license from its last snapshot at or before the sequence
// asked for and applies only the stream's events after it.

// defaultSnapshotEvents is the fewest events between two snapshots of one license.
const defaultSnapshotEvents = 1000

func snapshotKey(licenseID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(licenseID), 0), seq)
}

// saveSnapshots writes the snapshots due among the licenses changed since the last Save.
func (p *Licenses) saveSnapshots(w RecordWriter) error {
	for l, n := range p.sinceSnapshot {
		if n < max(p.SnapshotEvents, l.Users.Len()) {
			continue
		}
		v, err := p.encodeSnapshot(l)
		if err != nil {
			return err
		}
		w.History(snapshotKey(l.ID, p.lastSeq), v)
		delete(p.sinceSnapshot, l)
	}
	return nil
}

func (p *Licenses) encodeSnapshot(l *domain.License) ([]byte, error) {
	rec, err := p.licenseRecord(l)
	if err != nil {
		return nil, err
	}
	out := binary.AppendUvarint(make([]byte, 0, len(rec)+l.Users.Len()*32), uint64(len(rec)))
	out = append(out, rec...)
	for u, s := range l.Users.All() {
		out = binary.AppendUvarint(out, uint64(len(u.Company())+1+len(u.Name())))
		out = append(append(append(out, u.Company()...), 0), u.Name()...) // the user's SeatKey
		out = encodeSeat(out, s)
	}
	return out, nil
}

func decodeSnapshot(v []byte) (*domain.License, uint64, error) {
	bad := errors.New("malformed license snapshot")
	n, w := binary.Uvarint(v)
	if w <= 0 || uint64(len(v)-w) < n {
		return nil, 0, bad
	}
	l, created, err := decodeLicenseRecord(v[w : w+int(n)])
	if err != nil {
		return nil, 0, err
	}
	for rest := v[w+int(n):]; len(rest) > 0; {
		k, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < k+5 {
			return nil, 0, bad
		}
		key, seat := rest[w:w+int(k)], rest[w+int(k):w+int(k)+5]
		l.Users.SetKey(string(key), decodeSeat(seat))
		rest = rest[w+int(k)+5:]
	}
	return l, created, nil
}

// loadSnapshot puts into p the last snapshot of license id taken at or before seq, and returns
// its sequence (0: none, start from the stream's beginning).
func (p *Licenses) loadSnapshot(store *eventstore.Store, id string, seq uint64) (uint64, error) {
	prefix := append(historyPrefix(p.Name()), append([]byte(id), 0)...)
	k, v, err := store.LastDerived(prefix, append(historyPrefix(p.Name()), snapshotKey(id, seq+1)...))
	if err != nil || k == nil {
		return 0, err
	}
	l, created, err := decodeSnapshot(v)
	if err != nil {
		return 0, fmt.Errorf("projections: snapshot %q: %w", k, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state.Licenses[id] = l
	p.created[id] = created
	p.byReseller[l.ResellerID] = append(p.byReseller[l.ResellerID], id)
	p.sortByCreation(l.ResellerID)
	p.byKeyHash[l.KeyHash] = id
	for u := range l.Users.All() {
		p.noteCompany(u.Company(), id)
	}
	return binary.BigEndian.Uint64(k[len(k)-8:]), nil
}
