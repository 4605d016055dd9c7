package handlers

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/licledger/licledger/domain"
)

// A view says, for one resource, which fields each view level shows. Levels are
// domain.ViewLevels: none < basic < standard < detail < expanded, and a level shows everything
// the levels below it show. basic is the common fields, standard all fields without
// sub-resources, detail adds the sub-resources, and expanded also turns code fields into
// {"code", "displayAs"} objects.
type view struct {
	resource string            // the key of a credential's access map
	fields   map[string]string // wire field -> the lowest level that shows it
	codes    []string          // fields that expanded shows as {"code", "displayAs"}
}

var (
	licensesView = view{resource: "licenses", fields: map[string]string{
		"licenseId": "basic", "productId": "basic", "planId": "basic", "status": "basic", "expiresAt": "basic",
		"tenantId": "standard", "quota": "standard", "protected": "standard",
		"users": "detail", "machines": "detail", "notes": "detail",
	}, codes: []string{"status"}}
	credentialsView = view{resource: "credentials", fields: map[string]string{
		"id": "basic", "role": "basic", "enabled": "basic",
		"scope": "standard", "description": "standard", "revoked": "standard", "access": "standard",
		"issuedAt": "standard", "rotatedAt": "standard", "lastLoginAt": "standard",
	}, codes: []string{"role"}}
)

// defaultLevel is what a query shows when it asks for no format (capped by the grant).
const defaultLevel = "detail"

func levelRank(level string) int { return slices.Index(domain.ViewLevels, level) }

// level decides the view level of a query: the format asked for (or the default), which must
// not exceed the caller's grant for the resource. A resource missing from a credential's access
// map is not limited.
func (v view) level(caller domain.Credential, format string) (string, error) {
	granted := caller.Access[v.resource]
	if granted == "" {
		granted = "expanded"
	}
	if granted == "none" {
		return "", &domain.Error{Code: CodeForbidden, Message: fmt.Sprintf("the credential may not view %s", v.resource)}
	}
	if format == "" {
		if levelRank(granted) < levelRank(defaultLevel) {
			return granted, nil
		}
		return defaultLevel, nil
	}
	if levelRank(format) < 1 {
		return "", domain.Errorf(domain.CodeInvalidArgument, "format", "must be one of basic, standard, detail, expanded")
	}
	if levelRank(format) > levelRank(granted) {
		return "", &domain.Error{Code: CodeForbidden, Field: "format",
			Message: fmt.Sprintf("format %s is above the credential's grant for %s (%s)", format, v.resource, granted)}
	}
	return format, nil
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
		if min, ok := v.fields[field]; !ok || levelRank(min) > levelRank(level) {
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
func renderAll[T any](v view, items []T, level string) ([]map[string]any, error) {
	out := make([]map[string]any, len(items))
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
