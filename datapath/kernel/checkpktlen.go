package kernel

import (
	"fmt"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
)

// appendCheckPktLen appends an OVS_ACTION_ATTR_CHECK_PKT_LEN action: the
// length (u16), then the nested action lists for greater and less-equal
// packets, as ovs-vswitchd writes them.
func appendCheckPktLen(b []byte, a *datapath.CheckPktLen, depth int) ([]byte, error) {
	if a.PktLen == 0 {
		return b, fmt.Errorf("%w: check_pkt_len with size 0", datapath.ErrInvalid)
	}
	var s, n int
	var err error
	b, s = beginNested(b, ovsh.ActionAttrCheckPktLen)
	b = appendU16(b, ovsh.CheckPktLenAttrPktLen, a.PktLen)
	b, n = beginNested(b, ovsh.CheckPktLenAttrActionsIfGreater)
	if b, err = appendActionsDepth(b, a.Greater, depth+1); err != nil {
		return b, err
	}
	b = endNested(b, n)
	b, n = beginNested(b, ovsh.CheckPktLenAttrActionsIfLessEqual)
	if b, err = appendActionsDepth(b, a.LessEqual, depth+1); err != nil {
		return b, err
	}
	b = endNested(b, n)
	return endNested(b, s), nil
}

// decodeCheckPktLen decodes the payload of a CHECK_PKT_LEN action, in any
// attribute order. unknown reports an attribute this package does not
// model; a missing length or branch is malformed, as the kernel says.
func decodeCheckPktLen(b []byte, depth int) (a datapath.CheckPktLen, unknown bool, err error) {
	var hasLen, hasGt, hasLe bool
	n := attrs{b: b}
	for n.next() {
		switch n.typ {
		case ovsh.CheckPktLenAttrPktLen:
			if !n.size(2) {
				return a, false, n.err
			}
			a.PktLen, hasLen = n.u16(), true
		case ovsh.CheckPktLenAttrActionsIfGreater:
			if a.Greater, err = decodeActionsDepth(n.data, depth+1); err != nil {
				return a, false, err
			}
			hasGt = true
		case ovsh.CheckPktLenAttrActionsIfLessEqual:
			if a.LessEqual, err = decodeActionsDepth(n.data, depth+1); err != nil {
				return a, false, err
			}
			hasLe = true
		default:
			unknown = true
		}
	}
	if n.err != nil {
		return a, false, n.err
	}
	if !hasLen || a.PktLen == 0 || !hasGt || !hasLe {
		return a, false, fmt.Errorf("%w: check_pkt_len without a non-zero length or both action lists", datapath.ErrMalformed)
	}
	return a, unknown, nil
}
