package sandbox

import (
	"net/netip"
	"slices"

	"github.com/hivenet/hivenet/simulation/packet"
	"github.com/hivenet/hivenet/topology"
)

// What an emulated VM answers: ARP, pings, and the TCP and UDP services
// of its configuration.

// SetTCPListen replaces the TCP ports the VM answers SYNs on
// (VMConfig.TCPListen): a VM whose service stops, or starts again. SYNs to
// other ports get no answer.
func (v *VM) SetTCPListen(ports ...uint16) {
	v.mu.Lock()
	v.cfg.TCPListen = slices.Clone(ports)
	v.mu.Unlock()
}

func (v *VM) listening(port uint16) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Contains(v.cfg.TCPListen, port)
}

func (v *VM) mine(dst netip.Addr, dmac topology.MAC) bool {
	if dmac != v.cfg.MAC && !dmac.IsBroadcast() {
		return false
	}
	return dst == v.Addr() || (v.cfg.Internet && dmac == v.cfg.MAC)
}

// answer replies to ARP requests, echo requests, SYNs and UDP echo.
func (v *VM) answer(p *Packet) {
	m := p.View()
	switch m.EtherType() {
	case packet.EtherTypeARP:
		switch m.ARPOp() {
		case 1:
			// Gratuitous requests (sender = target) announce, they ask
			// nothing.
			if m.ARPTPA() == v.Addr() && m.ARPSPA() != m.ARPTPA() {
				f, err := packet.AppendARPReply(nil, packet.VLAN{}, v.cfg.MAC, v.Addr(), m.ARPSHA(), m.ARPSPA())
				if err == nil {
					_ = v.send(f)
				}
			}
		case 2:
			v.mu.Lock()
			v.arp[m.ARPSPA()] = m.ARPSHA()
			v.mu.Unlock()
		}
	case packet.EtherTypeIPv4:
		if !v.mine(m.IPDst(), m.EthDst()) {
			return
		}
		switch {
		case m.IPProto() == packet.ProtoICMP && m.ICMPType() == packet.ICMPEchoRequest:
			if f, err := packet.AppendEchoReply(nil, p.Frame); err == nil {
				_ = v.send(f)
			}
		case m.IPProto() == packet.ProtoTCP && m.TCPFlags()&0x12 == 0x02 && v.listening(m.DstPort()):
			v.reply(m, 0x12)
		case m.IPProto() == packet.ProtoUDP && slices.Contains(v.cfg.UDPEcho, m.DstPort()):
			v.reply(m, 0)
		}
	}
}

// reply answers a TCP SYN (flags SYN|ACK) or a UDP datagram (empty),
// addresses and ports swapped, to the sender's MAC.
func (v *VM) reply(m *packet.View, tcpFlags uint16) {
	var r packet.Match
	r.SetEthSrc(v.cfg.MAC)
	r.SetEthDst(m.EthSrc())
	r.SetEtherType(packet.EtherTypeIPv4)
	r.SetIPSrc(m.IPDst())
	r.SetIPDst(m.IPSrc())
	r.SetIPProto(m.IPProto())
	r.SetIPTTL(64)
	r.SetSrcPort(m.DstPort())
	r.SetDstPort(m.SrcPort())
	if m.IPProto() == packet.ProtoTCP {
		r.SetTCPFlags(tcpFlags)
	}
	if f, err := packet.AppendFrame(nil, &r, nil); err == nil {
		_ = v.send(f)
	}
}
