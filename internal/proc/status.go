package proc

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// SelfMemory returns a memory field of this process's /proc/self/status
// ("VmRSS", the resident set; "VmHWM", its peak) in bytes, or 0 where the
// kernel does not say.
func SelfMemory(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
