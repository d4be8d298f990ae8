package zkserver

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Class-data sharing: the JVM can map the classes a ZooKeeper server loads
// from an archive instead of parsing and verifying them at every start,
// which cuts the CPU time of a server's start by about a third. The first
// server of a machine that stops gracefully writes the archive
// (-XX:ArchiveClassesAtExit); later servers map it (-XX:SharedArchiveFile).
// Archives live in $XDG_CACHE_HOME/hivenet-zk (~/.cache/...), named by a
// hash of the java binary, the JVM library and the class path, so that an
// upgrade of either makes a new one. HIVENET_ZK_CDS=0 turns this off.

// cdsCreating is set while a server of this process writes an archive.
var cdsCreating atomic.Bool

// cdsPlan says how one JVM run uses the archive.
type cdsPlan struct {
	flag  string // JVM flag to add, or ""
	tmp   string // archive being written by this run, or ""
	final string // where tmp goes when the run exits cleanly
}

func planCDS(rt Runtime) cdsPlan {
	if v := os.Getenv("HIVENET_ZK_CDS"); v == "0" || v == "false" {
		return cdsPlan{}
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return cdsPlan{}
	}
	final := filepath.Join(base, "hivenet-zk", "zk-"+cdsKey(rt)+".jsa")
	if fi, err := os.Stat(final); err == nil && fi.Size() > 0 {
		return cdsPlan{flag: "-XX:SharedArchiveFile=" + final}
	}
	if !cdsCreating.CompareAndSwap(false, true) {
		return cdsPlan{}
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		cdsCreating.Store(false)
		return cdsPlan{}
	}
	var tok [4]byte
	rand.Read(tok[:])
	tmp := fmt.Sprintf("%s.tmp-%d-%s", final, os.Getpid(), hex.EncodeToString(tok[:]))
	return cdsPlan{flag: "-XX:ArchiveClassesAtExit=" + tmp, tmp: tmp, final: final}
}

// finish publishes the archive written by a run that exited cleanly
// (status 0, or 143 after SIGTERM) and discards anything else.
func (p cdsPlan) finish(waitErr error) {
	if p.tmp == "" {
		return
	}
	defer cdsCreating.Store(false)
	clean := waitErr == nil
	if ee, ok := waitErr.(*exec.ExitError); ok && ee.ExitCode() == 128+15 {
		clean = true
	}
	if fi, err := os.Stat(p.tmp); clean && err == nil && fi.Size() > 0 {
		if os.Rename(p.tmp, p.final) == nil {
			return
		}
	}
	os.Remove(p.tmp)
}

// cdsKey identifies the JVM and class path an archive is valid for.
func cdsKey(rt Runtime) string {
	h := sha256.New()
	stamp := func(path string) {
		fi, err := os.Stat(path)
		if err != nil {
			fmt.Fprintf(h, "%s:missing\n", path)
			return
		}
		fmt.Fprintf(h, "%s:%d:%d\n", path, fi.Size(), fi.ModTime().UnixNano())
	}
	java, err := filepath.EvalSymlinks(rt.Java)
	if err != nil {
		java = rt.Java
	}
	stamp(java)
	stamp(filepath.Join(filepath.Dir(java), "..", "lib", "server", "libjvm.so"))
	io.WriteString(h, rt.ClassPath+"\n")
	for _, e := range strings.Split(rt.ClassPath, string(os.PathListSeparator)) {
		stamp(e)
	}
	io.WriteString(h, strings.Join(jvmFlags, " "))
	return hex.EncodeToString(h.Sum(nil))[:16]
}
