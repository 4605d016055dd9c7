package wire

import (
	"fmt"
	"hash/fnv"
	"strconv"
)

// The JetStream streams a ledger writes, unpartitioned. Auditors and restores read them by name.
const (
	// EventStream carries every event of the log, stream sequence == ledger sequence.
	EventStream = "LEDGER_EVENTS"
	// CheckpointStream keeps the signed checkpoints published on CheckpointSubject.
	CheckpointStream = "LEDGER_CHECKPOINTS"
)

// Partition names the streams and subjects of one partition of a ledger partitioned by reseller
// (docs/SCALING.md): partition Index of Count, each a ledgerd with its own log, publishing to its
// own stream. The zero value (and any Count of 1) is the unpartitioned ledger, whose names are
// the constants EventStream, EventPrefix, CheckpointStream and CheckpointSubject.
type Partition struct{ Index, Count int }

// Partitioned reports whether the ledger is split into more than one partition.
func (p Partition) Partitioned() bool { return p.Count > 1 }

// String is "partition k of n", or "unpartitioned".
func (p Partition) String() string {
	if !p.Partitioned() {
		return "unpartitioned"
	}
	return fmt.Sprintf("partition %d of %d", p.Index, p.Count)
}

// Prefix is the subject space NATS maps the partition's addressed requests to, "ledger.v1.p.<k>."
// (the unpartitioned ledger is partition 0 of 1: a cluster configured with the mapping for one
// partition sends it every addressed request).
func (p Partition) Prefix() string { return PartitionPrefix(p.Index) }

// Owns reports whether the reseller's requests belong to this partition: whether NATS's
// partition(Count, …) mapping sends a subject whose mapped token is reseller here. NATS hashes the
// token with FNV-1a, modulo the count. A ledger checks it itself, so a request published straight
// to a partition's subject, or routed by a mapping with another count, is refused rather than
// decided where the reseller's data is not.
func (p Partition) Owns(reseller string) bool {
	if !p.Partitioned() {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(reseller))
	return int(h.Sum32()%uint32(p.Count)) == p.Index
}

// StreamName is the stream that carries the partition's events: LEDGER_EVENTS_<k>.
func (p Partition) StreamName() string { return p.name(EventStream) }

// SubjectPrefix is the subject space of the partition's stream: ledger.v1.p.<k>.evt.
func (p Partition) SubjectPrefix() string { return p.subject(EventPrefix) }

// CheckpointStream keeps the partition's signed checkpoints: LEDGER_CHECKPOINTS_<k>.
func (p Partition) CheckpointStream() string { return p.name(CheckpointStream) }

// CheckpointSubject is where the partition's checkpoints are published: ledger.v1.p.<k>.checkpoint.
func (p Partition) CheckpointSubject() string { return p.subject(CheckpointSubject) }

// Subject returns the subject an event of the partition is published on:
// <SubjectPrefix><reseller or _>.<aggregate id>.<type>.
func (p Partition) Subject(reseller, aggregate, typ string) string {
	if reseller == "" {
		reseller = SystemToken
	}
	return p.SubjectPrefix() + reseller + "." + aggregate + "." + typ
}

// SystemSubjects is the filter of the partition's system-wide events (products, plans, system
// credentials): those partition 0 decides and every other partition copies.
func (p Partition) SystemSubjects() string { return p.SubjectPrefix() + SystemToken + ".>" }

func (p Partition) name(base string) string {
	if !p.Partitioned() {
		return base
	}
	return base + "_" + strconv.Itoa(p.Index)
}

// subject puts an unpartitioned subject ("ledger.v1.<rest>") under the partition's prefix.
func (p Partition) subject(base string) string {
	if !p.Partitioned() {
		return base
	}
	return InPartition(p.Index, base)
}
