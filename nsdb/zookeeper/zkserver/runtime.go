package zkserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrUnavailable reports that java or the ZooKeeper jars are missing.
var ErrUnavailable = errors.New("zkserver: ZooKeeper is unavailable")

const (
	standaloneMain = "org.apache.zookeeper.server.ZooKeeperServerMain"
	quorumMain     = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
	debianJar      = "/usr/share/java/zookeeper.jar"
	slf4jSimpleJar = "/usr/share/java/slf4j-simple.jar"
)

// optionalJars join the class path when present: a readable server log
// (slf4j-simple), and the Netty classes that the connection factory of
// TLS clients (Config.SecureClient) needs and zookeeper.jar's manifest
// does not list.
var optionalJars = []string{slf4jSimpleJar, "/usr/share/java/netty-codec.jar", "/usr/share/java/netty-resolver.jar"}

// jvmFlags make the JVM start fast and stay small.
var jvmFlags = []string{
	"-Xmx128m",
	"-Xss512k",
	"-XX:+UseSerialGC",
	"-XX:TieredStopAtLevel=1",
	"-Xshare:auto",
	"-XX:-UsePerfData",
	"-Djava.net.preferIPv4Stack=true",
	"-Dzookeeper.admin.enableServer=false",
	"-Dzookeeper.jmx.log4j.disable=true",
	// Leader election backs off up to 60 s between rounds by default; cap
	// it so that an ensemble whose members start at different times (or
	// restart) elects within about a second.
	"-Dzookeeper.fastleader.maxNotificationInterval=1000",
	"-Dorg.slf4j.simpleLogger.showDateTime=true",
	"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
}

// Runtime is a java binary and a class path holding the ZooKeeper server.
type Runtime struct {
	Java      string // path of the java binary
	ClassPath string // JVM class path
}

// FindRuntime locates java and the ZooKeeper jars, honouring
// HIVENET_ZK_JAVA, JAVA_HOME and HIVENET_ZK_CLASSPATH. The error wraps
// [ErrUnavailable] and says what is missing.
func FindRuntime() (Runtime, error) {
	var rt Runtime
	switch {
	case os.Getenv("HIVENET_ZK_JAVA") != "":
		rt.Java = os.Getenv("HIVENET_ZK_JAVA")
	case os.Getenv("JAVA_HOME") != "":
		rt.Java = filepath.Join(os.Getenv("JAVA_HOME"), "bin", "java")
	default:
		p, err := exec.LookPath("java")
		if err != nil {
			return rt, fmt.Errorf("%w: no java on PATH (install Debian package zookeeper, which brings a JRE, or set HIVENET_ZK_JAVA)", ErrUnavailable)
		}
		rt.Java = p
	}
	if fi, err := os.Stat(rt.Java); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return rt, fmt.Errorf("%w: java %q is not an executable file", ErrUnavailable, rt.Java)
	}
	if cp := os.Getenv("HIVENET_ZK_CLASSPATH"); cp != "" {
		rt.ClassPath = cp
		return rt, nil
	}
	if _, err := os.Stat(debianJar); err != nil {
		return rt, fmt.Errorf("%w: %s not found (apt-get install zookeeper, or set HIVENET_ZK_CLASSPATH)", ErrUnavailable, debianJar)
	}
	rt.ClassPath = debianJar
	for _, jar := range optionalJars {
		if _, err := os.Stat(jar); err == nil {
			rt.ClassPath += string(os.PathListSeparator) + jar
		}
	}
	return rt, nil
}
