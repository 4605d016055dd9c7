package projections

import (
	"context"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// LicensesAt rebuilds a Licenses read model as it stood at sequence seq, holding only the given
// resellers and licenses. A license starts from its last snapshot at or before seq (none: its
// stream's start) and applies its stream's events after that, up to seq; a reseller reads its
// (short) stream from the start. An aggregate created after seq is simply absent. It costs at most
// a snapshot and a few thousand events per license, not the whole log, so a license's or a
// reseller's past is an interactive question.
func LicensesAt(store *eventstore.Store, seq uint64, resellers, licenses []string) (*Licenses, error) {
	p := NewLicenses()
	for _, id := range resellers {
		if err := p.applyStream(store, domain.ResellerStream(id), 0, seq, nil); err != nil {
			return nil, err
		}
	}
	for _, id := range licenses {
		from, err := p.loadSnapshot(store, id, seq)
		if err != nil {
			return nil, err
		}
		if err := p.applyStream(store, domain.LicenseStream(id), from, seq, nil); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// applyStream applies to p the events of stream after sequence after, up to sequence last.
// before, if not nil, is told each event's sequence before it is applied.
func (p *Licenses) applyStream(store *eventstore.Store, stream string, after, last uint64, before func(seq uint64)) error {
	return store.ReadStreamAfter(stream, after, func(e eventstore.Event) error {
		if e.Sequence > last {
			return eventstore.ErrStop
		}
		if before != nil {
			before(e.Sequence)
		}
		m, ev, err := decode(e, nil)
		if err != nil {
			return err
		}
		p.Apply(m, ev)
		return nil
	})
}

// LicensesReplayed rebuilds the whole Licenses read model as it stood at sequence seq: it loads
// the newest snapshot of the stored read models at or before seq (see Runner.SnapshotEvery), if
// any, and replays the log from there up to seq, at a catch-up's speed (about a million events a
// second on two cores) whatever the number of licenses. LicensesAt reads each license's stream
// through its index, some tens of times slower per event, so it pays only for a small part of
// the licenses.
//
// It gives up with ctx's error once ctx ends (a replay of a long log takes seconds).
func LicensesReplayed(ctx context.Context, store *eventstore.Store, seq uint64) (*Licenses, error) {
	p, _, err := licensesReplayed(ctx, store, seq)
	return p, err
}

// licensesReplayed is LicensesReplayed, also returning the sequence it started from (0: the
// log's start).
func licensesReplayed(ctx context.Context, store *eventstore.Store, seq uint64) (*Licenses, uint64, error) {
	p, r, err := licensesFromSnapshot(store, seq)
	if err != nil {
		return nil, 0, err
	}
	from := r.Position()
	if _, err := r.catchUpTo(ctx, seq); err != nil {
		return nil, 0, err
	}
	return p, from, nil
}

// licensesFromSnapshot is a Licenses read model loaded from the newest snapshot of the stored
// read models at or before seq (empty, at sequence 0, if there is none), with the runner that
// replays the log on from there.
func licensesFromSnapshot(store *eventstore.Store, seq uint64) (*Licenses, *Runner, error) {
	p := NewLicenses()
	r := NewRunner(store, p)
	snap, err := store.OpenDerivedSnapshot(seq)
	if err != nil || snap == nil {
		return p, r, err
	}
	defer snap.Close()
	return p, r, r.InspectFrom(snap)
}

// LicenseCount is the number of licenses.
func (p *Licenses) LicenseCount() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.state.Licenses)
}

// ResellerLicenses lists a reseller's licenses, in creation order.
func (p *Licenses) ResellerLicenses(resellerID string) []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return append([]string(nil), p.byReseller[resellerID]...)
}

// ResellerExists reports whether there is a reseller id.
func (p *Licenses) ResellerExists(id string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, ok := p.state.Resellers[id]
	return ok
}
