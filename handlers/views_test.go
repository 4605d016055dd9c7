package handlers

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/projections"
)

func TestViewLevel(t *testing.T) {
	caller := func(access map[string]string) domain.Credential {
		return domain.Credential{Role: "admin", Access: access}
	}
	cases := []struct {
		access       map[string]string
		format, want string
		code         domain.Code
	}{
		{nil, "", "detail", ""},                                   // no grant recorded: no limit, default detail
		{nil, "expanded", "expanded", ""},                         // asked for
		{map[string]string{"licenses": "basic"}, "", "basic", ""}, // the default is capped by the grant
		{map[string]string{"licenses": "basic"}, "basic", "basic", ""},
		{map[string]string{"licenses": "basic"}, "standard", "", CodeForbidden},
		{map[string]string{"licenses": "none"}, "", "", CodeForbidden},
		{map[string]string{"credentials": "none"}, "standard", "standard", ""}, // another resource
		{nil, "none", "", domain.CodeInvalidArgument},
		{nil, "everything", "", domain.CodeInvalidArgument},
	}
	for _, c := range cases {
		got, err := licensesView.level(caller(c.access), c.format)
		if code := domain.ErrorCode(err); code != c.code || got != c.want {
			t.Errorf("access %v format %q: got %q, %v; want %q, %s", c.access, c.format, got, err, c.want, c.code)
		}
	}
}

func TestViewRender(t *testing.T) {
	d := projections.LicenseDetail{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", ProductID: "p1", PlanID: "plan", Status: "active",
		Users: []projections.SeatHolder{{EndUserCompany: "Acme", EndUserName: "ann", Active: true}}}
	names := map[string]string{"reseller/r1": "Reseller One", "tenant/t1": "Acme", "product/p1": "Sync"}
	label := func(kind, code string) string { return names[kind+"/"+code] }
	fields := func(level string) []string {
		m, err := licensesView.render(d, level, label)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}
	want := map[string][]string{
		"basic":    {"licenseId", "planId", "productId", "status"},
		"standard": {"entitlements", "licenseId", "planId", "productId", "protected", "quota", "resellerId", "status", "tenantId"},
		"detail":   {"entitlements", "licenseId", "machines", "notes", "planId", "productId", "protected", "quota", "resellerId", "status", "tenantId", "users"},
	}
	for level, w := range want {
		if got := fields(level); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: %v, want %v", level, got, w)
		}
	}
	m, _ := licensesView.render(d, "expanded", label)
	// Every key/value element is broken out: values in words, references with their names.
	for field, want := range map[string]map[string]string{
		"status":     {"code": "active", "displayAs": "Active"},
		"resellerId": {"code": "r1", "displayAs": "r1 - Reseller One"},
		"tenantId":   {"code": "t1", "displayAs": "t1 - Acme"},
		"productId":  {"code": "p1", "displayAs": "p1 - Sync"},
		"planId":     {"code": "plan", "displayAs": "plan"}, // no name known: the code alone
	} {
		if got := m[field]; !reflect.DeepEqual(got, want) {
			t.Errorf("expanded %s: %#v, want %v", field, got, want)
		}
	}
	if got := fields("expanded"); !reflect.DeepEqual(got, want["detail"]) {
		t.Errorf("expanded shows %v, want the detail fields", got)
	}
	if got := inWords("reseller-admin"); got != "Reseller admin" {
		t.Errorf("displayAs: %q", got)
	}
}

// Every field the read models produce has a level: a new field must be placed deliberately. Every
// resource a credential's access may cap has its view, and every view is such a resource.
func TestViewsCoverEveryField(t *testing.T) {
	var names []string
	for _, v := range views {
		names = append(names, v.resource)
		if v.item == nil {
			continue // usage: a grant without fields to cut
		}
		for _, f := range reflect.VisibleFields(v.item) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if _, ok := v.fields[name]; !ok && !f.Anonymous {
				t.Errorf("%s: field %q has no view level", v.resource, name)
			}
		}
		for field := range v.codes {
			if outer, _, _ := strings.Cut(field, "."); v.fields[outer] == "" {
				t.Errorf("%s: code field %q is not a field of the view", v.resource, field)
			}
		}
	}
	if !slices.Equal(names, domain.AccessResources) {
		t.Errorf("views %v; domain.AccessResources %v", names, domain.AccessResources)
	}
}
