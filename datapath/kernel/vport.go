package kernel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hivenet/hivenet/datapath"
	"github.com/hivenet/hivenet/internal/ovsh"
	"github.com/mdlayher/netlink"
)

// Default UDP ports of tunnel vports.
const (
	DefaultVXLANPort  = 4789
	DefaultGenevePort = 6081
)

func (d *Datapath) vportExchange(ctx context.Context, op string, cmd uint8, flags netlink.HeaderFlags, attrs []byte) ([]datapath.Port, error) {
	var out []datapath.Port
	err := d.c.exchange(ctx, op, d.c.vportFamily, cmd, ovsh.VportVersion, flags, d.ifindex, attrs, func(r reply) error {
		p, err := parseVport(r.attrs)
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

func encodeVportSpec(spec datapath.PortSpec) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(ovsh.VportAttrName, spec.Name)
	ae.Uint32(ovsh.VportAttrType, uint32(spec.Type))
	if spec.Number != 0 {
		ae.Uint32(ovsh.VportAttrPortNo, uint32(spec.Number))
	}
	ae.Bytes(ovsh.VportAttrUpcallPID, encodePIDs(spec.UpcallPIDs))
	dst := spec.DstPort
	switch spec.Type {
	case datapath.PortVXLAN:
		if dst == 0 {
			dst = DefaultVXLANPort
		}
	case datapath.PortGeneve:
		if dst == 0 {
			dst = DefaultGenevePort
		}
	case datapath.PortNetdev, datapath.PortInternal, datapath.PortGRE:
		if dst != 0 {
			return nil, fmt.Errorf("%w: DstPort on a %s port", datapath.ErrInvalid, spec.Type)
		}
	default:
		return nil, fmt.Errorf("%w: port type %d", datapath.ErrInvalid, spec.Type)
	}
	if dst != 0 {
		ae.Nested(ovsh.VportAttrOptions, func(nae *netlink.AttributeEncoder) error {
			nae.Uint16(ovsh.TunnelAttrDstPort, dst)
			return nil
		})
	}
	return ae.Encode()
}

func encodePIDs(pids []uint32) []byte {
	if len(pids) == 0 {
		pids = []uint32{0}
	}
	b := make([]byte, 0, 4*len(pids))
	for _, p := range pids {
		b = ne.AppendUint32(b, p)
	}
	return b
}

func parseVport(b []byte) (datapath.Port, error) {
	var p datapath.Port
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return p, fmt.Errorf("%w: %w", datapath.ErrMalformed, err)
	}
	for ad.Next() {
		switch ad.Type() {
		case ovsh.VportAttrPortNo:
			p.Number = datapath.PortNumber(ad.Uint32())
		case ovsh.VportAttrType:
			p.Type = datapath.PortType(ad.Uint32())
		case ovsh.VportAttrName:
			p.Name = ad.String()
		case ovsh.VportAttrIfindex:
			p.IfIndex = int(ad.Int32())
		case ovsh.VportAttrUpcallPID:
			ad.Do(func(b []byte) error {
				if len(b)%4 != 0 {
					return fmt.Errorf("%w: upcall PIDs of %d bytes", datapath.ErrMalformed, len(b))
				}
				for i := 0; i < len(b); i += 4 {
					p.UpcallPIDs = append(p.UpcallPIDs, ne.Uint32(b[i:]))
				}
				return nil
			})
		case ovsh.VportAttrOptions:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					if nad.Type() == ovsh.TunnelAttrDstPort {
						p.DstPort = nad.Uint16()
					}
				}
				return nil
			})
		case ovsh.VportAttrStats:
			ad.Do(func(b []byte) error {
				if len(b) < ovsh.SizeofVportStats {
					return fmt.Errorf("%w: vport stats of %d bytes", datapath.ErrMalformed, len(b))
				}
				s := &p.Stats
				for i, f := range []*uint64{&s.RxPackets, &s.TxPackets, &s.RxBytes, &s.TxBytes,
					&s.RxErrors, &s.TxErrors, &s.RxDropped, &s.TxDropped} {
					*f = ne.Uint64(b[8*i:])
				}
				return nil
			})
		}
	}
	if err := ad.Err(); err != nil {
		return datapath.Port{}, fmt.Errorf("%w: %w", datapath.ErrMalformed, err)
	}
	return p, nil
}

func one(op string, ps []datapath.Port, err error) (datapath.Port, error) {
	if err != nil {
		return datapath.Port{}, err
	}
	if len(ps) != 1 {
		return datapath.Port{}, &datapath.OpError{Op: op, Err: fmt.Errorf("%w: %d replies", datapath.ErrMalformed, len(ps))}
	}
	return ps[0], nil
}

// CreatePort implements datapath.Datapath. The kernel accepts a single
// upcall PID in OVS_VPORT_CMD_NEW (it answers EINVAL to an array), so with
// several PIDs the port is created with the first and then given all of
// them with OVS_VPORT_CMD_SET; if that fails the port is deleted again and
// the error matches datapath.ErrNotSupported (Linux 6.1 rejects arrays).
func (d *Datapath) CreatePort(ctx context.Context, spec datapath.PortSpec) (datapath.Port, error) {
	all := spec.UpcallPIDs
	if len(all) > 1 {
		spec.UpcallPIDs = all[:1]
	}
	attrs, err := encodeVportSpec(spec)
	if err != nil {
		return datapath.Port{}, &datapath.OpError{Op: "vport new", Err: err}
	}
	ps, err := d.vportExchange(ctx, "vport new", ovsh.VportCmdNew, netlink.Echo|netlink.Create|netlink.Excl, attrs)
	p, err := one("vport new", ps, err)
	if err != nil || len(all) <= 1 {
		return p, err
	}
	if err := d.SetPortUpcallPIDs(ctx, p.Number, all); err != nil {
		if derr := d.DeletePort(context.WithoutCancel(ctx), p.Number); derr != nil {
			d.c.log.Warn("deleting half-created port", "port", p.Number, "err", derr)
		}
		if errors.Is(err, datapath.ErrInvalid) {
			// Kernels whose policy types the attribute as NLA_U32 (6.1
			// among them) reject arrays even with OVS_DP_F_VPORT_PIDS.
			err = &datapath.OpError{Op: "vport set", Err: fmt.Errorf("%w: kernel takes one upcall PID per vport: %w", datapath.ErrNotSupported, err)}
		}
		return datapath.Port{}, err
	}
	p.UpcallPIDs = append([]uint32(nil), all...)
	return p, nil
}

// DeletePort implements datapath.Datapath.
func (d *Datapath) DeletePort(ctx context.Context, port datapath.PortNumber) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(ovsh.VportAttrPortNo, uint32(port))
	attrs, _ := ae.Encode()
	_, err := d.vportExchange(ctx, "vport del", ovsh.VportCmdDel, 0, attrs)
	return err
}

// Port returns one port by number.
func (d *Datapath) Port(ctx context.Context, port datapath.PortNumber) (datapath.Port, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(ovsh.VportAttrPortNo, uint32(port))
	attrs, _ := ae.Encode()
	ps, err := d.vportExchange(ctx, "vport get", ovsh.VportCmdGet, 0, attrs)
	return one("vport get", ps, err)
}

// PortByName returns one port by device name.
func (d *Datapath) PortByName(ctx context.Context, name string) (datapath.Port, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(ovsh.VportAttrName, name)
	attrs, _ := ae.Encode()
	ps, err := d.vportExchange(ctx, "vport get", ovsh.VportCmdGet, 0, attrs)
	return one("vport get", ps, err)
}

// SetPortUpcallPIDs changes the upcall sockets of a port.
func (d *Datapath) SetPortUpcallPIDs(ctx context.Context, port datapath.PortNumber, pids []uint32) error {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(ovsh.VportAttrPortNo, uint32(port))
	ae.Bytes(ovsh.VportAttrUpcallPID, encodePIDs(pids))
	attrs, _ := ae.Encode()
	_, err := d.vportExchange(ctx, "vport set", ovsh.VportCmdSet, 0, attrs)
	return err
}

// Ports implements datapath.Datapath.
func (d *Datapath) Ports(ctx context.Context) ([]datapath.Port, error) {
	ps, err := d.vportExchange(ctx, "vport dump", ovsh.VportCmdGet, netlink.Dump, nil)
	slices.SortFunc(ps, func(a, b datapath.Port) int { return cmp.Compare(a.Number, b.Number) })
	return ps, err
}
