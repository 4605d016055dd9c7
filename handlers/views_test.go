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
	d := projections.LicenseDetail{LicenseID: "l1", TenantID: "t1", ProductID: "p1", PlanID: "plan", Status: "active",
		Users: []projections.SeatHolder{{EndUserCompany: "Acme", EndUserName: "ann", Active: true}}}
	fields := func(level string) []string {
		m, err := licensesView.render(d, level)
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
		"standard": {"entitlements", "licenseId", "planId", "productId", "protected", "quota", "status", "tenantId"},
		"detail":   {"entitlements", "licenseId", "machines", "notes", "planId", "productId", "protected", "quota", "status", "tenantId", "users"},
	}
	for level, w := range want {
		if got := fields(level); !reflect.DeepEqual(got, w) {
			t.Errorf("%s: %v, want %v", level, got, w)
		}
	}
	m, _ := licensesView.render(d, "expanded")
	if got := m["status"]; !reflect.DeepEqual(got, map[string]string{"code": "active", "displayAs": "Active"}) {
		t.Errorf("expanded status: %#v", got)
	}
	if got := fields("expanded"); !reflect.DeepEqual(got, want["detail"]) {
		t.Errorf("expanded shows %v, want the detail fields", got)
	}
	if got := displayAs("reseller-admin"); got != "Reseller admin" {
		t.Errorf("displayAs: %q", got)
	}
}

// Every field the read models produce has a level: a new field must be placed deliberately.
func TestViewsCoverEveryField(t *testing.T) {
	for _, c := range []struct {
		v    view
		item any
	}{
		{licensesView, projections.LicenseDetail{}},
		{credentialsView, projections.CredentialView{}},
	} {
		for _, f := range reflect.VisibleFields(reflect.TypeOf(c.item)) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if _, ok := c.v.fields[name]; !ok {
				t.Errorf("%s: field %q has no view level", c.v.resource, name)
			}
		}
	}
}
