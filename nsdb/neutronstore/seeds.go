package neutronstore

import (
	"context"
	"errors"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology/neutron"
)

// seed applies a plan's seeds to the state tables, as persistent entries.
// State tables are not part of NSDB transactions, so the seeds follow the
// commit; a seed that fails is logged and costs only what learning would
// have done anyway (a flood, an ARP request): the next write of an
// unchanged seed does not retry it, a Sync after a table outage does not
// either — the model's own objects are always right.
func (s *Store) seed(ctx context.Context, plan neutron.Plan) {
	tables := s.db.Tables()
	apply := func(sd neutron.Seed, add bool) error {
		switch sd.Kind {
		case neutron.SeedMAC:
			t, err := tables.MACTable(ctx, sd.Bridge, 0)
			if err != nil {
				return err
			}
			defer t.Close()
			if add {
				return t.AddPersistent(ctx, sd.MAC, sd.Port)
			}
			return t.RemovePersistent(ctx, sd.MAC, sd.Port)
		case neutron.SeedIP4MAC:
			t, err := tables.IP4MACTable(ctx, sd.Bridge)
			if err != nil {
				return err
			}
			defer t.Close()
			if add {
				return t.AddPersistent(ctx, sd.Addr, sd.MAC)
			}
			return t.RemovePersistent(ctx, sd.Addr, sd.MAC)
		}
		return nil
	}
	for _, sd := range plan.RemoveSeeds {
		if err := apply(sd, false); err != nil && !errors.Is(err, nsdb.ErrNotFound) {
			s.log.Warn("removing a state-table seed failed", "bridge", sd.Bridge, "mac", sd.MAC, "addr", sd.Addr, "err", err)
		}
	}
	for _, sd := range plan.AddSeeds {
		if err := apply(sd, true); err != nil {
			s.log.Warn("seeding a state table failed", "bridge", sd.Bridge, "mac", sd.MAC, "addr", sd.Addr, "err", err)
		}
	}
}
