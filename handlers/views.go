package handlers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
	"github.com/licledger/licledger/schemas"
)

// A view says, for one resource, which fields each view level shows. Levels are
// domain.ViewLevels: none < basic < standard < detail < expanded, and a level shows everything
// the levels below it show. basic is the common fields, standard all fields without
// sub-resources, detail adds the sub-resources, and expanded also turns code fields into
// {"code", "displayAs"} objects.
type view struct {
	resource string            // the key of a credential's access map
	item     reflect.Type      // the read model's type, which render cuts down
	fields   map[string]string // wire field -> the lowest level that shows it
	codes    []string          // fields that expanded shows as {"code", "displayAs"}
}

var (
	licensesView = view{resource: "licenses", item: reflect.TypeFor[projections.LicenseDetail](), fields: map[string]string{
		"licenseId": "basic", "productId": "basic", "planId": "basic", "status": "basic", "expiresAt": "basic",
		"tenantId": "standard", "quota": "standard", "protected": "standard", "entitlements": "standard",
		"users": "detail", "machines": "detail", "notes": "detail",
	}, codes: []string{"status"}}
	credentialsView = view{resource: "credentials", item: reflect.TypeFor[projections.CredentialView](), fields: map[string]string{
		"id": "basic", "role": "basic", "enabled": "basic",
		"scope": "standard", "description": "standard", "revoked": "standard", "access": "standard",
		"issuedAt": "standard", "rotatedAt": "standard", "lastLoginAt": "standard", "expiresAt": "standard", "session": "standard", "endpoint": "standard",
	}, codes: []string{"role"}}
)

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
		if slices.Contains(v.codes, field) {
			props[field] = map[string]any{"anyOf": []any{all[field], map[string]any{
				"type":                 "object",
				"properties":           map[string]any{"code": map[string]any{"type": "string"}, "displayAs": map[string]any{"type": "string"}},
				"required":             []string{"code", "displayAs"},
				"additionalProperties": false,
			}}}
		}
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// render returns item as a JSON object with only the fields level shows.
func (v view) render(item any, level string) (map[string]any, error) {
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
		for _, field := range v.codes {
			if code, ok := m[field].(string); ok {
				m[field] = map[string]string{"code": code, "displayAs": displayAs(code)}
			}
		}
	}
	return m, nil
}

// renderAll renders each item of a list.
func renderAll[M ~map[string]any, T any](v view, items []T, level string) ([]M, error) {
	out := make([]M, len(items))
	for i, it := range items {
		m, err := v.render(it, level)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// displayAs is a code's label for people: "reseller-admin" -> "Reseller admin".
func displayAs(code string) string {
	s := strings.ToLower(strings.NewReplacer("-", " ", "_", " ").Replace(code))
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
