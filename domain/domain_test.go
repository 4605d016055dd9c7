package domain_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// failer is what given needs of a test: *testing.T or rapid's *rapid.T.
type failer interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// given builds a state from events, round-tripping each through its JSON and DecodeEvent, as
// replay from the log does.
func given(t failer, events ...domain.Event) *domain.State {
	t.Helper()
	s := domain.NewState()
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.DecodeEvent(e.EventType(), data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("%s does not survive its JSON:\n got %#v\nwant %#v", e.EventType(), back, e)
		}
		s.Evolve(back)
	}
	return s
}

// world is a reseller with one tenant, a product, a 2-seat plan and a license on it.
func world() []domain.Event {
	return []domain.Event{
		domain.ResellerCreated{ID: "r1", Name: "Reseller One"},
		domain.ResellerCreated{ID: "r2", Name: "Reseller Two"},
		domain.TenantCreated{ID: "t1", ResellerID: "r1", Name: "Acme"},
		domain.ProductCreated{ID: "p1", Name: "Product"},
		domain.PlanCreated{ID: "plan2", ProductID: "p1", Name: "Two seats", Tier: 1, Seats: 2, Machines: 1, DurationDays: 0},
		domain.LicenseCreated{ID: "l1", ResellerID: "r1", TenantID: "t1", ProductID: "p1", PlanID: "plan2", KeyHash: "h", Seats: 2, Machines: 1, StartsAt: t0},
	}
}

func reg(name string, period int) domain.SeatRegistered {
	return domain.SeatRegistered{LicenseID: "l1", ResellerID: "r1", TenantID: "t1", EndUserCompany: "Acme", EndUserName: name, Period: period}
}

func unreg(name string, period int) domain.SeatUnregistered {
	return domain.SeatUnregistered(reg(name, period))
}

func withWorld(events ...domain.Event) []domain.Event { return append(world(), events...) }

func TestDecide(t *testing.T) {
	later := t0.AddDate(1, 0, 1) // in the second quota period
	runDecideCases(t, []decideCase{
		{name: "reseller created", when: domain.ResellerCreate{ID: "r9", Name: "Nine"},
			then: []domain.Event{domain.ResellerCreated{ID: "r9", Name: "Nine"}}},
		{name: "reseller id taken", given: world(), when: domain.ResellerCreate{ID: "r1", Name: "x"},
			code: domain.CodeAlreadyExists, field: "id"},
		{name: "reseller id with a dot", when: domain.ResellerCreate{ID: "a.b", Name: "x"},
			code: domain.CodeInvalidArgument, field: "id"},
		{name: "reseller without a name", when: domain.ResellerCreate{ID: "r9"},
			code: domain.CodeInvalidArgument, field: "name"},
		{name: "name with a control character", when: domain.ResellerCreate{ID: "r9", Name: "a\x00b"},
			code: domain.CodeInvalidArgument, field: "name"},
		{name: "tenant of a missing reseller", when: domain.TenantCreate{ResellerID: "nope", ID: "t9", Name: "x"},
			code: domain.CodeResellerNotFound, field: "resellerId"},
		{name: "tenant created", given: world(), when: domain.TenantCreate{ResellerID: "r2", ID: "t9", Name: "Beta"},
			then: []domain.Event{domain.TenantCreated{ID: "t9", ResellerID: "r2", Name: "Beta"}}},
		{name: "tenant renamed", given: world(), when: domain.TenantUpdate{TenantID: "t1", Name: "Acme Corp"},
			then: []domain.Event{domain.TenantUpdated{ID: "t1", ResellerID: "r1", Name: "Acme Corp"}}},
		{name: "renaming to the same name changes nothing", given: world(), when: domain.TenantUpdate{TenantID: "t1", Name: "Acme"}},
		{name: "rename a missing tenant", given: world(), when: domain.TenantUpdate{TenantID: "nope", Name: "X"},
			code: domain.CodeTenantNotFound, field: "tenantId"},
		{name: "plan of a missing product", given: world(), when: domain.PlanCreate{ID: "x", ProductID: "nope", Name: "x", Seats: 1},
			code: domain.CodeProductNotFound, field: "productId"},
		{name: "plan without seats (no seat could ever be registered)", given: world(), when: domain.PlanCreate{ID: "x", ProductID: "p1", Name: "x"},
			code: domain.CodeInvalidArgument, field: "seats"},
		{name: "plan with negative seats", given: world(), when: domain.PlanCreate{ID: "x", ProductID: "p1", Name: "x", Seats: -1},
			code: domain.CodeInvalidArgument, field: "seats"},
		{name: "license copies the plan's terms", given: world(), now: t0,
			when: domain.LicenseCreate{ID: "l9", ResellerID: "r1", TenantID: "t1", PlanID: "plan2", KeyHash: "kh", KeyHint: "ABCD"},
			then: []domain.Event{domain.LicenseCreated{ID: "l9", ResellerID: "r1", TenantID: "t1", ProductID: "p1", PlanID: "plan2", KeyHash: "kh", KeyHint: "ABCD", Seats: 2, Machines: 1, StartsAt: t0}}},
		{name: "license for another reseller's tenant", given: world(),
			when: domain.LicenseCreate{ID: "l9", ResellerID: "r2", TenantID: "t1", PlanID: "plan2", KeyHash: "kh"},
			code: domain.CodeTenantMismatch, field: "tenantId"},
		{name: "license on a missing plan", given: world(),
			when: domain.LicenseCreate{ID: "l9", ResellerID: "r1", TenantID: "t1", PlanID: "nope", KeyHash: "kh"},
			code: domain.CodePlanNotFound, field: "planId"},
		{name: "seat registered", given: world(), now: t0,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "ann"},
			then: []domain.Event{reg("ann", 0)}},
		{name: "registering an active user again changes nothing", given: withWorld(reg("ann", 0)), now: t0,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "ann"}},
		{name: "quota reached", given: withWorld(reg("ann", 0), reg("bob", 0)), now: t0,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "cy"},
			code: domain.CodeQuotaExceeded, field: "endUserName"},
		{name: "unregistering does not free a seat in the same period", given: withWorld(reg("ann", 0), reg("bob", 0), unreg("bob", 0)), now: t0,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "cy"},
			code: domain.CodeQuotaExceeded},
		{name: "a user counted this period may come back", given: withWorld(reg("ann", 0), reg("bob", 0), unreg("bob", 0)), now: t0,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "bob"},
			then: []domain.Event{reg("bob", 0)}},
		{name: "a new period frees the seats of users who left", given: withWorld(reg("ann", 0), reg("bob", 0), unreg("bob", 0)), now: later,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "cy"},
			then: []domain.Event{reg("cy", 1)}},
		{name: "users still active at a period's start count in it", given: withWorld(reg("ann", 0), reg("bob", 0), reg("cy", 1)), now: later,
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "dee"},
			code: domain.CodeQuotaExceeded},
		{name: "unregister someone never registered", given: world(), now: t0,
			when: domain.SeatUnregister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "zed"},
			code: domain.CodeSeatNotFound, field: "endUserName"},
		{name: "seat on a missing license", given: world(), now: t0,
			when: domain.SeatRegister{LicenseID: "nope", EndUserCompany: "Acme", EndUserName: "ann"},
			code: domain.CodeLicenseNotFound, field: "licenseId"},
		{name: "seat on an expired license", now: t0.AddDate(0, 0, 31),
			given: []domain.Event{
				domain.ResellerCreated{ID: "r1", Name: "R"}, domain.TenantCreated{ID: "t1", ResellerID: "r1", Name: "T"},
				domain.LicenseCreated{ID: "l1", ResellerID: "r1", TenantID: "t1", KeyHash: "h", Seats: 5, StartsAt: t0, ExpiresAt: ptr(t0.AddDate(0, 0, 30))},
			},
			when: domain.SeatRegister{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "ann"},
			code: domain.CodeLicenseExpired},
		{name: "credential with an unknown role", when: domain.CredentialIssue{ID: "c1", Role: "king", TokenHash: "h"},
			code: domain.CodeInvalidArgument, field: "role"},
		{name: "credential issued", when: domain.CredentialIssue{ID: "c1", Role: "system-admin", TokenHash: "h", TokenPrefix: "lic_ab"},
			then: []domain.Event{domain.CredentialIssued{ID: "c1", Role: "system-admin", TokenHash: "h", TokenPrefix: "lic_ab"}}},
	})
}

// decideCase is one given/when/then row: given these events, at time now, when this command,
// then these events, or an error with this code naming this field.
type decideCase struct {
	name  string
	given []domain.Event
	now   time.Time
	when  domain.Command
	then  []domain.Event
	code  domain.Code
	field string
}

// runDecideCases runs rows; a successful row's events must also apply and survive their JSON.
func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := given(t, c.given...)
			got, err := domain.Decide(s, c.now, c.when)
			if c.code != "" {
				e, _ := err.(*domain.Error)
				if e == nil || e.Code != c.code || (c.field != "" && e.Field != c.field) {
					t.Fatalf("got %v, %v; want %s (field %q)", got, err, c.code, c.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(got, c.then) {
				t.Fatalf("got  %#v\nwant %#v", got, c.then)
			}
			given(t, append(c.given, got...)...)
		})
	}
}

func TestUsageFollowsDBSyncQuotaRule(t *testing.T) {
	s := given(t, withWorld(reg("ann", 0), reg("bob", 0), unreg("bob", 0))...)
	u := s.Licenses["l1"].UsageAt(t0)
	if u.Seats != 2 || u.Active != 1 || u.Consumed != 2 || u.Remaining != 0 || u.Period != 0 {
		t.Fatalf("usage in the first period: %+v", u)
	}
	u = s.Licenses["l1"].UsageAt(t0.AddDate(1, 0, 0))
	if u.Active != 1 || u.Consumed != 1 || u.Remaining != 1 || u.Period != 1 || !u.PeriodStart.Equal(t0.AddDate(1, 0, 0)) {
		t.Fatalf("usage at the start of the second period: %+v", u)
	}
}

func TestQuotaPeriod(t *testing.T) {
	start := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{start, 0},
		{start.Add(-time.Hour), 0},
		{time.Date(2025, 2, 28, 23, 0, 0, 0, time.UTC), 0},
		{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), 1}, // Feb 29 + 1 year normalises to Mar 1
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), 5},
	} {
		if got := domain.QuotaPeriod(start, c.at); got != c.want {
			t.Errorf("QuotaPeriod(%s) = %d, want %d", c.at, got, c.want)
		}
	}
}

func TestDecodeEventRefusesUnknownTypes(t *testing.T) {
	if _, err := domain.DecodeEvent("license.exploded.v1", []byte(`{}`)); err == nil {
		t.Fatal("unknown type decoded")
	}
	if _, err := domain.DecodeEvent(domain.TypeSeatRegistered, []byte(`{"period":"x"}`)); err == nil {
		t.Fatal("malformed data decoded")
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"r1": true, "01JABCDEF": true, "a_b-c": true, "": false, "-a": false, "_a": false,
		"a.b": false, "a b": false, "a*": false, "a>": false, "é": false,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":  true,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": false,
	} {
		if got := domain.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v", id, got)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestEveryEventTypeDecodes(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range domain.EventTypes {
		e, err := domain.DecodeEvent(typ, []byte(`{}`))
		if err != nil || e.EventType() != typ {
			t.Errorf("%s: %v, %v", typ, e, err)
		}
		if seen[typ] {
			t.Errorf("%s listed twice", typ)
		}
		seen[typ] = true
	}
}

// A user holding a seat when a period starts counts in it once: unregistering and registering
// again in that period does not consume a second seat.
func TestSeatHeldIntoAPeriodCountsOnce(t *testing.T) {
	s := given(t, withWorld(reg("ann", 0), reg("bob", 1), unreg("ann", 1), reg("ann", 1))...)
	if u := s.Licenses["l1"].UsageAt(t0.AddDate(1, 0, 0)); u.Active != 2 || u.Consumed != 2 {
		t.Fatalf("usage in the second period: %+v, want 2 active, 2 consumed", u)
	}
}
