package accounts_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"tim/internal/config"
	"tim/internal/testenv"
)

// BenchmarkParallelRegistrations sends 200 registrations at once to a
// server with the default hashing bounds and reports the process's peak RSS
// (server, client and test together) and how the registrations were
// answered. Run it alone, so that the peak is its own:
//
//	go test -run '^$' -bench ParallelRegistrations -benchtime 3x ./internal/accounts/
func BenchmarkParallelRegistrations(b *testing.B) {
	const n = 200
	env := testenv.New(b, testenv.WithConfig(func(c *config.Config) {
		// The registration limit would turn most away before hashing:
		// measure the hashing bound, not the limit.
		c.Accounts.RegistrationsPerAddress = 1 << 30
	}))
	resetPeakRSS(b)
	var ok, busy int
	b.ResetTimer()
	for round := range b.N {
		codes := parallel(n, func(i int) int {
			res, err := env.Client.UserRegisterWithResponse(ctx, register(fmt.Sprintf("r%d-%d", round, i), "123456"))
			if err != nil {
				b.Error(err)
				return 0
			}
			return res.StatusCode()
		})
		for _, c := range codes {
			switch c {
			case 200:
				ok++
			case 503:
				busy++
			default:
				b.Errorf("status %d", c)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(ok)/float64(b.N), "200/op")
	b.ReportMetric(float64(busy)/float64(b.N), "503/op")
}

// resetPeakRSS makes the kernel forget the process's peak RSS so far
// (writing 5 to clear_refs, Linux 4.0 and later).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS, it includes what ran before: %v", err)
	}
}

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("parse VmHWM %q: %v", rest, err)
			}
			return kb << 10
		}
	}
	if err := s.Err(); err != nil {
		b.Fatal(err)
	}
	b.Fatal("no VmHWM in /proc/self/status")
	return 0
}
