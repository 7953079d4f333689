package session

import (
	"crypto/rand"
	"encoding/binary"
	"net"
	"sort"
)

// MACNode stands for Python's uuid.getnode() on Linux: the 48-bit hardware
// address of a network interface as an integer.
//
// Python asks libuuid first, which takes the first interface with an IPv4
// address and a non-zero hardware address in the kernel's order; without
// libuuid it parses `ip link` and prefers a universally administered address.
// MACNode does the first and falls back to the second, over Go's interface
// list (index order). Where no interface has a hardware address, Python
// returns a random number with the multicast bit set, new in every process;
// so does MACNode, new on every call. Differences remain possible on hosts
// with several NICs where libuuid's order differs from the index order, and
// on macOS and Windows, where Python uses other sources. A different node only
// changes the lineage id of a flow outside git, so pfz and pfazure then pick
// different sessions for it; nothing else depends on it.
func MACNode() uint64 {
	ifs, err := net.Interfaces()
	if err == nil {
		if n, ok := pickNode(toCandidates(ifs)); ok {
			return n
		}
	}
	return randomNode()
}

type nodeCandidate struct {
	index    int
	hw       net.HardwareAddr
	loopback bool
	hasIPv4  bool
}

func toCandidates(ifs []net.Interface) []nodeCandidate {
	out := make([]nodeCandidate, 0, len(ifs))
	for _, it := range ifs {
		c := nodeCandidate{index: it.Index, hw: it.HardwareAddr, loopback: it.Flags&net.FlagLoopback != 0}
		if addrs, err := it.Addrs(); err == nil {
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
					c.hasIPv4 = true
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// pickNode applies the rules described on MACNode to a list of interfaces.
func pickNode(cs []nodeCandidate) (uint64, bool) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].index < cs[j].index })
	usable := func(c nodeCandidate) bool {
		if c.loopback || len(c.hw) != 6 {
			return false
		}
		for _, b := range c.hw {
			if b != 0 {
				return true
			}
		}
		return false
	}
	// libuuid: the first configured (IPv4) interface with a real address.
	for _, c := range cs {
		if c.hasIPv4 && usable(c) {
			return hwToNode(c.hw), true
		}
	}
	// ip link: the first universally administered address, else the first.
	var local *nodeCandidate
	for i, c := range cs {
		if !usable(c) {
			continue
		}
		if c.hw[0]&0x02 == 0 {
			return hwToNode(c.hw), true
		}
		if local == nil {
			local = &cs[i]
		}
	}
	if local != nil {
		return hwToNode(local.hw), true
	}
	return 0, false
}

func hwToNode(hw net.HardwareAddr) uint64 {
	var n uint64
	for _, b := range hw[:6] {
		n = n<<8 | uint64(b)
	}
	return n
}

// randomNode is uuid._random_getnode: 48 random bits with the multicast bit
// (the lowest bit of the first octet) set, as RFC 4122 asks.
func randomNode() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[2:])
	return (binary.BigEndian.Uint64(b[:]) & (1<<48 - 1)) | 1<<40
}
