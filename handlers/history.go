package handlers

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
)

// CodeSequenceNotReflected answers a query whose minSequence the read models did not reach within
// the read timeout (503: retry).
const CodeSequenceNotReflected domain.Code = "SEQUENCE_NOT_REFLECTED"

// waitReflected waits, at most ReadTimeout, until the read models reflect seq. field names the
// request field that asked for seq ("" when it is only what the query must see anyway).
func (l *Ledger) waitReflected(ctx context.Context, seq uint64, field string) error {
	if l.runner.Position() >= seq {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.readTimeout)
	defer cancel()
	if err := l.runner.WaitFor(ctx, seq); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return domain.Errorf(CodeSequenceNotReflected, field,
				"the read models reflect sequence %d; %d was not reached within %s (the log's last durable sequence is %d)",
				l.runner.Position(), seq, l.readTimeout, l.store.Durable())
		}
		return err
	}
	return nil
}

// asOfSequence reads asOf as a sequence number of the log, the form that is not an RFC 3339
// instant.
func asOfSequence(asOf string) (uint64, bool) {
	n, err := strconv.ParseUint(asOf, 10, 64)
	return n, err == nil
}

// viewAsOf rebuilds, from the log, the read model q needs as it stood at asOf: an RFC 3339
// instant, or a sequence number. A query about a few licenses reads only their streams (and their
// reseller's); one about many replays the log up to that point (see AsOfReplayShare).
// caller is the credential asking, whose replays the gate counts.
func (l *Ledger) viewAsOf(ctx context.Context, caller, asOf string, q historical) (readView, error) {
	durable := l.store.Durable()
	var v readView
	if n, ok := asOfSequence(asOf); ok {
		var err error
		if n > durable {
			return v, domain.Errorf(domain.CodeInvalidArgument, "asOf", "sequence %d is past the end of the log (%d)", n, durable)
		}
		v.sequence = n
		if n > 0 {
			if v.now, err = l.store.TimeOf(n); err != nil {
				return v, err
			}
		}
	} else {
		t, err := time.Parse(time.RFC3339Nano, asOf)
		if err != nil {
			return v, domain.Errorf(domain.CodeInvalidArgument, "asOf", "is %q; want an RFC 3339 instant (2026-01-31T12:00:00Z) or a sequence number", asOf)
		}
		if t.After(l.now()) {
			return v, domain.Errorf(domain.CodeInvalidArgument, "asOf", "%s is in the future", asOf)
		}
		if v.sequence, err = l.store.SequenceAt(t); err != nil {
			return v, err
		}
		v.now = t
	}
	resellers, licenses := q.history(l)
	var err error
	if float64(len(licenses)) > l.asOfReplayShare*float64(l.licenses.LicenseCount()) {
		release, refused := l.replays.enter(ctx, caller, "asOf")
		if refused != nil {
			return v, refused
		}
		v.licenses, err = projections.LicensesReplayed(ctx, l.store, v.sequence)
		release()
	} else {
		v.licenses, err = projections.LicensesAt(l.store, v.sequence, resellers, licenses)
	}
	return v, err
}
