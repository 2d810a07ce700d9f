package netns

import (
	"net/netip"
	"testing"
)

func TestRoutePrefix(t *testing.T) {
	for _, tc := range []struct {
		line string
		want string // "" = no prefix
	}{
		{"default via 172.17.0.1 dev eth0", ""},
		{"10.1.2.0/24 dev eth0 proto kernel scope link src 10.1.2.3", "10.1.2.0/24"},
		{"local 10.1.2.3 dev eth0 table local proto kernel scope host src 10.1.2.3", "10.1.2.3/32"},
		{"broadcast 10.1.2.255 dev eth0 table local proto kernel scope link src 10.1.2.3", "10.1.2.255/32"},
		{"unreachable 10.9.0.0/16", "10.9.0.0/16"},
		{"10.1.2.3/8 dev tun0", "10.0.0.0/8"},
		{"", ""},
		{"garbage here", ""},
	} {
		got, ok := routePrefix(tc.line)
		if tc.want == "" {
			if ok {
				t.Errorf("routePrefix(%q) = %s, want none", tc.line, got)
			}
			continue
		}
		if !ok || got != netip.MustParsePrefix(tc.want) {
			t.Errorf("routePrefix(%q) = %s, %v; want %s", tc.line, got, ok, tc.want)
		}
	}
}
