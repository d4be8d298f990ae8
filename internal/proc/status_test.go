package proc

import "testing"

func TestSelfMemory(t *testing.T) {
	rss, peak := SelfMemory("VmRSS"), SelfMemory("VmHWM")
	if rss <= 0 || peak < rss {
		t.Errorf("VmRSS %d, VmHWM %d: want 0 < VmRSS <= VmHWM", rss, peak)
	}
	if SelfMemory("NoSuchField") != 0 {
		t.Error("an unknown field is not 0")
	}
}
