package handlers

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Floating licenses' heartbeats (domain/heartbeat.go). The first heartbeat of a machine is an
// event; the later ones are kept here, in memory only: a restart gives every machine a full
// window from the ledger's start, so a ledger that was down culls nobody wrongly.

type machineKey struct{ license, fingerprint string }

// liveness is the last heartbeat of each machine of a floating license.
type liveness struct {
	mu    sync.Mutex
	last  map[machineKey]time.Time
	since time.Time // the ledger's start
}

func (v *liveness) beat(k machineKey, at time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if at.After(v.last[k]) {
		v.last[k] = at
	}
}

// lastBeat is the latest of the machine's last heartbeat, its first one and the ledger's start.
func (v *liveness) lastBeat(k machineKey, started time.Time) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	t := v.since
	for _, c := range []time.Time{v.last[k], started} {
		if c.After(t) {
			t = c
		}
	}
	return t
}

// keep forgets the machines not in alive (deactivated ones).
func (v *liveness) keep(alive map[machineKey]bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.last {
		if !alive[k] {
			delete(v.last, k)
		}
	}
}

type heartbeatWire struct {
	domain.MachineHeartbeat
	CommandMeta
}

func (w heartbeatWire) parts() (domain.Command, CommandMeta) {
	return w.MachineHeartbeat, w.CommandMeta
}

// heartbeatResult is machine.heartbeat's result.
type heartbeatResult struct {
	LicenseID   string `json:"licenseId"`
	Fingerprint string `json:"fingerprint"`
	// HeartbeatSeconds is the window: the next heartbeat must come within it.
	HeartbeatSeconds int `json:"heartbeatSeconds"`
}

func heartbeatResultOf(cmd domain.Command) func(*domain.State, time.Time) heartbeatResult {
	c := cmd.(domain.MachineHeartbeat)
	return func(s *domain.State, _ time.Time) heartbeatResult {
		window, _ := s.Plans[s.Licenses[c.LicenseID].PlanID].HeartbeatWindow()
		return heartbeatResult{LicenseID: c.LicenseID, Fingerprint: c.Fingerprint, HeartbeatSeconds: int(window / time.Second)}
	}
}

// fastHeartbeat answers a heartbeat of a machine that has sent its first one, from the read
// model and without the log: it only notes the time. false: the sequencer must decide it (the
// first heartbeat, or anything the read model cannot vouch for, whose refusal the decision words).
func (l *Ledger) fastHeartbeat(caller domain.Credential, c domain.MachineHeartbeat) ([]byte, bool) {
	window, started, ok := l.licenses.Floating(c.LicenseID, c.Fingerprint, licensesIn(caller.Scope))
	if !ok || started.IsZero() {
		return nil, false
	}
	l.alive.beat(machineKey{c.LicenseID, c.Fingerprint}, l.now())
	reply, _ := json.Marshal(commandReply{Result: heartbeatResult{c.LicenseID, c.Fingerprint, int(window / time.Second)},
		Events: []eventRef{}, Sequence: l.runner.Position()})
	return reply, true
}

// dead reports whether a machine's window has passed at now, given its first heartbeat.
func (l *Ledger) dead(k machineKey, window time.Duration, started, now time.Time) bool {
	return now.Sub(l.alive.lastBeat(k, started)) > window
}

// CullDeadMachines deactivates, every interval until ctx ends, the machines of floating licenses
// whose window passed without a heartbeat: each as a machine.deactivated.v1 event with the
// reason, which frees its slot.
func (l *Ledger) CullDeadMachines(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			l.cullOnce(ctx)
		}
	}
}

func (l *Ledger) cullOnce(ctx context.Context) {
	machines := l.licenses.FloatingMachines()
	alive := make(map[machineKey]bool, len(machines))
	now := l.now()
	for _, m := range machines {
		k := machineKey{m.LicenseID, m.Fingerprint}
		alive[k] = true
		if !l.dead(k, m.Window, m.Started, now) {
			continue
		}
		cull := domain.MachineCull{LicenseID: m.LicenseID, Fingerprint: m.Fingerprint, Dead: func() bool { return l.dead(k, m.Window, m.Started, l.now()) }}
		p := &prepared{cmd: cull, addressed: m.ResellerID, result: func(*domain.State, time.Time) any { return nil }}
		if _, err := l.store.Submit(ctx, eventstore.Command{Actor: "ledger", Decide: l.decision(p)}); err != nil && ctx.Err() == nil {
			l.log.Warn("culling a dead machine", "license", m.LicenseID, "fingerprint", m.Fingerprint, "err", err)
		}
	}
	l.alive.keep(alive)
}
