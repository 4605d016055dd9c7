package domain

import (
	"fmt"
	"maps"
	"testing"
)

// TestSeatTableMatchesAMap drives a SeatTable and a map[string]Seat with the same writes, with
// full hashes and with hashes narrowed to 2 bits (so most users collide), and checks every read,
// the length, iteration, Clone and Equal against the map.
func TestSeatTableMatchesAMap(t *testing.T) {
	for _, mask := range []uint64{^uint64(0), 3} {
		t.Run(fmt.Sprintf("mask %x", mask), func(t *testing.T) {
			defer func(m uint64) { seatHashMask = m }(seatHashMask)
			seatHashMask = mask
			var table SeatTable
			want := map[string]Seat{}
			for i := range 500 {
				company, name := fmt.Sprintf("Co %d", i%7), fmt.Sprintf("user-%d", i%120)
				s := Seat{Active: i%3 != 0, CountedIn: int32(i)}
				table.Set(company, name, s)
				want[SeatKey(company, name)] = s
			}
			// A company ending where another's name begins must not be mistaken for it.
			table.Set("Co 1", "x\x00y", Seat{CountedIn: -1})
			want[SeatKey("Co 1", "x\x00y")] = Seat{CountedIn: -1}
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
			if got := maps.Collect(table.All()); !maps.Equal(got, want) {
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
