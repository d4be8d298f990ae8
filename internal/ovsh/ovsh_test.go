package ovsh

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const header = "/usr/include/linux/openvswitch.h"

// parseHeader returns the value of every enumerator and every integer
// #define in the kernel header.
func parseHeader(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(header)
	if err != nil {
		if os.Getenv("HIVENET_REQUIRE_ZK") != "" {
			t.Fatalf("kernel header not installed (scripts/provision.sh installs linux-libc-dev): %v", err)
		}
		t.Skipf("kernel header not installed (apt-get install linux-libc-dev): %v", err)
	}
	defer f.Close()
	vals := make(map[string]int)
	enumRe := regexp.MustCompile(`^\s*(OVS_[A-Z0-9_]+|__OVS_[A-Z0-9_]+)\s*(=\s*([^,/]+))?\s*,?`)
	defRe := regexp.MustCompile(`^#define\s+(OVS_[A-Z0-9_]+)\s+\(?\s*(\d+\s*<<\s*\d+|0x[0-9a-fA-F]+|\d+)\s*\)?`)
	inEnum, next := false, 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case strings.HasPrefix(line, "enum"):
			inEnum, next = true, 0
			continue
		case inEnum && strings.HasPrefix(line, "}"):
			inEnum = false
			continue
		}
		if inEnum {
			m := enumRe.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			if m[3] != "" {
				v, err := strconv.Atoi(strings.TrimSpace(m[3]))
				if err != nil {
					t.Fatalf("enumerator %s: %v", m[1], err)
				}
				next = v
			}
			vals[m[1]] = next
			next++
			continue
		}
		if m := defRe.FindStringSubmatch(line); m != nil {
			expr := strings.ReplaceAll(m[2], " ", "")
			var v int64
			if a, b, ok := strings.Cut(expr, "<<"); ok {
				x, _ := strconv.Atoi(a)
				y, _ := strconv.Atoi(b)
				v = int64(x << y)
			} else {
				v, _ = strconv.ParseInt(expr, 0, 64)
			}
			vals[m[1]] = int(v)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return vals
}

func TestConstantsMatchHeader(t *testing.T) {
	vals := parseHeader(t)
	want := map[string]int{
		"OVS_DATAPATH_VERSION":                         DatapathVersion,
		"OVS_DP_CMD_SET":                               DPCmdSet,
		"OVS_DP_ATTR_UPCALL_PID":                       DPAttrUpcallPID,
		"OVS_DP_ATTR_MEGAFLOW_STATS":                   DPAttrMegaflowStats,
		"OVS_DP_ATTR_USER_FEATURES":                    DPAttrUserFeatures,
		"OVS_DP_ATTR_PER_CPU_PIDS":                     DPAttrPerCPUPIDs,
		"OVS_DP_ATTR_IFINDEX":                          DPAttrIfindex,
		"OVS_DP_F_UNALIGNED":                           DPFUnaligned,
		"OVS_DP_F_VPORT_PIDS":                          DPFVportPIDs,
		"OVS_DP_F_DISPATCH_UPCALL_PER_CPU":             DPFDispatchUpcallPerCPU,
		"OVS_PACKET_CMD_MISS":                          PacketCmdMiss,
		"OVS_PACKET_CMD_EXECUTE":                       PacketCmdExecute,
		"OVS_PACKET_ATTR_EGRESS_TUN_KEY":               PacketAttrEgressTunKey,
		"OVS_PACKET_ATTR_PROBE":                        PacketAttrProbe,
		"OVS_PACKET_ATTR_HASH":                         PacketAttrHash,
		"OVS_VPORT_CMD_GET":                            VportCmdGet,
		"OVS_VPORT_TYPE_GENEVE":                        VportTypeGeneve,
		"OVS_VPORT_TYPE_VXLAN":                         VportTypeVXLAN,
		"OVS_VPORT_ATTR_UPCALL_PID":                    VportAttrUpcallPID,
		"OVS_VPORT_ATTR_NETNSID":                       VportAttrNetnsid,
		"OVS_TUNNEL_ATTR_DST_PORT":                     TunnelAttrDstPort,
		"OVS_VXLAN_EXT_GBP":                            VXLANExtGBP,
		"OVS_FLOW_CMD_SET":                             FlowCmdSet,
		"OVS_KEY_ATTR_ENCAP":                           KeyAttrEncap,
		"OVS_KEY_ATTR_ETHERTYPE":                       KeyAttrEthertype,
		"OVS_KEY_ATTR_TUNNEL":                          KeyAttrTunnel,
		"OVS_KEY_ATTR_TCP_FLAGS":                       KeyAttrTCPFlags,
		"OVS_KEY_ATTR_RECIRC_ID":                       KeyAttrRecircID,
		"OVS_KEY_ATTR_CT_LABELS":                       KeyAttrCTLabels,
		"OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6":              KeyAttrCTOrigTupleIPv6,
		"OVS_KEY_ATTR_NSH":                             KeyAttrNSH,
		"OVS_KEY_ATTR_PACKET_TYPE":                     KeyAttrPacketType,
		"OVS_KEY_ATTR_IPV6_EXTHDRS":                    KeyAttrIPv6Exthdrs,
		"OVS_TUNNEL_KEY_ATTR_ID":                       TunnelKeyAttrID,
		"OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS":              TunnelKeyAttrGeneveOpts,
		"OVS_TUNNEL_KEY_ATTR_TP_DST":                   TunnelKeyAttrTPDst,
		"OVS_TUNNEL_KEY_ATTR_IPV6_DST":                 TunnelKeyAttrIPv6Dst,
		"OVS_TUNNEL_KEY_ATTR_IPV4_INFO_BRIDGE":         TunnelKeyAttrIPv4InfoBridge,
		"OVS_FRAG_TYPE_LATER":                          FragTypeLater,
		"OVS_CS_F_DST_NAT":                             CSFDstNAT,
		"OVS_CS_F_TRACKED":                             CSFTracked,
		"OVS_FLOW_ATTR_MASK":                           FlowAttrMask,
		"OVS_FLOW_ATTR_UFID":                           FlowAttrUFID,
		"OVS_FLOW_ATTR_UFID_FLAGS":                     FlowAttrUFIDFlags,
		"OVS_UFID_F_OMIT_ACTIONS":                      UFIDFOmitActions,
		"OVS_SAMPLE_ATTR_ACTIONS":                      SampleAttrActions,
		"OVS_USERSPACE_ATTR_ACTIONS":                   UserspaceAttrActions,
		"OVS_CT_ATTR_NAT":                              CTAttrNAT,
		"OVS_CT_ATTR_TIMEOUT":                          CTAttrTimeout,
		"OVS_NAT_ATTR_PROTO_RANDOM":                    NATAttrProtoRandom,
		"OVS_ACTION_ATTR_SET_MASKED":                   ActionAttrSetMasked,
		"OVS_ACTION_ATTR_CT":                           ActionAttrCT,
		"OVS_ACTION_ATTR_TRUNC":                        ActionAttrTrunc,
		"OVS_ACTION_ATTR_CLONE":                        ActionAttrClone,
		"OVS_ACTION_ATTR_DEC_TTL":                      ActionAttrDecTTL,
		"OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL": CheckPktLenAttrActionsIfLessEqual,
	}
	for name, got := range want {
		v, ok := vals[name]
		if !ok {
			t.Errorf("%s not found in %s", name, header)
			continue
		}
		if v != got {
			t.Errorf("%s = %d in the header, %d here", name, v, got)
		}
	}
	// Every enumerator of the header must exist here: compare counts of the
	// large enums through their __MAX sentinels.
	for name, last := range map[string]int{
		"__OVS_KEY_ATTR_MAX":        KeyAttrIPv6Exthdrs,
		"__OVS_ACTION_ATTR_MAX":     ActionAttrDecTTL,
		"__OVS_TUNNEL_KEY_ATTR_MAX": TunnelKeyAttrIPv4InfoBridge,
		"__OVS_FLOW_ATTR_MAX":       FlowAttrPad,
		"__OVS_VPORT_ATTR_MAX":      VportAttrNetnsid,
		"__OVS_DP_ATTR_MAX":         DPAttrIfindex,
		"__OVS_PACKET_ATTR_MAX":     PacketAttrHash,
		"__OVS_CT_ATTR_MAX":         CTAttrTimeout,
		"__OVS_NAT_ATTR_MAX":        NATAttrProtoRandom,
	} {
		if v, ok := vals[name]; ok && v != last+1 {
			t.Errorf("%s = %d: the header has enumerators after our last (%d)", name, v, last)
		}
	}
}
