package nsdbtest

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/topology"
)

var validationTests = []test{
	{"InvalidWrites", testInvalidWrites},
	{"ValidationErrorListsProblems", testValidationErrorLists},
}

// base is the valid topology the invalid writes are attempted against.
type base struct {
	r1, r2   *topology.Router
	rp1, rp2 *topology.Port
	b        *topology.Bridge
	hst      *topology.Host
	bound    *topology.Port
	lb       *topology.LoadBalancer
	c        *topology.Chain
}

func newBase(t *testing.T, s nsdb.Store) *base {
	x := &base{r1: router("r1"), r2: router("r2"), b: bridge("b"), hst: host("h"), lb: loadBalancer("lb"), c: chain("c", dropRule("d"))}
	x.rp1 = routerPort("rp1", x.r1, "10.0.0.1", "10.0.0.0/24")
	x.rp2 = routerPort("rp2", x.r2, "10.9.0.1", "10.9.0.0/24")
	x.r1.LoadBalancer = x.lb.ID
	x.bound = bridgePort("bound", x.b)
	x.bound.Host, x.bound.Interface = x.hst.ID, "tap0"
	commit(t, s, nsdb.Create(x.lb), nsdb.Create(x.r1), nsdb.Create(x.r2), nsdb.Create(x.rp1), nsdb.Create(x.rp2),
		nsdb.Create(x.b), nsdb.Create(x.hst), nsdb.Create(x.bound), nsdb.Create(x.c))
	return x
}

func testInvalidWrites(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	x := newBase(t, s)
	cases := []struct {
		name  string
		ops   func() []nsdb.Op
		class error // a topology problem class, or nsdb.ErrReferenced
	}{
		{"dangling bridge", func() []nsdb.Op {
			return []nsdb.Op{nsdb.Create(bridgePort("p", bridge("nowhere")))}
		}, topology.ErrDangling},
		{"dangling filter on update", func() []nsdb.Op {
			b := clone(x.b)
			b.InboundFilter = id(topology.KindChain, "nowhere")
			return []nsdb.Op{nsdb.Update(b, nsdb.AnyVersion)}
		}, topology.ErrDangling},
		{"reference of the wrong kind", func() []nsdb.Op {
			b := clone(x.b)
			b.OutboundFilter = x.r1.ID // a router, not a chain
			return []nsdb.Op{nsdb.Update(b, nsdb.AnyVersion)}
		}, topology.ErrDangling},
		{"bad field", func() []nsdb.Op {
			b := bridge("bad-vni")
			b.VNI = 5
			return []nsdb.Op{nsdb.Create(b)}
		}, topology.ErrInvalidField},
		{"missing ID", func() []nsdb.Op { return []nsdb.Op{nsdb.Create(&topology.Bridge{Name: "no-id"})} }, topology.ErrInvalidField},
		{"invalid rule", func() []nsdb.Op {
			return []nsdb.Op{nsdb.Create(chain("bad", topology.Rule{ID: id(topology.KindInvalid, "r"), Type: topology.RuleLiteral, Action: topology.ActionJump}))}
		}, topology.ErrInvalidRule},
		{"jump to a missing chain", func() []nsdb.Op {
			return []nsdb.Op{nsdb.Create(chain("j", jumpRule("j", chain("nowhere"))))}
		}, topology.ErrMissingJumpTarget},
		{"overlapping subnets", func() []nsdb.Op {
			return []nsdb.Op{nsdb.Create(routerPort("overlap", x.r1, "10.0.0.200", "10.0.0.128/25"))}
		}, topology.ErrOverlappingSubnets},
		{"port moved onto an overlapping router", func() []nsdb.Op {
			p := clone(x.rp2)
			p.Router = x.r1.ID
			p.Subnets = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}
			return []nsdb.Op{nsdb.Update(p, nsdb.AnyVersion)}
		}, topology.ErrOverlappingSubnets},
		{"duplicate name", func() []nsdb.Op {
			b := bridge("other")
			b.Name = x.b.Name
			return []nsdb.Op{nsdb.Create(b)}
		}, topology.ErrDuplicateName},
		{"duplicate ID across kinds", func() []nsdb.Op {
			r := router("clash")
			r.ID = x.b.ID
			return []nsdb.Op{nsdb.Create(r)}
		}, topology.ErrDuplicateID},
		{"duplicate interface binding", func() []nsdb.Op {
			p := bridgePort("again", x.b)
			p.Host, p.Interface = x.hst.ID, "tap0"
			return []nsdb.Op{nsdb.Create(p)}
		}, topology.ErrDuplicateBinding},
		// The same conflicts between two objects of one commit.
		{"duplicate name within a commit", func() []nsdb.Op {
			b1, b2 := bridge("twin-1"), bridge("twin-2")
			b2.Name = b1.Name
			return []nsdb.Op{nsdb.Create(b1), nsdb.Create(b2)}
		}, topology.ErrDuplicateName},
		{"duplicate ID across kinds within a commit", func() []nsdb.Op {
			b := bridge("clash-b")
			r := router("clash-r")
			r.ID = b.ID
			return []nsdb.Op{nsdb.Create(b), nsdb.Create(r)}
		}, topology.ErrDuplicateID},
		{"duplicate interface binding within a commit", func() []nsdb.Op {
			p1, p2 := bridgePort("twin-p1", x.b), bridgePort("twin-p2", x.b)
			p1.Host, p1.Interface = x.hst.ID, "tap-twin"
			p2.Host, p2.Interface = x.hst.ID, "tap-twin"
			return []nsdb.Op{nsdb.Create(p1), nsdb.Create(p2)}
		}, topology.ErrDuplicateBinding},
		{"shared load balancer", func() []nsdb.Op {
			r := clone(x.r2)
			r.LoadBalancer = x.lb.ID
			return []nsdb.Op{nsdb.Update(r, nsdb.AnyVersion)}
		}, topology.ErrSharedReference},
		{"route via another router's port", func() []nsdb.Op {
			return []nsdb.Op{nsdb.Create(route("foreign", x.r1, "192.0.2.0/24", x.rp2))}
		}, topology.ErrForeignPort},
		{"bound and peered", func() []nsdb.Op {
			p := clone(x.bound)
			p.Peer = x.rp1.ID
			return []nsdb.Op{nsdb.Update(p, nsdb.AnyVersion)}
		}, topology.ErrBoundAndPeered},
		{"valid op then invalid op", func() []nsdb.Op {
			b := bridge("bad-vni")
			b.VNI = 1
			return []nsdb.Op{nsdb.Create(bridge("fine")), nsdb.Create(b)}
		}, topology.ErrInvalidField},
		{"delete refused", func() []nsdb.Op {
			return []nsdb.Op{nsdb.Create(bridge("fine")), nsdb.Delete(topology.KindLoadBalancer, x.lb.ID, nsdb.AnyVersion)}
		}, nsdb.ErrReferenced},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := dump(t, s)
			_, err := s.Commit(testContext(t), tc.ops()...)
			if err == nil {
				t.Fatal("invalid write accepted")
			}
			if !errors.Is(err, tc.class) {
				t.Fatalf("error %v does not wrap %v", err, tc.class)
			}
			if tc.class != nsdb.ErrReferenced {
				wantErr(t, "invalid write", err, nsdb.ErrInvalid)
				var ve *topology.ValidationError
				if !errors.As(err, &ve) || len(ve.Problems) == 0 {
					t.Fatalf("error %v carries no *topology.ValidationError", err)
				}
			}
			if after := dump(t, s); after != before {
				t.Fatalf("invalid write changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func testValidationErrorLists(t *testing.T, h Harness) {
	s := h.NewClient(t).Store()
	b := bridge("b")
	b.VNI = 3
	b.InboundFilter = id(topology.KindChain, "missing")
	p := bridgePort("p", bridge("nowhere"))
	_, err := s.Commit(testContext(t), nsdb.Create(b), nsdb.Create(p))
	var ve *topology.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v carries no *topology.ValidationError", err)
	}
	want := map[error]bool{topology.ErrInvalidField: false, topology.ErrDangling: false}
	objs := map[topology.ID]bool{}
	for _, pr := range ve.Problems {
		if _, ok := want[pr.Err]; ok {
			want[pr.Err] = true
		}
		objs[pr.ID] = true
	}
	for class, seen := range want {
		if !seen {
			t.Errorf("problems %v lack one of class %v", ve.Problems, class)
		}
	}
	if !objs[b.ID] || !objs[p.ID] {
		t.Errorf("problems %v do not name both invalid objects", ve.Problems)
	}
}
