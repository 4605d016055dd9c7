package domain_test

import (
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/licledger/licledger/domain"
)

// TestQuotaInvariants drives one license with random registrations and unregistrations spread
// over several quota periods, mixed with machine activations, suspensions, reinstatements,
// quota overrides and termination, and checks, after every step:
//   - a refused command is QUOTA_EXCEEDED or SEAT_NOT_FOUND, and only when the rule says so;
//   - 0 <= active <= consumed <= seats in the current period (nobody gets past the quota), unless
//     the quota was lowered by license.set-quota after the seats were taken;
//   - a terminated license refuses every command with LICENSE_TERMINATED;
//   - never more machines are activated than the license allows;
//   - active equals the number of users registered now;
//   - unregistering never lowers consumed;
//   - consumed is exactly the number of users who held a seat at some time in the current period
//     (a model kept by the test), across period rollovers;
//   - replaying the events so far, through their JSON, gives the same license state.
func TestQuotaInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seats := rapid.IntRange(0, 4).Draw(t, "seats")
		machines := rapid.IntRange(1, 3).Draw(t, "machines")
		start := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
		history := []domain.Event{
			domain.ResellerCreated{ID: "r", Name: "R"},
			domain.TenantCreated{ID: "t", ResellerID: "r", Name: "T"},
			domain.LicenseCreated{ID: "l", ResellerID: "r", TenantID: "t", KeyHash: "h", Seats: seats, Machines: machines, StartsAt: start},
		}
		s := domain.NewState()
		for _, e := range history {
			s.Evolve(e)
		}
		now := start
		registered := map[string]bool{}
		heldIn := map[string]int{} // the model: the last quota period in which a user held a seat
		lowered := false           // consumed may exceed a quota that was lowered after the fact
		users := []string{"ann", "bob", "cy", "dee", "eve", "fay"}
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for range steps {
			now = now.Add(time.Duration(rapid.IntRange(0, 200).Draw(t, "days")) * 24 * time.Hour / 10)
			user := rapid.SampledFrom(users).Draw(t, "user")
			lic := s.Licenses["l"]
			before := lic.UsageAt(now)
			if lic.Status == domain.StatusTerminated {
				// A terminated license never changes again, whatever is asked of it.
				cmd := rapid.SampledFrom([]domain.Command{
					domain.LicenseReinstate{LicenseID: "l"}, domain.LicenseSetQuota{LicenseID: "l", Seats: 9},
					domain.SeatUnregister{LicenseID: "l", EndUserCompany: "Acme", EndUserName: user},
				}).Draw(t, "afterTermination")
				if _, err := domain.Decide(s, now, cmd); domain.ErrorCode(err) != domain.CodeLicenseTerminated {
					t.Fatalf("%T on a terminated license: %v", cmd, err)
				}
				continue
			}
			if rapid.IntRange(0, 4).Draw(t, "machine") == 0 {
				fp := rapid.SampledFrom([]string{"fp-a", "fp-b", "fp-c", "fp-d"}).Draw(t, "fingerprint")
				var cmd domain.Command = domain.MachineActivate{LicenseID: "l", Fingerprint: fp}
				if rapid.Bool().Draw(t, "deactivate") {
					cmd = domain.MachineDeactivate{LicenseID: "l", Fingerprint: fp}
				}
				events, err := domain.Decide(s, now, cmd)
				if err == nil {
					for _, e := range events {
						s.Evolve(e)
						history = append(history, e)
					}
				}
				if n := len(s.Licenses["l"].Activations); n > machines {
					t.Fatalf("%d machines activated on a license that allows %d", n, machines)
				}
				continue
			}
			if rapid.IntRange(0, 9).Draw(t, "lifecycle") == 0 {
				cmd := rapid.SampledFrom([]domain.Command{
					domain.LicenseSuspend{LicenseID: "l"}, domain.LicenseReinstate{LicenseID: "l"},
					domain.LicenseSetQuota{LicenseID: "l", Seats: rapid.IntRange(0, 5).Draw(t, "newSeats")},
					domain.LicenseTerminate{LicenseID: "l"},
				}).Draw(t, "lifecycleCommand")
				events, err := domain.Decide(s, now, cmd)
				if err != nil {
					continue // refusals of lifecycle commands are covered by the table tests
				}
				for _, e := range events {
					if q, ok := e.(domain.LicenseQuotaSet); ok {
						if q.Seats < seats {
							lowered = true
						}
						seats = q.Seats
					}
					s.Evolve(e)
					history = append(history, e)
				}
				continue
			}
			var cmd domain.Command = domain.SeatRegister{LicenseID: "l", EndUserCompany: "Acme", EndUserName: user}
			unregister := rapid.Bool().Draw(t, "unregister")
			if unregister {
				cmd = domain.SeatUnregister{LicenseID: "l", EndUserCompany: "Acme", EndUserName: user}
			}
			events, err := domain.Decide(s, now, cmd)
			switch code := domain.ErrorCode(err); {
			case err == nil:
			case code == domain.CodeSeatNotFound && unregister && !registered[user]:
				continue
			case code == domain.CodeQuotaExceeded && !unregister && before.Consumed >= seats:
				continue
			case code == domain.CodeLicenseNotActive && !unregister && lic.Status == domain.StatusSuspended:
				continue
			default:
				t.Fatalf("%T for %s at %s: unexpected %v (usage %+v)", cmd, user, now, err, before)
			}
			for _, e := range events {
				s.Evolve(e)
				history = append(history, e)
			}
			period := domain.QuotaPeriod(start, now)
			for u, r := range registered {
				if r {
					heldIn[u] = period // holding a seat into this period counts in it
				}
			}
			registered[user] = !unregister
			if !unregister {
				heldIn[user] = period
			}
			after := s.Licenses["l"].UsageAt(now)
			consumed := 0
			for _, p := range heldIn {
				if p == period {
					consumed++
				}
			}
			if after.Consumed != consumed {
				t.Fatalf("after %T %s in period %d: consumed %d, but %d users held a seat in it (%v)", cmd, user, period, after.Consumed, consumed, heldIn)
			}
			n := 0
			for _, r := range registered {
				if r {
					n++
				}
			}
			if after.Active != n || after.Active > after.Consumed || (after.Consumed > seats && !lowered) || after.Active < 0 {
				t.Fatalf("after %T %s: usage %+v with %d registered, %d seats", cmd, user, after, n, seats)
			}
			if unregister && after.Consumed < before.Consumed {
				t.Fatalf("unregistering %s lowered consumed: %+v -> %+v", user, before, after)
			}
		}
		replayed := given(t, history...)
		if !reflect.DeepEqual(replayed.Licenses["l"], s.Licenses["l"]) {
			t.Fatalf("replay differs:\n%+v\n%+v", replayed.Licenses["l"], s.Licenses["l"])
		}
	})
}
