package projections

import (
	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// LicensesAt rebuilds a Licenses read model as it stood at sequence seq, holding only the given
// resellers and licenses: each one's stream is read from its start up to seq. An aggregate created
// after seq is simply absent. It costs the events of those streams, not the whole log, so a
// license's or a reseller's past is an interactive question.
func LicensesAt(store *eventstore.Store, seq uint64, resellers, licenses []string) (*Licenses, error) {
	p := NewLicenses()
	read := func(stream string) error {
		return store.ReadStream(stream, 1, func(e eventstore.Event) error {
			if e.Sequence > seq {
				return eventstore.ErrStop
			}
			m, ev, err := decode(e)
			if err != nil {
				return err
			}
			p.Apply(m, ev)
			return nil
		})
	}
	for _, id := range resellers {
		if err := read(domain.ResellerStream(id)); err != nil {
			return nil, err
		}
	}
	for _, id := range licenses {
		if err := read(domain.LicenseStream(id)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ResellerLicenses lists a reseller's licenses, in creation order.
func (p *Licenses) ResellerLicenses(resellerID string) []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return append([]string(nil), p.byReseller[resellerID]...)
}
