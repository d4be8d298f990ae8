package bgp

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"
)

// The child protocol. A speaker can run in a child process (StartChild),
// typically in the uplink port's network namespace, since a Go process
// cannot put the sockets of an embedded GoBGP into another namespace. The
// parent writes one ChildConfig as a JSON line on the child's standard
// input and closes it to stop the child; the child writes Messages, one
// JSON line each, on its standard output.

// MaxMessage bounds one line of the child protocol.
const MaxMessage = 4 << 20

// ChildConfig is the part of a Config a child process needs.
type ChildConfig struct {
	ASN        uint32         `json:"asn"`
	RouterID   netip.Addr     `json:"router_id"`
	ListenAddr netip.Addr     `json:"listen_addr,omitzero"`
	ListenPort int            `json:"listen_port,omitempty"`
	Peers      []ChildPeer    `json:"peers"`
	Networks   []netip.Prefix `json:"networks,omitempty"`
	NextHop    netip.Addr     `json:"next_hop,omitzero"`
	// StatusInterval is how often the child reports status (default 1 s).
	StatusInterval time.Duration `json:"status_interval,omitempty"`
}

// ChildPeer is a Peer on the wire.
type ChildPeer struct {
	Addr         netip.Addr    `json:"addr"`
	ASN          uint32        `json:"asn"`
	Port         uint16        `json:"port,omitempty"`
	KeepAlive    time.Duration `json:"keepalive,omitempty"`
	HoldTime     time.Duration `json:"hold,omitempty"`
	ConnectRetry time.Duration `json:"connect_retry,omitempty"`
	Password     string        `json:"password,omitempty"`
}

// Message is one line from the child: learned-route changes, a status
// report, or a fatal error.
type Message struct {
	Updates []Update     `json:"updates,omitempty"`
	Status  []PeerStatus `json:"status,omitempty"`
	Error   string       `json:"error,omitempty"`
}

func childConfig(c Config) ChildConfig {
	cc := ChildConfig{ASN: c.ASN, RouterID: c.RouterID, ListenAddr: c.ListenAddr, ListenPort: c.ListenPort,
		Networks: c.Networks, NextHop: c.NextHop}
	for _, p := range c.Peers {
		cc.Peers = append(cc.Peers, ChildPeer(p))
	}
	return cc
}

func (cc ChildConfig) config() Config {
	c := Config{ASN: cc.ASN, RouterID: cc.RouterID, ListenAddr: cc.ListenAddr, ListenPort: cc.ListenPort,
		Networks: cc.Networks, NextHop: cc.NextHop}
	for _, p := range cc.Peers {
		c.Peers = append(c.Peers, Peer(p))
	}
	return c
}

// DecodeMessage decodes one line of the child protocol. Bad input returns
// an error wrapping ErrProtocol.
func DecodeMessage(line []byte) (Message, error) {
	var m Message
	if len(line) > MaxMessage {
		return Message{}, fmt.Errorf("%w: message of %d bytes", ErrProtocol, len(line))
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	for _, u := range m.Updates {
		if !u.Peer.Is4() || !u.Prefix.IsValid() || !u.Prefix.Addr().Is4() {
			return Message{}, fmt.Errorf("%w: bad update %+v", ErrProtocol, u)
		}
	}
	return m, nil
}

// DecodeChildConfig decodes the child's configuration line and validates
// it as New does.
func DecodeChildConfig(line []byte) (Config, error) {
	var cc ChildConfig
	if len(line) > MaxMessage {
		return Config{}, fmt.Errorf("%w: config of %d bytes", ErrProtocol, len(line))
	}
	if err := json.Unmarshal(line, &cc); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	c := cc.config()
	if _, err := New(c); err != nil {
		return Config{}, err
	}
	return c, nil
}
