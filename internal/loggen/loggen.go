// Package loggen writes large, realistic ledgers for benchmarks: resellers with tenants and
// licenses, then a long run of seat registrations with some unregistrations and machine
// activations, spread over two years so quota periods roll. Every event is decided by the domain
// and appended through the real sequencer, so the log is one ledgerd could have written.
package loggen

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
)

// Spec sizes a generated ledger.
type Spec struct {
	Events    int // at least this many events in all
	Resellers int // each with 10 tenants, each tenant with LicensesPerTenant licenses
	// LicensesPerTenant defaults to 10.
	LicensesPerTenant int
	Seed              uint64
}

// Start is when a generated ledger's history begins; it spans two years from here.
var Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Span is how long a generated history lasts.
const Span = 2 * 365 * 24 * time.Hour

// chunk is how many commands one sequencer submission decides.
const chunk = 2000

// Cached returns a read-only store holding the ledger spec describes, generating it under dir the
// first time (the directory is named after the spec and reused while its generation had
// completed).
func Cached(dir string, spec Spec) (*eventstore.Store, error) {
	path, err := CachedDir(dir, spec)
	if err != nil {
		return nil, err
	}
	return eventstore.Open(path, eventstore.Options{ReadOnly: true})
}

// CachedDir is Cached's directory, for a caller that wants a writable copy (see Clone).
func CachedDir(dir string, spec Spec) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("licledger-loggen-mlz-%d-%d-%d-%d", spec.Events, spec.Resellers, spec.LicensesPerTenant, spec.Seed))
	done := filepath.Join(path, "complete")
	if _, err := os.Stat(done); err != nil {
		if err := os.RemoveAll(path); err != nil {
			return "", err
		}
		if err := Generate(path, spec); err != nil {
			return "", err
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			return "", err
		}
	}
	return path, nil
}

// Clone makes dst a copy of the store in src that may be written without touching src: Pebble's
// table files never change once written, so they are hard-linked; the rest (manifest, WAL,
// options) is copied.
func Clone(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() || e.Name() == "LOCK" {
			continue
		}
		if strings.HasSuffix(e.Name(), ".sst") {
			if err := os.Link(from, to); err != nil {
				return err
			}
			continue
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Generate writes the ledger spec describes into a new store in dir.
func Generate(dir string, spec Spec) error {
	if spec.LicensesPerTenant == 0 {
		spec.LicensesPerTenant = 10
	}
	g := &generator{spec: spec, state: domain.NewState(), rng: rand.New(rand.NewPCG(spec.Seed, 1))}
	commands := spec.Events + spec.Resellers*(11+10*spec.LicensesPerTenant) + 2
	step := Span / time.Duration(commands/chunk+1)
	at := Start
	store, err := eventstore.Open(dir, eventstore.Options{Clock: func() time.Time { at = at.Add(step); return at }})
	if err != nil {
		return err
	}
	defer store.Close()
	submit := func(cmds []domain.Command) error {
		_, err := store.Submit(context.Background(), eventstore.Command{Decide: func(tx *eventstore.Tx) (func(eventstore.Receipt) []byte, error) {
			for _, c := range cmds {
				if err := g.decide(tx, c); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}})
		return err
	}
	if err := submit(g.catalogue()); err != nil {
		return err
	}
	for _, cmds := range g.partners() {
		if err := submit(cmds); err != nil {
			return err
		}
	}
	for store.Durable() < uint64(spec.Events) {
		cmds := make([]domain.Command, chunk)
		for i := range cmds {
			cmds[i] = g.next()
		}
		if err := submit(cmds); err != nil {
			return err
		}
	}
	return store.Close()
}

type generator struct {
	spec     Spec
	state    *domain.State // the write model, on the sequencer goroutine only
	rng      *rand.Rand
	licenses []string
	users    []int // per license, how many users were ever registered
	machines []int // per license, how many machines were ever activated
}

func (g *generator) catalogue() []domain.Command {
	return []domain.Command{
		domain.ProductCreate{ID: "product-1", Name: "Product"},
		domain.PlanCreate{ID: "plan-1", ProductID: "product-1", Name: "Standard", Tier: 1, Seats: domain.MaxSeats, Machines: 1000},
	}
}

// partners returns the commands creating resellers, tenants and licenses, one batch per reseller.
func (g *generator) partners() [][]domain.Command {
	var out [][]domain.Command
	for r := range g.spec.Resellers {
		rid := fmt.Sprintf("reseller-%04d", r)
		cmds := []domain.Command{domain.ResellerCreate{ID: rid, Name: "Reseller " + rid}}
		for t := range 10 {
			tid := fmt.Sprintf("tenant-%04d-%02d", r, t)
			cmds = append(cmds, domain.TenantCreate{ResellerID: rid, ID: tid, Name: "Customer " + tid})
			for l := range g.spec.LicensesPerTenant {
				lid := fmt.Sprintf("license-%04d-%02d-%03d", r, t, l)
				cmds = append(cmds, domain.LicenseCreate{ID: lid, ResellerID: rid, TenantID: tid, PlanID: "plan-1", KeyHash: "kh-" + lid, KeyHint: "XXXX"})
				g.licenses = append(g.licenses, lid)
			}
		}
		out = append(out, cmds)
	}
	g.users = make([]int, len(g.licenses))
	g.machines = make([]int, len(g.licenses))
	return out
}

// next draws the next command: mostly new seat holders, some leaving, some machines.
func (g *generator) next() domain.Command {
	i := g.rng.IntN(len(g.licenses))
	lid := g.licenses[i]
	company := fmt.Sprintf("Company %s", lid[len("license-"):])
	switch r := g.rng.IntN(100); {
	case r < 4 && g.users[i] > 0:
		return domain.SeatUnregister{LicenseID: lid, EndUserCompany: company, EndUserName: fmt.Sprintf("user-%07d", g.rng.IntN(g.users[i]))}
	case r < 6:
		g.machines[i]++
		return domain.MachineActivate{LicenseID: lid, Fingerprint: fmt.Sprintf("fp-%06d", g.machines[i]), Name: "build agent"}
	case r < 7 && g.machines[i] > 0:
		return domain.MachineDeactivate{LicenseID: lid, Fingerprint: fmt.Sprintf("fp-%06d", 1+g.rng.IntN(g.machines[i]))}
	}
	g.users[i]++
	return domain.SeatRegister{LicenseID: lid, EndUserCompany: company, EndUserName: fmt.Sprintf("user-%07d", g.users[i]-1)}
}

// decide decides c and appends its events; a refusal (unregistering someone already gone,
// a full machine limit) appends nothing, as in the ledger.
func (g *generator) decide(tx *eventstore.Tx, c domain.Command) error {
	events, err := domain.Decide(g.state, tx.Now(), c)
	if err != nil {
		return nil
	}
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		reseller, tenant := e.Owner()
		if err := tx.Append(e.Stream(), eventstore.AnyVersion, eventstore.Record{Type: e.EventType(), Subject: e.AggregateID(), Reseller: reseller, Tenant: tenant, Data: data}); err != nil {
			return err
		}
		g.state.Evolve(e)
	}
	return nil
}
