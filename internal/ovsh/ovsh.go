// Package ovsh holds the Linux openvswitch kernel module's generic netlink
// ABI, transcribed by hand from include/uapi/linux/openvswitch.h.
//
// Names follow the C names with the OVS_ prefix dropped and Go casing:
// OVS_KEY_ATTR_IPV4 is KeyAttrIPv4, OVS_DP_CMD_NEW is DPCmdNew. Values are
// checked against the installed header by ovsh_test.go when the header is
// present. Nothing here is part of hivenet's public API.
package ovsh

// Generic netlink family names and versions.
const (
	DatapathFamily  = "ovs_datapath"
	DatapathMCGroup = "ovs_datapath"
	DatapathVersion = 2
	VportFamily     = "ovs_vport"
	VportMCGroup    = "ovs_vport"
	VportVersion    = 1
	FlowFamily      = "ovs_flow"
	FlowMCGroup     = "ovs_flow"
	FlowVersion     = 1
	PacketFamily    = "ovs_packet"
	PacketVersion   = 1
	MeterFamily     = "ovs_meter"
	CTLimitFamily   = "ovs_ct_limit"
)

// HeaderLen is sizeof(struct ovs_header): a single int dp_ifindex that
// follows the generic netlink header in every request and reply.
const HeaderLen = 4

// ovs_datapath_cmd.
const (
	DPCmdUnspec = iota
	DPCmdNew
	DPCmdDel
	DPCmdGet
	DPCmdSet
)

// ovs_datapath_attr.
const (
	DPAttrUnspec = iota
	DPAttrName
	DPAttrUpcallPID
	DPAttrStats
	DPAttrMegaflowStats
	DPAttrUserFeatures
	DPAttrPad
	DPAttrMasksCacheSize
	DPAttrPerCPUPIDs
	DPAttrIfindex
)

// Sizes of the fixed structures carried in attributes.
const (
	SizeofDPStats         = 32 // struct ovs_dp_stats
	SizeofDPMegaflowStats = 32 // struct ovs_dp_megaflow_stats
	SizeofVportStats      = 64 // struct ovs_vport_stats
	SizeofFlowStats       = 16 // struct ovs_flow_stats
	SizeofKeyEthernet     = 12 // struct ovs_key_ethernet
	SizeofKeyMPLS         = 4  // struct ovs_key_mpls
	SizeofKeyIPv4         = 12 // struct ovs_key_ipv4
	SizeofKeyIPv6         = 40 // struct ovs_key_ipv6
	SizeofKeyIPv6Exthdrs  = 2  // struct ovs_key_ipv6_exthdrs
	SizeofKeyTCP          = 4  // struct ovs_key_tcp
	SizeofKeyUDP          = 4  // struct ovs_key_udp
	SizeofKeySCTP         = 4  // struct ovs_key_sctp
	SizeofKeyICMP         = 2  // struct ovs_key_icmp
	SizeofKeyICMPv6       = 2  // struct ovs_key_icmpv6
	SizeofKeyARP          = 24 // struct ovs_key_arp
	SizeofKeyND           = 28 // struct ovs_key_nd
	SizeofKeyCTLabels     = 16 // struct ovs_key_ct_labels
	SizeofKeyCTTupleIPv4  = 16 // struct ovs_key_ct_tuple_ipv4 (13 bytes + padding)
	SizeofKeyCTTupleIPv6  = 40 // struct ovs_key_ct_tuple_ipv6 (37 bytes + padding)
	SizeofActionTrunc     = 4  // struct ovs_action_trunc
	SizeofActionPushMPLS  = 8  // struct ovs_action_push_mpls (6 bytes + padding)
	SizeofActionPushVLAN  = 4  // struct ovs_action_push_vlan
	SizeofActionHash      = 8  // struct ovs_action_hash
	SizeofActionPushEth   = 12 // struct ovs_action_push_eth
)

// User features (OVS_DP_F_*).
const (
	DPFUnaligned                   = 1 << 0
	DPFVportPIDs                   = 1 << 1
	DPFTCRecircSharing             = 1 << 2
	DPFDispatchUpcallPerCPU        = 1 << 3
	OVSPLocal               uint32 = 0 // OVSP_LOCAL: the datapath's local port.
)

// ovs_packet_cmd.
const (
	PacketCmdUnspec = iota
	PacketCmdMiss
	PacketCmdAction
	PacketCmdExecute
)

// ovs_packet_attr.
const (
	PacketAttrUnspec = iota
	PacketAttrPacket
	PacketAttrKey
	PacketAttrActions
	PacketAttrUserdata
	PacketAttrEgressTunKey
	PacketAttrUnused1
	PacketAttrUnused2
	PacketAttrProbe
	PacketAttrMRU
	PacketAttrLen
	PacketAttrHash
)

// ovs_vport_cmd.
const (
	VportCmdUnspec = iota
	VportCmdNew
	VportCmdDel
	VportCmdGet
	VportCmdSet
)

// ovs_vport_type.
const (
	VportTypeUnspec = iota
	VportTypeNetdev
	VportTypeInternal
	VportTypeGRE
	VportTypeVXLAN
	VportTypeGeneve
)

// ovs_vport_attr.
const (
	VportAttrUnspec = iota
	VportAttrPortNo
	VportAttrType
	VportAttrName
	VportAttrOptions
	VportAttrUpcallPID
	VportAttrStats
	VportAttrPad
	VportAttrIfindex
	VportAttrNetnsid
)

// OVS_VXLAN_EXT_*.
const (
	VXLANExtUnspec = iota
	VXLANExtGBP
)

// OVS_TUNNEL_ATTR_* (vport options of tunnel vports).
const (
	TunnelAttrUnspec = iota
	TunnelAttrDstPort
	TunnelAttrExtension
)

// ovs_flow_cmd.
const (
	FlowCmdUnspec = iota
	FlowCmdNew
	FlowCmdDel
	FlowCmdGet
	FlowCmdSet
)

// ovs_key_attr.
const (
	KeyAttrUnspec = iota
	KeyAttrEncap
	KeyAttrPriority
	KeyAttrInPort
	KeyAttrEthernet
	KeyAttrVLAN
	KeyAttrEthertype
	KeyAttrIPv4
	KeyAttrIPv6
	KeyAttrTCP
	KeyAttrUDP
	KeyAttrICMP
	KeyAttrICMPv6
	KeyAttrARP
	KeyAttrND
	KeyAttrSKBMark
	KeyAttrTunnel
	KeyAttrSCTP
	KeyAttrTCPFlags
	KeyAttrDPHash
	KeyAttrRecircID
	KeyAttrMPLS
	KeyAttrCTState
	KeyAttrCTZone
	KeyAttrCTMark
	KeyAttrCTLabels
	KeyAttrCTOrigTupleIPv4
	KeyAttrCTOrigTupleIPv6
	KeyAttrNSH
	KeyAttrPacketType
	KeyAttrNDExtensions
	KeyAttrTunnelInfo
	KeyAttrIPv6Exthdrs
)

// ovs_tunnel_key_attr. Unlike the other enums it starts at 0 (ID).
const (
	TunnelKeyAttrID = iota
	TunnelKeyAttrIPv4Src
	TunnelKeyAttrIPv4Dst
	TunnelKeyAttrTOS
	TunnelKeyAttrTTL
	TunnelKeyAttrDontFragment
	TunnelKeyAttrCsum
	TunnelKeyAttrOAM
	TunnelKeyAttrGeneveOpts
	TunnelKeyAttrTPSrc
	TunnelKeyAttrTPDst
	TunnelKeyAttrVXLANOpts
	TunnelKeyAttrIPv6Src
	TunnelKeyAttrIPv6Dst
	TunnelKeyAttrPad
	TunnelKeyAttrErspanOpts
	TunnelKeyAttrIPv4InfoBridge
)

// ovs_frag_type.
const (
	FragTypeNone = iota
	FragTypeFirst
	FragTypeLater
)

// OVS_CS_F_* (OVS_KEY_ATTR_CT_STATE bits).
const (
	CSFNew         = 0x01
	CSFEstablished = 0x02
	CSFRelated     = 0x04
	CSFReplyDir    = 0x08
	CSFInvalid     = 0x10
	CSFTracked     = 0x20
	CSFSrcNAT      = 0x40
	CSFDstNAT      = 0x80
)

// ovs_nsh_key_attr.
const (
	NSHKeyAttrUnspec = iota
	NSHKeyAttrBase
	NSHKeyAttrMD1
	NSHKeyAttrMD2
)

// ovs_flow_attr.
const (
	FlowAttrUnspec = iota
	FlowAttrKey
	FlowAttrActions
	FlowAttrStats
	FlowAttrTCPFlags
	FlowAttrUsed
	FlowAttrClear
	FlowAttrMask
	FlowAttrProbe
	FlowAttrUFID
	FlowAttrUFIDFlags
	FlowAttrPad
)

// OVS_UFID_F_*.
const (
	UFIDFOmitKey     = 1 << 0
	UFIDFOmitMask    = 1 << 1
	UFIDFOmitActions = 1 << 2
)

// MaxUFIDLen is the kernel's MAX_UFID_LENGTH.
const MaxUFIDLen = 16

// ovs_sample_attr.
const (
	SampleAttrUnspec = iota
	SampleAttrProbability
	SampleAttrActions
)

// ovs_userspace_attr.
const (
	UserspaceAttrUnspec = iota
	UserspaceAttrPID
	UserspaceAttrUserdata
	UserspaceAttrEgressTunPort
	UserspaceAttrActions
)

// ovs_hash_alg.
const HashAlgL4 = 0

// ovs_ct_attr.
const (
	CTAttrUnspec = iota
	CTAttrCommit
	CTAttrZone
	CTAttrMark
	CTAttrLabels
	CTAttrHelper
	CTAttrNAT
	CTAttrForceCommit
	CTAttrEventmask
	CTAttrTimeout
)

// ovs_nat_attr.
const (
	NATAttrUnspec = iota
	NATAttrSrc
	NATAttrDst
	NATAttrIPMin
	NATAttrIPMax
	NATAttrProtoMin
	NATAttrProtoMax
	NATAttrPersistent
	NATAttrProtoHash
	NATAttrProtoRandom
)

// ovs_check_pkt_len_attr.
const (
	CheckPktLenAttrUnspec = iota
	CheckPktLenAttrPktLen
	CheckPktLenAttrActionsIfGreater
	CheckPktLenAttrActionsIfLessEqual
)

// ovs_action_attr.
const (
	ActionAttrUnspec = iota
	ActionAttrOutput
	ActionAttrUserspace
	ActionAttrSet
	ActionAttrPushVLAN
	ActionAttrPopVLAN
	ActionAttrSample
	ActionAttrRecirc
	ActionAttrHash
	ActionAttrPushMPLS
	ActionAttrPopMPLS
	ActionAttrSetMasked
	ActionAttrCT
	ActionAttrTrunc
	ActionAttrPushEth
	ActionAttrPopEth
	ActionAttrCTClear
	ActionAttrPushNSH
	ActionAttrPopNSH
	ActionAttrMeter
	ActionAttrClone
	ActionAttrCheckPktLen
	ActionAttrAddMPLS
	ActionAttrDecTTL
)

// ovs_dec_ttl_attr.
const (
	DecTTLAttrUnspec = iota
	DecTTLAttrAction
)

// ovs_meter_cmd.
const (
	MeterCmdUnspec = iota
	MeterCmdFeatures
	MeterCmdSet
	MeterCmdDel
	MeterCmdGet
)

// Ethernet types and VLAN bits used when building keys.
const (
	EthPIPv4    = 0x0800
	EthPARP     = 0x0806
	EthPIPv6    = 0x86dd
	EthP8021Q   = 0x8100
	EthP8021AD  = 0x88a8
	VLANCFIMask = 0x1000 // VLAN_CFI_MASK: "tag present" in OVS_KEY_ATTR_VLAN.
)
