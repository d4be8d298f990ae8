//go:build !linux

package inproc

import "net"

// Outer TOS/TTL control messages are implemented on Linux only.

func setRecvOptions(*net.UDPConn, bool) error { return nil }

func parseRecvOptions([]byte) (tos, ttl uint8) { return 0, 0 }

func appendSendOptions(b []byte, _ bool, _, _ uint8) []byte { return b }
