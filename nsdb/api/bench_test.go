package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivenet/hivenet/nsdb"
	"github.com/hivenet/hivenet/nsdb/api"
	"github.com/hivenet/hivenet/topology"
)

// benchPorts is the number of ports the benchmarks read and write.
const benchPorts = 200

// benchServer serves the API over HTTP on loopback, on a database of the
// backend holding a bridge with benchPorts ports.
func benchServer(b *testing.B, be backend) (string, []string) {
	db := be.open(b)(b)
	net := topology.NameID(topology.KindBridge, "net")
	top := &topology.Topology{Bridges: []topology.Bridge{{ID: net, Name: "net"}}}
	var ports []string
	for i := range benchPorts {
		name := fmt.Sprintf("p%03d", i)
		id := topology.NameID(topology.KindPort, name)
		top.Ports = append(top.Ports, topology.Port{ID: id, Name: name, Bridge: net})
		ports = append(ports, id.String())
	}
	if _, err := db.Store().Commit(context.Background(), nsdb.PutAll(top)...); err != nil {
		b.Fatal(err)
	}
	tokens, err := api.ParseTokens(strings.NewReader(tokenFile))
	if err != nil {
		b.Fatal(err)
	}
	srv, err := api.New(api.Config{NSDB: db, Tokens: tokens})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close)
	return ts.URL, ports
}

// benchRequests sends b.N requests from 4 goroutines per core over
// keep-alive connections and reports the rate and the latency
// percentiles.
func benchRequests(b *testing.B, unit string, want int, mk func(i int) *http.Request) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			req := mk(int(n.Add(1)))
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			mine = append(mine, time.Since(t0))
			if res.StatusCode != want {
				b.Errorf("%s %s: %d", req.Method, req.URL.Path, res.StatusCode)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func request(method, url, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// benchReads gets ports by UUID.
func benchReads(b *testing.B, be backend) {
	url, ports := benchServer(b, be)
	benchRequests(b, "reads", http.StatusOK, func(i int) *http.Request {
		return request(http.MethodGet, url+"/v1/ports/"+ports[i%len(ports)], "")
	})
}

// benchWrites replaces ports, each write flipping one port's admin-down
// flag (a real change, one NSDB transaction each).
func benchWrites(b *testing.B, be backend) {
	url, ports := benchServer(b, be)
	benchRequests(b, "writes", http.StatusOK, func(i int) *http.Request {
		p := i % len(ports)
		body := fmt.Sprintf(`{"name": "p%03d", "bridge": "net", "admin-down": %t}`, p, (i/len(ports))%2 == 0)
		return request(http.MethodPut, url+"/v1/ports/"+ports[p], body)
	})
}

func BenchmarkAPIReadMemory(b *testing.B)     { benchReads(b, memoryBackend) }
func BenchmarkAPIWriteMemory(b *testing.B)    { benchWrites(b, memoryBackend) }
func BenchmarkAPIReadZooKeeper(b *testing.B)  { benchReads(b, zooKeeperBackend) }
func BenchmarkAPIWriteZooKeeper(b *testing.B) { benchWrites(b, zooKeeperBackend) }
