package handlers

import (
	"time"

	"github.com/licledger/licledger/domain"
)

// Entitlements: their definition, attaching them to plans and licenses (domain/entitlement.go).

type (
	entitlementCreateWire struct {
		domain.EntitlementCreate
		CommandMeta
	}
	planAttachWire struct {
		domain.PlanAttachEntitlements
		CommandMeta
	}
	planDetachWire struct {
		domain.PlanDetachEntitlements
		CommandMeta
	}
	licenseAttachWire struct {
		domain.LicenseAttachEntitlements
		CommandMeta
	}
	licenseDetachWire struct {
		domain.LicenseDetachEntitlements
		CommandMeta
	}
)

func (w entitlementCreateWire) parts() (domain.Command, CommandMeta) {
	return w.EntitlementCreate, w.CommandMeta
}
func (w planAttachWire) parts() (domain.Command, CommandMeta) {
	return w.PlanAttachEntitlements, w.CommandMeta
}
func (w planDetachWire) parts() (domain.Command, CommandMeta) {
	return w.PlanDetachEntitlements, w.CommandMeta
}
func (w licenseAttachWire) parts() (domain.Command, CommandMeta) {
	return w.LicenseAttachEntitlements, w.CommandMeta
}
func (w licenseDetachWire) parts() (domain.Command, CommandMeta) {
	return w.LicenseDetachEntitlements, w.CommandMeta
}

// entitlementView is an entitlement as replies show it.
type entitlementView struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	ProductID string `json:"productId,omitempty"`
}

func entitlementResult(cmd domain.Command) func(*domain.State, time.Time) entitlementView {
	code := cmd.(domain.EntitlementCreate).Code
	return func(s *domain.State, _ time.Time) entitlementView {
		return entitlementView(*s.Entitlements[code])
	}
}

// planEntitlements is a plan's entitlements after an attach or detach.
type planEntitlements struct {
	PlanID       string   `json:"planId"`
	Entitlements []string `json:"entitlements"`
}

func planEntitlementsResult(cmd domain.Command) func(*domain.State, time.Time) planEntitlements {
	id := aggregateID(cmd)
	return func(s *domain.State, _ time.Time) planEntitlements {
		return planEntitlements{PlanID: id, Entitlements: append([]string{}, s.Plans[id].Entitlements...)}
	}
}

// licenseEntitlements is a license's entitlements after an attach or detach: all it has (its
// plan's and its own), and its own.
type licenseEntitlements struct {
	LicenseID    string   `json:"licenseId"`
	Entitlements []string `json:"entitlements"`
	Own          []string `json:"own"`
}

func licenseEntitlementsResult(cmd domain.Command) func(*domain.State, time.Time) licenseEntitlements {
	id := aggregateID(cmd)
	return func(s *domain.State, _ time.Time) licenseEntitlements {
		l := s.Licenses[id]
		return licenseEntitlements{LicenseID: id, Entitlements: append([]string{}, s.Entitled(l)...), Own: append([]string{}, l.Entitlements...)}
	}
}
