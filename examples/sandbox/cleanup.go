package main

import (
	"errors"
	"path"
	"slices"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/hivenet/hivenet/datapath/agent/sandbox"
	"github.com/hivenet/hivenet/topology"
)

// removeTree deletes the znode root and everything below it, children
// first, and then root's parent if nothing else is left in it.
func removeTree(servers []string, root string) error {
	conn, _, err := zk.Connect(servers, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		return err
	}
	defer conn.Close()
	var del func(p string) error
	del = func(p string) error {
		kids, _, err := conn.Children(p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := del(path.Join(p, k)); err != nil {
				return err
			}
		}
		if err := conn.Delete(p, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		return nil
	}
	if err := del(root); err != nil {
		return err
	}
	if err := conn.Delete(path.Dir(root), -1); err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrNotEmpty) {
		return err
	}
	return nil
}

// missingVMPorts returns the ports of sandbox.TwoTenantVMs that topo lacks:
// the scenarios plug their VMs there.
func missingVMPorts(topo *topology.Topology) []string {
	have := make(map[string]bool, len(topo.Ports))
	for i := range topo.Ports {
		have[topo.Ports[i].Name] = true
	}
	var missing []string
	for port := range sandbox.TwoTenantVMs {
		if !have[port] {
			missing = append(missing, port)
		}
	}
	slices.Sort(missing)
	return missing
}
