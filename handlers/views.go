package handlers

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/schemas"
)

// A view says, for one resource, which fields each view level shows. Levels are
// domain.ViewLevels: none < basic < standard < detail < expanded, and a level shows everything
// the levels below it show. basic is the common fields, standard all fields without
// sub-resources, detail adds the sub-resources, and expanded also breaks out every key/value
// element into {"code", "displayAs"} objects (the ERP seed's "Sales Rep": "01 - John Smith").
type view struct {
	resource string            // the key of a credential's access map
	item     reflect.Type      // the read model's type, which render cuts down
	fields   map[string]string // wire field -> the lowest level that shows it
	// codes are the key/value fields expanded breaks out, each with what its code names: a kind
	// of object (refReseller, …), shown as "<code> - <name>", or a value (valueWord), shown in
	// words ("reseller-admin" -> "Reseller admin").
	codes map[string]string
}

// What a code field names, for its displayAs.
const (
	valueWord   = ""
	refReseller = "reseller"
	refTenant   = "tenant"
	refProduct  = "product"
	refPlan     = "plan"
	refAdmin    = "admin"
)

// labeler names the object a code refers to ("" if there is none).
type labeler func(kind, code string) string

var (
	licensesView = view{resource: "licenses", item: reflect.TypeFor[projections.LicenseDetail](), fields: map[string]string{
		"licenseId": "basic", "productId": "basic", "planId": "basic", "status": "basic", "expiresAt": "basic",
		"resellerId": "standard", "tenantId": "standard", "quota": "standard", "protected": "standard", "entitlements": "standard",
		"users": "detail", "machines": "detail", "notes": "detail",
	}, codes: map[string]string{"status": valueWord, "resellerId": refReseller, "tenantId": refTenant, "productId": refProduct, "planId": refPlan}}
	credentialsView = view{resource: "credentials", item: reflect.TypeFor[credentialDetail](), fields: map[string]string{
		"id": "basic", "role": "basic", "enabled": "basic",
		"scope": "standard", "description": "standard", "revoked": "standard", "access": "standard",
		"issuedAt": "standard", "rotatedAt": "standard", "lastLoginAt": "standard", "expiresAt": "standard", "session": "standard", "endpoint": "standard",
	}, codes: map[string]string{"role": valueWord, "scope.resellerId": refReseller, "scope.tenantId": refTenant,
		"scope.productId": refProduct, "scope.userId": refAdmin}}
	customersView = view{resource: "customers", item: reflect.TypeFor[tenantItem](), fields: map[string]string{
		"tenantId": "basic", "name": "basic", "resellerId": "standard",
	}, codes: map[string]string{"resellerId": refReseller}}
	adminsView = view{resource: "admins", item: reflect.TypeFor[adminView](), fields: map[string]string{
		"username": "basic", "firstName": "basic", "lastName": "basic", "userProfileType": "basic", "resellerId": "basic",
		"tenantId": "basic", "emailAddress": "standard", "language": "standard", "language_code": "standard",
		"accessType": "standard", "userLevel": "standard", "readOnly": "standard", "role": "standard", "hasPassword": "standard",
	}, codes: map[string]string{"userProfileType": valueWord, "resellerId": refReseller, "tenantId": refTenant}}
	productsView = view{resource: "products", item: reflect.TypeFor[productItem](), fields: map[string]string{
		"id": "basic", "name": "basic",
	}}
	plansView = view{resource: "plans", item: reflect.TypeFor[domain.Plan](), fields: map[string]string{
		"id": "basic", "productId": "basic", "name": "basic", "tier": "basic",
		"seats": "standard", "machines": "standard", "durationDays": "standard", "floating": "standard", "heartbeatSeconds": "standard",
		"entitlements": "detail",
	}, codes: map[string]string{"productId": refProduct}}
	// usage's answers (usage.quota, usage.summary) are sums with nothing to cut: its grant only
	// says whether they may be read at all (none), and they take no format.
	usageView = view{resource: "usage"}
)

// views are the resources a credential's access may cap, by name (domain.AccessResources).
var views = []view{licensesView, credentialsView, customersView, adminsView, productsView, plansView, usageView}

// defaultLevel is what a query shows when it asks for no format (capped by the grant).
const defaultLevel = "detail"

// level decides the view level of a query: the format asked for (or the default), which must
// not exceed the caller's grant for the resource. A resource missing from a credential's access
// map is not limited.
func (v view) level(caller domain.Credential, format string) (string, error) {
	granted := caller.Cap(v.resource)
	if granted == "none" {
		return "", &domain.Error{Code: CodeForbidden, Message: fmt.Sprintf("the credential may not view %s", v.resource)}
	}
	if format == "" {
		if domain.ViewRank(granted) < domain.ViewRank(defaultLevel) {
			return granted, nil
		}
		return defaultLevel, nil
	}
	if domain.ViewRank(format) < 1 {
		return "", domain.Errorf(domain.CodeInvalidArgument, "format", "must be one of basic, standard, detail, expanded")
	}
	if domain.ViewRank(format) > domain.ViewRank(granted) {
		return "", &domain.Error{Code: CodeForbidden, Field: "format",
			Message: fmt.Sprintf("format %s is above the credential's grant for %s (%s)", format, v.resource, granted)}
	}
	return format, nil
}

// licenseItem and credentialItem are a license and a credential as a view shows them.
type (
	licenseItem    map[string]any
	credentialItem map[string]any
)

func (licenseItem) JSONSchema() map[string]any    { return licensesView.schema() }
func (credentialItem) JSONSchema() map[string]any { return credentialsView.schema() }

// schema describes what render may show: the read model's fields this view places, none of them
// required (a level hides some), code fields as a code or, expanded, as {code, displayAs}.
func (v view) schema() map[string]any {
	all := schemas.Of(v.item)["properties"].(map[string]any)
	props := map[string]any{}
	for field := range v.fields {
		props[field] = all[field]
	}
	codeOr := func(plain any) any {
		return map[string]any{"anyOf": []any{plain, map[string]any{
			"type":                 "object",
			"properties":           map[string]any{"code": map[string]any{"type": "string"}, "displayAs": map[string]any{"type": "string"}},
			"required":             []string{"code", "displayAs"},
			"additionalProperties": false,
		}}}
	}
	for field := range v.codes {
		outer, inner, nested := strings.Cut(field, ".")
		if !nested {
			props[field] = codeOr(props[field])
			continue
		}
		// A code inside an object field: a copy of that object's schema with the code's
		// property widened.
		obj := maps.Clone(props[outer].(map[string]any))
		innerProps := maps.Clone(obj["properties"].(map[string]any))
		innerProps[inner] = codeOr(innerProps[inner])
		obj["properties"] = innerProps
		props[outer] = obj
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// render returns item as a JSON object with only the fields level shows; expanded names the
// objects its codes refer to with label.
func (v view) render(item any, level string, label labeler) (map[string]any, error) {
	b, err := json.Marshal(item)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for field := range m {
		if min, ok := v.fields[field]; !ok || domain.ViewRank(min) > domain.ViewRank(level) {
			delete(m, field)
		}
	}
	if level == "expanded" {
		for field, kind := range v.codes {
			// "scope.resellerId" is a field of an object field.
			in, key := m, field
			if outer, inner, nested := strings.Cut(field, "."); nested {
				in, _ = m[outer].(map[string]any)
				key = inner
			}
			if code, ok := in[key].(string); ok && code != "" {
				in[key] = map[string]string{"code": code, "displayAs": displayAs(kind, code, label)}
			}
		}
	}
	return m, nil
}

// renderAll renders each item of a list.
func renderAll[M ~map[string]any, T any](v view, items []T, level string, label labeler) ([]M, error) {
	out := make([]M, len(items))
	for i, it := range items {
		m, err := v.render(it, level, label)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// displayAs is a code's label for people: a reference as "<code> - <name>" ("r1 - Reseller
// One"; the code alone when the object has no name), a value in words.
func displayAs(kind, code string, label labeler) string {
	if kind == valueWord {
		return inWords(code)
	}
	if name := label(kind, code); name != "" {
		return code + " - " + name
	}
	return code
}

// inWords is a value's label: "reseller-admin" -> "Reseller admin".
func inWords(code string) string {
	s := strings.ToLower(strings.NewReplacer("-", " ", "_", " ").Replace(code))
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// label names the object a code of kind refers to, for expanded views: a reseller's, tenant's,
// product's or plan's name, an admin's first and last name.
func (l *Ledger) label(kind, code string) string {
	name, first, last := l.licenses.NameOf(kind, code)
	if kind == refAdmin {
		name = strings.TrimSpace(l.personal.open(first) + " " + l.personal.open(last))
	}
	return name
}
