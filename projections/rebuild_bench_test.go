package projections_test

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/licledger/licledger/domain"
	"github.com/licledger/licledger/eventstore"
	"github.com/licledger/licledger/internal/loggen"
	"github.com/licledger/licledger/projections"
)

// BenchmarkRebuild rebuilds the read models from a generated log (LICLEDGER_BENCH_EVENTS events,
// default 5 million, generated once into the temporary directory and reused) and reports events/s
// and the heap and resident memory the read models hold per registered seat.
func BenchmarkRebuild(b *testing.B) {
	store := cachedLog(b, benchEvents(b))
	defer store.Close()
	var heapPerSeat, rssPerSeat float64
	var cpu time.Duration // user and system time of the catch-ups
	for b.Loop() {
		b.StopTimer() // collecting the last round's read model is not this round's work
		debug.FreeOSMemory()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rssBefore := residentBytes(b)
		cpuBefore := cpuTime()
		b.StartTimer()
		licenses := projections.NewLicenses()
		r := projections.NewRunner(store, licenses, projections.NewCredentials())
		last, err := r.CatchUp()
		if err != nil {
			b.Fatal(err)
		}
		if last != store.Durable() {
			b.Fatalf("rebuilt to %d of %d", last, store.Durable())
		}
		b.StopTimer()
		cpu += cpuTime() - cpuBefore
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		seats := licenses.Seats()
		heapPerSeat = float64(after.HeapAlloc-before.HeapAlloc) / float64(seats)
		debug.FreeOSMemory() // what stays resident once the rebuild's garbage is returned
		rssPerSeat = float64(residentBytes(b)-rssBefore) / float64(seats)
		runtime.KeepAlive(licenses)
		b.ReportMetric(float64(seats), "seats")
		b.StartTimer()
	}
	b.ReportMetric(float64(store.Durable())*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	// Processor time per event: what the two cores spend, which a busy neighbour on a shared
	// machine (who slows events/s down) changes far less.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(store.Durable())/float64(b.N), "cpu-ns/event")
	b.ReportMetric(heapPerSeat, "heap-B/seat")
	b.ReportMetric(rssPerSeat, "rss-B/seat")
	debug.FreeOSMemory()
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// residentBytes is the process's resident set (VmRSS), or 0 where /proc is missing.
func residentBytes(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("VmRSS %q: %v", kb, err)
			}
			return n << 10
		}
	}
	return 0
}

// benchEvents is LICLEDGER_BENCH_EVENTS, default 5 million.
func benchEvents(b *testing.B) int {
	s := os.Getenv("LICLEDGER_BENCH_EVENTS")
	if s == "" {
		return 5_000_000
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("LICLEDGER_BENCH_EVENTS: %v", err)
	}
	return n
}

// benchSpec is the generated log the benchmarks read: 100 resellers, events events.
func benchSpec(events int) loggen.Spec { return loggen.Spec{Events: events, Resellers: 100, Seed: 1} }

// cachedLog opens the generated log of that many events, read-only, generating it the first time.
func cachedLog(b *testing.B, events int) *eventstore.Store {
	store, err := loggen.Cached(os.TempDir(), benchSpec(events))
	if err != nil {
		b.Fatal(err)
	}
	return store
}

// writableLog opens a writable copy of the generated log of that many events.
func writableLog(b testing.TB, events int) *eventstore.Store {
	src, err := loggen.CachedDir(os.TempDir(), benchSpec(events))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := loggen.Clone(src, dir); err != nil {
		b.Fatal(err)
	}
	store, err := eventstore.Open(dir, eventstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return store
}

// storedLog is writableLog with the read models rebuilt and stored in it, as a running ledger
// keeps them (with the snapshots of them it saves); it returns the caught-up licenses model too.
func storedLog(b *testing.B, events int) (*eventstore.Store, *projections.Licenses) {
	store := writableLog(b, events)
	licenses := projections.NewLicenses()
	r := projections.NewRunner(store, licenses, projections.NewCredentials())
	if err := r.Restore(); err != nil {
		b.Fatal(err)
	}
	if _, err := r.CatchUp(); err != nil {
		b.Fatal(err)
	}
	return store, licenses
}

// BenchmarkRebuildStored is BenchmarkRebuild as `ledgerd rebuild` does it: the read models are
// also written to the store (records and checkpoint, flushed every 1,000,000 events) on a writable
// copy of the generated log.
func BenchmarkRebuildStored(b *testing.B) {
	events := benchEvents(b)
	for b.Loop() {
		b.StopTimer()
		store := writableLog(b, events)
		b.StartTimer()
		r := projections.NewRunner(store, projections.NewLicenses(), projections.NewCredentials())
		if err := r.Restore(); err != nil {
			b.Fatal(err)
		}
		if _, err := r.CatchUp(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if c, _, _ := projections.ReadCheckpoint(store, "licenses"); c.Sequence != store.Durable() {
			b.Fatalf("stored checkpoint %d, log %d", c.Sequence, store.Durable())
		}
		store.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRestore is a restart: the read models stored by a rebuild of the generated log are
// loaded from the store (the caught-up checkpoint leaves nothing to apply), and the write model is
// copied from them, as ledgerd does at start.
func BenchmarkRestore(b *testing.B) {
	store, _ := storedLog(b, benchEvents(b))
	defer store.Close()
	var seats int
	for b.Loop() {
		licenses := projections.NewLicenses()
		r := projections.NewRunner(store, licenses, projections.NewCredentials())
		if err := r.Restore(); err != nil {
			b.Fatal(err)
		}
		if r.Position() != store.Durable() {
			b.Fatalf("restored at %d of %d", r.Position(), store.Durable())
		}
		_ = licenses.CopyState()
		seats = licenses.Seats()
	}
	b.ReportMetric(float64(seats)*float64(b.N)/b.Elapsed().Seconds(), "seats/s")
}

// BenchmarkResellerAsOf answers a reseller's quota as of the middle of the generated log: its
// stream and each of its licenses' (from their last snapshot, if any), never the whole log.
func BenchmarkResellerAsOf(b *testing.B) {
	store, now := storedLog(b, benchEvents(b)) // with the license snapshots taken as it went
	defer store.Close()
	reseller := now.ResellerIDs()[0]
	licenses := now.ResellerLicenses(reseller)
	mid := store.Durable() / 2
	for b.Loop() {
		then, err := projections.LicensesAt(store, mid, []string{reseller}, licenses)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := then.ResellerQuota(reseller, loggen.Start); !ok {
			b.Fatalf("reseller %s not found as of %d", reseller, mid)
		}
	}
	b.ReportMetric(float64(len(licenses)), "licenses")
}

// BenchmarkSystemAsOf answers a system-wide summary in the past, as `usage.summary` with asOf
// does for a system admin: every license is needed, so the log is replayed up to that point
// (LicensesReplayed). "from-start" replays from the log's start (no snapshots) to its middle;
// the others start from the newest snapshot of the stored read models at or before the point
// (saved every 1,000,000 events by a stored rebuild): the middle, and 1,000 events before the end.
func BenchmarkSystemAsOf(b *testing.B) {
	events := benchEvents(b)
	cached := cachedLog(b, events)
	defer cached.Close()
	b.Run("from-start-mid", func(b *testing.B) { systemAsOf(b, cached, cached.Durable()/2) })
	stored, _ := storedLog(b, events)
	defer stored.Close()
	b.Run("snapshot-mid", func(b *testing.B) { systemAsOf(b, stored, stored.Durable()/2) })
	b.Run("snapshot-recent", func(b *testing.B) { systemAsOf(b, stored, stored.Durable()-1000) })
}

func systemAsOf(b *testing.B, store *eventstore.Store, seq uint64) {
	var licenses int
	for b.Loop() {
		then, err := projections.LicensesReplayed(b.Context(), store, seq)
		if err != nil {
			b.Fatal(err)
		}
		s := then.Summarize(loggen.Start, func(*domain.License) bool { return true })
		if licenses = s.Total.Licenses; licenses == 0 {
			b.Fatalf("no license as of %d", seq)
		}
	}
	b.ReportMetric(float64(licenses), "licenses")
}

// BenchmarkTrend computes a year's chart (53 weekly points, as dashboard.history's "year" range)
// ending at the generated log's last event. "system" totals every license, replaying the log
// (TrendReplayed) from the newest stored snapshot at or before the first point; "reseller"
// totals one reseller's licenses from their streams and snapshots (TrendOfStreams).
func BenchmarkTrend(b *testing.B) {
	store, now := storedLog(b, benchEvents(b))
	defer store.Close()
	end, err := store.TimeOf(store.Durable())
	if err != nil {
		b.Fatal(err)
	}
	points := make([]projections.TrendPoint, 53)
	for i := range points {
		points[i].At = end.Add(-time.Duration(52-i) * 7 * 24 * time.Hour)
		if points[i].Sequence, err = store.SequenceAt(points[i].At); err != nil {
			b.Fatal(err)
		}
	}
	all := func(*domain.License) bool { return true }
	b.Run("system", func(b *testing.B) {
		for b.Loop() {
			if err := projections.TrendReplayed(b.Context(), store, points, all); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(points[52].Totals.Licenses), "licenses")
		b.ReportMetric(float64(points[52].Sequence-points[0].Sequence), "events")
	})
	reseller := now.ResellerIDs()[0]
	licenses := now.ResellerLicenses(reseller)
	b.Run("reseller", func(b *testing.B) {
		for b.Loop() {
			if err := projections.TrendOfStreams(store, points, []string{reseller}, licenses, all); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(points[52].Totals.Licenses), "licenses")
	})
}
