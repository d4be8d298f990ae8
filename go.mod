module github.com/hivenet/hivenet

go 1.25.0

require github.com/go-zookeeper/zk v1.0.4

require github.com/gopacket/gopacket v1.7.7

require go.yaml.in/yaml/v3 v3.0.4
