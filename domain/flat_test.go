package domain

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeFlat: whatever the fast path decodes, encoding/json decodes to the same event.
func FuzzDecodeFlat(f *testing.F) {
	for _, e := range []Event{
		SeatRegistered{LicenseID: "l1", ResellerID: "r", TenantID: "t", EndUserCompany: "Acme", EndUserName: "ann", Period: 2},
		SeatUnregistered{LicenseID: "l1", EndUserCompany: "Acme", EndUserName: "ann", Period: -1},
		MachineDeactivated{LicenseID: "l1", ResellerID: "r", TenantID: "t", Fingerprint: "fp"},
		MachineActivated{LicenseID: "l1", ResellerID: "r", TenantID: "t", Fingerprint: "fp", Name: "ci", At: time.Date(2026, 2, 3, 4, 5, 6, 7000, time.UTC)},
		MachineActivated{LicenseID: "l1", Fingerprint: "fp", At: time.Date(2026, 2, 3, 4, 5, 6, 0, time.FixedZone("", 3600))},
	} {
		b, _ := json.Marshal(e)
		f.Add(e.EventType(), b)
	}
	f.Add(TypeMachineActivated, []byte(`{"licenseId":"a","at":"2026-02-03T04:05:06.100Z"}`))
	f.Add(TypeSeatRegistered, []byte(`{"licenseId":"a","period":01}`))
	f.Add(TypeSeatRegistered, []byte(`{"LicenseID":"a"}`))
	f.Add(TypeSeatRegistered, []byte(`{"licenseId":"a\u0041"}`))
	seen := map[string]string{} // an interner, as a replay passes one
	intern := func(b []byte) string {
		if s, ok := seen[string(b)]; ok {
			return s
		}
		seen[string(b)] = string(b)
		return string(b)
	}
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		if v, ok := ViewSeatEvent(data); ok { // whatever the view takes, the fast path reads alike
			e, ok := decodeFlat(TypeSeatRegistered, data, nil)
			want := SeatRegistered{LicenseID: string(v.LicenseID), ResellerID: string(v.ResellerID), TenantID: string(v.TenantID),
				EndUserCompany: string(v.EndUserCompany), EndUserName: string(v.EndUserName), Period: v.Period}
			if !ok || e != want {
				t.Fatalf("%s: the view reads %+v, decodeFlat %+v (%v)", data, want, e, ok)
			}
			// Owners holds the three ids, which hold no quote, so it tells them apart.
			if owners := string(v.LicenseID) + `","resellerId":"` + string(v.ResellerID) + `","tenantId":"` + string(v.TenantID); string(v.Owners) != owners {
				t.Fatalf("%s: Owners %q, want %q", data, v.Owners, owners)
			}
		}
		fast, ok := decodeFlat(typ, data, intern)
		if !ok {
			return
		}
		slow := reflect.New(reflect.TypeOf(fast))
		if err := json.Unmarshal(data, slow.Interface()); err != nil {
			t.Fatalf("fast path took %s that encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(fast, slow.Elem().Interface()) {
			t.Fatalf("%s: fast %+v, slow %+v", data, fast, slow.Elem().Interface())
		}
	})
}

// The fast path must take what the ledger itself writes, or rebuilding gets slow without a test
// noticing.
func TestDecodeFlatTakesOwnEncoding(t *testing.T) {
	for _, e := range []Event{
		SeatRegistered{LicenseID: "l1", ResellerID: "r", TenantID: "t", EndUserCompany: "Acme Inc.", EndUserName: "ann", Period: 3},
		SeatUnregistered{LicenseID: "l1", ResellerID: "r", TenantID: "t", EndUserCompany: "Acme", EndUserName: "ann"},
		MachineDeactivated{LicenseID: "l1", ResellerID: "r", TenantID: "t", Fingerprint: "fp"},
		MachineActivated{LicenseID: "l1", ResellerID: "r", TenantID: "t", Fingerprint: "fp", Name: "build agent", At: time.Date(2026, 2, 3, 4, 5, 6, 780000, time.UTC)},
		MachineActivated{LicenseID: "l1", ResellerID: "r", TenantID: "t", Fingerprint: "fp", At: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)},
	} {
		b, _ := json.Marshal(e)
		got, ok := decodeFlat(e.EventType(), b, nil)
		if !ok || !reflect.DeepEqual(got, e) {
			t.Errorf("%s: got %+v, %v", b, got, ok)
		}
		if e.EventType() == TypeSeatRegistered || e.EventType() == TypeSeatUnregistered {
			if v, ok := ViewSeatEvent(b); !ok || string(v.Owners) != `l1","resellerId":"r","tenantId":"t` {
				t.Errorf("ViewSeatEvent refuses %s, or its Owners %q are wrong", b, v.Owners)
			}
		}
	}
}
