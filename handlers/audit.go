package handlers

import (
	"slices"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/wire"
)

// The auditors' queries: the log's signed checkpoints, inclusion and consistency proofs, and the
// events themselves, exact bytes and all. None of them asks to be trusted: every answer carries
// what a verifier needs to check it with the ledger's public key alone (ledgerctl audit).

// Codes of the audit queries.
const (
	CodeEventNotFound      domain.Code = "EVENT_NOT_FOUND"
	CodeNotYetCheckpointed domain.Code = "NOT_YET_CHECKPOINTED"
)

// auditor is the check every audit query makes: the history is the whole ledger's, so only a
// system-scope credential may read it.
func auditor(caller domain.Credential) error {
	if !caller.Scope.IsSystem() {
		return domain.Errorf(domain.CodeOutOfScope, "", "the audit queries read the whole log: they need a credential with the system scope")
	}
	return nil
}

type checkpointQuery struct {
	// Size picks the checkpoint of the smallest tree size at or above it; without it, the latest.
	Size uint64 `json:"size,omitempty"`
	ReadOptions
}

// checkpointResult is one signed checkpoint, its parsed fields, and the verifier key of the
// ledger (pin it out of band: a checkpoint proves nothing to whoever takes the key from the same
// answer).
type checkpointResult struct {
	Checkpoint string `json:"checkpoint"` // the signed note: "<origin>\n<size>\n<root>\n\n— <sig>"
	Origin     string `json:"origin"`
	TreeSize   uint64 `json:"treeSize"`
	RootHash   string `json:"rootHash"` // base64
	Key        string `json:"key"`
}

func auditCheckpoint(l *Ledger, caller domain.Credential, q checkpointQuery) (checkpointResult, error) {
	if err := auditor(caller); err != nil {
		return checkpointResult{}, err
	}
	c, err := l.checkpoint(q.Size, "size")
	if err != nil {
		return checkpointResult{}, err
	}
	return checkpointResult{Checkpoint: string(c.Signed), Origin: c.Origin, TreeSize: c.Size, RootHash: c.Root.String(), Key: l.checkpointKey}, nil
}

// checkpoint returns the signed checkpoint of the smallest size at or above size (0: the latest).
func (l *Ledger) checkpoint(size uint64, field string) (eventstore.Checkpoint, error) {
	var signed []byte
	var err error
	if size == 0 {
		signed, err = l.store.LatestCheckpoint()
	} else {
		signed, err = l.store.CheckpointAt(size)
	}
	if err != nil {
		return eventstore.Checkpoint{}, err
	}
	if signed == nil {
		return eventstore.Checkpoint{}, domain.Errorf(CodeNotYetCheckpointed, field, "no checkpoint covers %d events yet; one is signed every 10 s or 10,000 events", size)
	}
	return eventstore.OpenCheckpoint(signed, l.checkpointKey)
}

type inclusionQuery struct {
	Sequence uint64 `json:"sequence,omitempty"`
	EventID  string `json:"eventId,omitempty"`
	// TreeSize picks the checkpoint to prove against (the smallest at or above it); without it,
	// the latest.
	TreeSize uint64 `json:"treeSize,omitempty"`
	ReadOptions
}

// inclusionResult proves one event is in a signed tree: tlog.CheckRecord(proof, treeSize,
// root of checkpoint, sequence-1, RecordHash(event)) must hold.
type inclusionResult struct {
	Sequence   uint64   `json:"sequence"`
	Event      string   `json:"event"` // the stored bytes, exactly, as a string
	LeafHash   string   `json:"leafHash"`
	TreeSize   uint64   `json:"treeSize"`
	Proof      []string `json:"proof"` // base64 hashes
	Checkpoint string   `json:"checkpoint"`
}

func auditInclusion(l *Ledger, caller domain.Credential, q inclusionQuery) (inclusionResult, error) {
	if err := auditor(caller); err != nil {
		return inclusionResult{}, err
	}
	seq := q.Sequence
	switch {
	case (seq == 0) == (q.EventID == ""):
		return inclusionResult{}, domain.Errorf(domain.CodeInvalidArgument, "sequence", "give sequence or eventId (one of them)")
	case q.EventID != "":
		var err error
		if seq, err = l.sequenceOfID(q.EventID); err != nil {
			return inclusionResult{}, err
		}
	}
	if seq > l.store.Durable() {
		return inclusionResult{}, domain.Errorf(CodeEventNotFound, "sequence", "the log ends at %d", l.store.Durable())
	}
	c, err := l.checkpoint(max(q.TreeSize, seq), "treeSize")
	if err != nil {
		return inclusionResult{}, err
	}
	proof, err := l.store.ProveInclusion(seq, c.Size)
	if err != nil {
		return inclusionResult{}, err
	}
	event, err := l.eventBytes(seq)
	if err != nil {
		return inclusionResult{}, err
	}
	return inclusionResult{Sequence: seq, Event: string(event), LeafHash: tlog.RecordHash(event).String(),
		TreeSize: c.Size, Proof: hashStrings(proof), Checkpoint: string(c.Signed)}, nil
}

type consistencyQuery struct {
	From uint64 `json:"from"` // the older tree size (an auditor's earlier checkpoint)
	// To picks the newer checkpoint (the smallest at or above it); without it, the latest.
	To uint64 `json:"to,omitempty"`
	ReadOptions
}

// consistencyResult proves the tree of size from is a prefix of the signed tree of size
// treeSize: tlog.CheckTree(proof, treeSize, root of checkpoint, from, fromRoot) must hold, and
// fromRoot must be the root the auditor's own earlier checkpoint carries.
type consistencyResult struct {
	From       uint64   `json:"from"`
	FromRoot   string   `json:"fromRoot"`
	TreeSize   uint64   `json:"treeSize"`
	Proof      []string `json:"proof"`
	Checkpoint string   `json:"checkpoint"`
}

func auditConsistency(l *Ledger, caller domain.Credential, q consistencyQuery) (consistencyResult, error) {
	if err := auditor(caller); err != nil {
		return consistencyResult{}, err
	}
	if q.From == 0 {
		return consistencyResult{}, domain.Errorf(domain.CodeInvalidArgument, "from", "give the older tree size (1 or more)")
	}
	// Without to, the newest checkpoint: an auditor asks whether the log only grew since its
	// checkpoint, up to now, not up to the first checkpoint past it.
	to := q.To
	if to != 0 {
		to = max(to, q.From)
	}
	c, err := l.checkpoint(to, "to")
	if err != nil {
		return consistencyResult{}, err
	}
	if c.Size < q.From {
		return consistencyResult{}, domain.Errorf(CodeNotYetCheckpointed, "from", "no checkpoint covers %d events yet (the newest is of %d); one is signed every 10 s or 10,000 events", q.From, c.Size)
	}
	proof, err := l.store.ProveConsistency(q.From, c.Size)
	if err != nil {
		return consistencyResult{}, err
	}
	root, err := l.store.TreeHash(q.From)
	if err != nil {
		return consistencyResult{}, err
	}
	return consistencyResult{From: q.From, FromRoot: root.String(), TreeSize: c.Size, Proof: hashStrings(proof), Checkpoint: string(c.Signed)}, nil
}

func hashStrings(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

// eventBytes reads one durable event's stored bytes.
func (l *Ledger) eventBytes(seq uint64) ([]byte, error) {
	var out []byte
	_, err := l.store.Read(seq, 1, func(e eventstore.Event) error {
		if e.Sequence == seq {
			out = append([]byte(nil), e.Bytes...)
		}
		return nil
	})
	if err == nil && out == nil {
		err = domain.Errorf(CodeEventNotFound, "sequence", "no event %d", seq)
	}
	return out, err
}

// sequenceOfID finds an event by id without an index: a ULID starts with its event's time in
// milliseconds, and event times never go backwards, so the event is among the few that share its
// millisecond, which a binary search over the log finds.
func (l *Ledger) sequenceOfID(id string) (uint64, error) {
	u, err := ulid.ParseStrict(id)
	if err != nil {
		return 0, domain.Errorf(domain.CodeInvalidArgument, "eventId", "is not a ULID")
	}
	ms := time.UnixMilli(int64(u.Time())).UTC()
	before, err := l.store.SequenceAt(ms.Add(-time.Microsecond))
	if err != nil {
		return 0, err
	}
	var found uint64
	_, err = l.store.Read(before+1, 0, func(e eventstore.Event) error {
		a, err := e.Attributes()
		if err != nil {
			return err
		}
		if a.ID == id {
			found = e.Sequence
			return eventstore.ErrStop
		}
		if !a.Time.Before(ms.Add(time.Millisecond)) {
			return eventstore.ErrStop
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if found == 0 {
		return 0, domain.Errorf(CodeEventNotFound, "eventId", "no event %s", id)
	}
	return found, nil
}

type eventsQuery struct {
	// From and To bound the events by sequence number or RFC 3339 instant, both inclusive.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Type, Subject and Reseller keep only events with these attributes.
	Type     string `json:"type,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Reseller string `json:"reseller,omitempty"`
	// Limit is the most events in one page (default 1000, at most 10000).
	Limit int `json:"limit,omitempty"`
	ReadOptions
}

// eventsResult is one page of the log. Items are the stored events, exactly, as strings (so
// that no JSON re-encoding can change a byte the tree hashed); Next is the From of the next page
// ("" at the end of the range).
type eventsResult struct {
	Items []string `json:"items"`
	Next  string   `json:"next,omitempty"`
	// Scanned is the last sequence this page read (filtered events included).
	Scanned uint64 `json:"scanned"`
}

// auditEvents pages through the log. A page reads at most 10 × limit events, so a narrow filter
// over a long log answers in bounded time with fewer items and a Next to go on from.
func auditEvents(l *Ledger, caller domain.Credential, q eventsQuery) (eventsResult, error) {
	if err := auditor(caller); err != nil {
		return eventsResult{}, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 1000
	case limit < 0 || limit > 10000:
		return eventsResult{}, domain.Errorf(domain.CodeInvalidArgument, "limit", "is %d; want 1..10000", limit)
	}
	if q.Reseller != "" && q.Reseller != wire.SystemToken && !slices.Contains(l.licenses.ResellerIDs(), q.Reseller) {
		// Resellers are never deleted: one the model does not know never had an event.
		where := ""
		if l.partition.Partitioned() {
			where = " on " + l.partition.String() + " (audit the reseller's own partition)"
		}
		return eventsResult{}, domain.Errorf(domain.CodeResellerNotFound, "reseller", "there is no reseller %q%s", q.Reseller, where)
	}
	durable := l.store.Durable()
	from, err := l.logPosition(q.From, "from", 1, false)
	if err != nil {
		return eventsResult{}, err
	}
	to, err := l.logPosition(q.To, "to", durable, true)
	if err != nil {
		return eventsResult{}, err
	}
	to = min(to, durable)
	res := eventsResult{Items: []string{}, Scanned: from - 1}
	if from > to {
		return res, nil
	}
	budget := 10 * limit
	_, err = l.store.Read(from, 0, func(e eventstore.Event) error {
		if e.Sequence > to || len(res.Items) == limit || budget == 0 {
			return eventstore.ErrStop
		}
		budget--
		res.Scanned = e.Sequence
		if q.Type != "" || q.Subject != "" || q.Reseller != "" {
			a, err := e.Attributes() // from the tail near the head of the log, without decoding
			if err != nil {
				return err
			}
			if (q.Type != "" && a.Type != q.Type) || (q.Subject != "" && a.Subject != q.Subject) || (q.Reseller != "" && a.Reseller != q.Reseller) {
				return nil
			}
		}
		res.Items = append(res.Items, string(e.Bytes))
		return nil
	})
	if err != nil {
		return eventsResult{}, err
	}
	if res.Scanned < to {
		res.Next = strconv.FormatUint(res.Scanned+1, 10)
	}
	return res, nil
}

// logPosition reads a bound given as a sequence or an RFC 3339 instant ("" is def). An instant
// as a lower bound is the first event at or after it; as an upper bound, the last at or before.
func (l *Ledger) logPosition(s, field string, def uint64, upper bool) (uint64, error) {
	if s == "" {
		return def, nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, domain.Errorf(domain.CodeInvalidArgument, field, "is %q; want a sequence number or an RFC 3339 instant (2026-01-31T12:00:00Z)", s)
	}
	if upper {
		return l.store.SequenceAt(t)
	}
	seq, err := l.store.SequenceAt(t.Add(-time.Nanosecond))
	return seq + 1, err
}
