package domain

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

// TestSeatTableMatchesAMap drives a SeatTable and a map[string]Seat with the same writes, with
// full hashes and with hashes narrowed to 2 bits (so most users collide), and checks every read,
// the length, iteration, Clone and Equal against the map.
func TestSeatTableMatchesAMap(t *testing.T) {
	for _, mask := range []uint32{^uint32(0), 3} {
		t.Run(fmt.Sprintf("mask %x", mask), func(t *testing.T) {
			defer func(m uint32) { seatHashMask = m }(seatHashMask)
			seatHashMask = mask
			var table SeatTable
			want := map[string]Seat{}
			for i := range 500 {
				company, name := fmt.Sprintf("Co %d", i%(5+i/100*3)), fmt.Sprintf("user-%d", i%120) // 5 companies, then more than companiesListed
				s := Seat{Active: i%3 != 0, CountedIn: int32(i)}
				table.Set(company, name, s)
				want[SeatKey(company, name)] = s
			}
			// A company ending where another's name begins must not be mistaken for it.
			table.Set("Co 1", "x\x00y", Seat{CountedIn: -1})
			want[SeatKey("Co 1", "x\x00y")] = Seat{CountedIn: -1}
			// A name too long for a slot is kept aside, and found there.
			long := strings.Repeat("n", maxSlotName+1)
			table.Set("Co 1", long, Seat{Active: true, CountedIn: 7})
			want[SeatKey("Co 1", long)] = Seat{Active: true, CountedIn: 7}
			if table.Len() != len(want) {
				t.Fatalf("Len %d, want %d", table.Len(), len(want))
			}
			for k, s := range want {
				if got, ok := table.GetKey(k); !ok || got != s {
					t.Fatalf("GetKey(%q) = %+v, %v; want %+v", k, got, ok, s)
				}
			}
			if _, ok := table.Get("Co 1", "nobody"); ok {
				t.Fatal("a user who never registered has a seat")
			}
			got := map[string]Seat{}
			for u, s := range table.All() {
				got[u.Key()] = s
			}
			if !maps.Equal(got, want) {
				t.Fatalf("All yields %d seats, want %d", len(got), len(want))
			}
			c := table.Clone()
			if !c.Equal(&table) {
				t.Fatal("a clone differs")
			}
			c.Set("Co 1", "user-1", Seat{Active: true, CountedIn: 99})
			if c.Equal(&table) {
				t.Fatal("Equal misses a changed seat")
			}
			if got, _ := table.Get("Co 1", "user-1"); got.CountedIn == 99 {
				t.Fatal("changing a clone changed the original")
			}
			var reversed SeatTable // the same seats arriving in another order
			for k := range want {
				reversed.SetKey(k, Seat{})
			}
			for k, s := range want {
				reversed.SetKey(k, s)
			}
			if !reversed.Equal(&table) || !table.Equal(&reversed) {
				t.Fatal("Equal depends on the order users arrived in")
			}
		})
	}
}

// TestSeatTableManyCompanies fills a table with more companies than a slot can number: the users
// of the companies past the limit are kept aside, and every user is still found, counted, listed
// and cloned.
func TestSeatTableManyCompanies(t *testing.T) {
	var table SeatTable
	n := maxCompanies + 10
	for i := range n {
		table.Set(fmt.Sprintf("Co %d", i), "u", Seat{Active: i%2 == 0, CountedIn: int32(i)})
	}
	if len(table.overflow) != 10 {
		t.Fatalf("%d users kept aside, want 10", len(table.overflow))
	}
	c := table.Clone()
	for _, tb := range []*SeatTable{&table, &c} {
		if tb.Len() != n {
			t.Fatalf("Len %d, want %d", tb.Len(), n)
		}
		for _, i := range []int{0, maxCompanies - 1, maxCompanies, n - 1} {
			if s, ok := tb.Get(fmt.Sprintf("Co %d", i), "u"); !ok || s.CountedIn != int32(i) || s.Active != (i%2 == 0) {
				t.Fatalf("Co %d: %+v, %v", i, s, ok)
			}
		}
		listed := 0
		for u, s := range tb.All() {
			if u.Name() != "u" || u.Company() != fmt.Sprintf("Co %d", s.CountedIn) {
				t.Fatalf("All yields %q of %q with %+v", u.Name(), u.Company(), s)
			}
			listed++
		}
		if listed != n {
			t.Fatalf("All yields %d users, want %d", listed, n)
		}
	}
	// Whether a user is their company's first decides when a read model indexes the company.
	if _, _, first := table.slot(NewSeatUser("Co 0", "v")); first {
		t.Fatal("a second user of a numbered company is reported as its first")
	}
	if _, _, first := table.slot(NewSeatUser(fmt.Sprintf("Co %d", n-1), "v")); !first {
		t.Fatal("a new user of a company kept aside is not reported (its index would miss the license)")
	}
	if _, _, first := c.slot(NewSeatUser(fmt.Sprintf("Co %d", n), "v")); !first {
		t.Fatal("a company never seen is not reported as new")
	}
	c.Set(fmt.Sprintf("Co %d", n-1), "u", Seat{CountedIn: -5})
	if s, _ := table.Get(fmt.Sprintf("Co %d", n-1), "u"); s.CountedIn == -5 {
		t.Fatal("changing a clone's user kept aside changed the original")
	}
}
