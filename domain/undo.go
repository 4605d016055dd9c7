package domain

import (
	"fmt"
	"slices"
	"strings"
)

// Undo takes back what Evolve did to a State: a batch of commands decided together, each seeing
// the ones before it, must be applied whole or not at all (batch.submit with atomic). Save each
// event before Evolve applies it; Rollback puts every aggregate the saved events touched back as
// it was before the first of them. An aggregate is copied once per Undo, when first touched.
type Undo struct {
	s     *State
	saved map[string]func() // by stream: puts the aggregate back
	order []string          // streams in the order saved
}

// NewUndo starts recording changes to s.
func NewUndo(s *State) *Undo { return &Undo{s: s, saved: map[string]func(){}} }

// Save records the aggregate e is about to change, unless it is recorded already.
func (u *Undo) Save(e Event) {
	stream := e.Stream()
	if _, done := u.saved[stream]; done {
		return
	}
	kind, id, _ := strings.Cut(stream, "/")
	var restore func()
	switch kind {
	case "reseller":
		restore = keep(u.s.Resellers, id, nil)
	case "tenant":
		restore = keep(u.s.Tenants, id, nil)
	case "product":
		restore = keep(u.s.Products, id, nil)
	case "plan":
		restore = keep(u.s.Plans, id, nil)
	case "license":
		restore = keep(u.s.Licenses, id, deepenLicense)
	case "credential":
		restore = keep(u.s.Credentials, id, deepenCredential)
	case "admin":
		restore = keep(u.s.Admins, id, nil)
	case "entitlement":
		restore = keep(u.s.Entitlements, id, nil)
	case "webhook":
		restore = keep(u.s.Webhooks, id, func(w *Webhook) { w.EventTypes = slices.Clone(w.EventTypes) })
	default:
		panic(fmt.Sprintf("domain: Undo: no aggregate for stream %q", stream))
	}
	u.saved[stream] = restore
	u.order = append(u.order, stream)
}

// Rollback restores every aggregate saved, and forgets them.
func (u *Undo) Rollback() {
	for _, stream := range u.order {
		u.saved[stream]()
	}
	clear(u.saved)
	u.order = u.order[:0]
}

// keep returns what puts m[id] back as it is now: absent, or a copy of its value in the same
// place (so a pointer to it stays valid).
func keep[T any](m map[string]*T, id string, deepen func(*T)) func() {
	old, ok := m[id]
	if !ok {
		return func() { delete(m, id) }
	}
	c := *old
	if deepen != nil {
		deepen(&c)
	}
	return func() {
		*old = c
		m[id] = old
	}
}
