package benchcpu_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scripts/bench-ratios.sh reads the benchmarks' output as bench-rounds.sh
// writes it: the ratios of the medians on both metrics, then each round's
// wall-clock ratio and how many rounds met the target.
func TestBenchRatiosScript(t *testing.T) {
	const out = `# load before: 0.50 0.40 0.30 1/100 1 on 2 cores, 3 rounds
BenchmarkFlowSetup-2   	 1000000	      3000 ns/op	      5000 cpu-ns/op	    333333 flows/s	       0 B/op	       0 allocs/op
BenchmarkSimulateL3-2    	 4000000	       280 ns/op	       281 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkGopacketDLP-2   	20000000	        56 ns/op	        56 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkFlowSetup-2   	 1000000	      2800 ns/op	      4600 cpu-ns/op	    357142 flows/s	       0 B/op	       0 allocs/op
BenchmarkSimulateL3-2    	 4000000	       300 ns/op	       300 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkGopacketDLP-2   	20000000	        50 ns/op	        50 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkFlowSetup-2   	 1000000	      3300 ns/op	      5600 cpu-ns/op	    303030 flows/s	       0 B/op	       0 allocs/op
BenchmarkSimulateL3-2    	 4000000	       270 ns/op	       270 cpu-ns/op	       0 B/op	       0 allocs/op
BenchmarkGopacketDLP-2   	20000000	        60 ns/op	        60 cpu-ns/op	       0 B/op	       0 allocs/op
# load after: 0.60 0.40 0.30 1/100 2
`
	file := filepath.Join(t.TempDir(), "ratios.txt")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command("bash", "../../scripts/bench-ratios.sh", file).CombinedOutput()
	if err != nil {
		t.Fatalf("bench-ratios.sh: %v\n%s", err, got)
	}
	// Medians: FlowSetup 3000 / 5000, SimulateL3 280 / 281, GopacketDLP 56.
	for _, want := range []string{
		"# load before: 0.50 0.40 0.30 1/100 1 on 2 cores, 3 rounds",
		"FlowSetup / SimulateL3:     ns/op 10.7 (3000 / 280)  cpu-ns/op 17.8 (5000 / 281)  target <= 10",
		"  per round: 10.7 9.3 12.2 (within the target in 1 of 3)",
		"SimulateL3 / GopacketDLP:   ns/op 5.0 (280 / 56)  cpu-ns/op 5.0 (281 / 56)  target <= 5",
		"  per round: 5.0 6.0 4.5 (within the target in 2 of 3)",
		"# load after: 0.60 0.40 0.30 1/100 2",
	} {
		if !strings.Contains(string(got), want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
