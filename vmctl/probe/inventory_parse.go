package probe

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/vmdump/vmdump/internal/lazyre"
)

// Bounds on what a VM's answer may make vmdump keep.
const (
	maxInventoryNICs       = 4096
	maxInventoryContainers = 4096
	maxInventoryText       = 256 // bytes of any one name or version
	maxNICAddrs            = 64  // addresses kept per interface
	maxInventoryRoutes     = 64  // default routes considered per family
)

// ParseInventory reads the output of the probe and inventory scripts (see
// inventoryScript). The interfaces may come from sysfs, from iproute2's
// `ip -d -j link` or from `ip -o link` (iproute2 or busybox); the container
// lines are matched to the VM's veths by index: a container interface's
// iflink is the ifindex of its peer in the VM, and that peer's iflink is the
// container interface's ifindex. Every container listed also lands in
// Inventory.Containers, with what its namespace showed (interfaces,
// addresses, whether it is the VM's), so that a capture can follow a
// container by name whatever its network.
//
// Everything the VM printed is untrusted: names are checked, text is cut to
// one printable line, counts are bounded. Output cut short after the
// interfaces yields a Partial inventory; cut before, an error.
func ParseInventory(out []byte) (Inventory, error) {
	p, err := ParseProbe(out)
	if err != nil {
		return Inventory{}, err
	}
	ps := parseInventoryLines(out)
	if !ps.started {
		return Inventory{}, errors.New("the VM's shell did not run vmdump's inventory")
	}
	if !ps.nicsEnded {
		return Inventory{}, errors.New("the inventory's output was cut short")
	}
	inv := Inventory{
		Hostname: p.Hostname, OSID: p.OSID, OSLike: p.OSLike, OSPretty: p.OSPretty, Kernel: p.Kernel,
		UID: p.UID, SudoNoPassword: p.SudoNoPassword, Privileged: ps.privileged,
		Tools:   ps.tools,
		Partial: !ps.ended,
	}
	inv.Tools.Tcpdump, inv.Tools.ImmediateMode = p.Tcpdump, p.ImmediateMode
	inv.NICs = ps.nics()
	inv.DefaultRoute = ps.defaultRoute(inv.NICs)
	inv.Engines = ps.engineList()
	ps.matchContainers(inv.NICs)
	rootless := map[string]bool{}
	for _, e := range inv.Engines {
		rootless[e.Name] = e.Rootless
	}
	inv.Containers = ps.containerList(inv.NICs, func(rc rawContainer) bool { return rc.as == "user" && rootless[rc.engine] })
	inv.Notes = ps.notes(inv)
	return inv, nil
}

// parseInventoryLines reads the inv.* lines of the last run in out (the
// inventory's, or FindContainer's, which prints a subset of them).
func parseInventoryLines(out []byte) *inventoryParse {
	ps := &inventoryParse{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 4096), 4<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "vmdump-probe=1" {
			*ps = inventoryParse{} // as ParseProbe: the last run counts
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(key, "inv.") {
			continue
		}
		ps.line(strings.TrimPrefix(key, "inv."), val)
	}
	return ps
}

// rawNIC is one interface as one source described it.
type rawNIC struct {
	name          string
	index, iflink int
	peerName      string // text/JSON output naming the peer instead of its index
	arpType       int
	state, mac    string
	master, kind  string
	devtype       string
	device, lower bool
	flags         []string // from ip's text output
}

// rawContainer is one inv.ctr line. c has only the fields NIC.Containers
// shows; the rest waits for containerList.
type rawContainer struct {
	engine, as            string
	pid                   int
	c                     Container
	compose, pod, network string
	engineAddrs           []string
}

// containerIf is an interface inside a container's namespace (inv.ctrif,
// inv.ctrip).
type containerIf struct {
	name          string
	index, iflink int
	loopback      bool
}

// containerAddr is one address inside a container's namespace
// (inv.ctraddr).
type containerAddr struct {
	name  string
	index int
	addr  string
}

type engineState struct {
	e       Engine
	seen    map[string]bool // container ids
	listed  map[string]bool // "root"/"user": the listing worked
	errs    map[string]string
	userRL  bool // docker info as the user said rootless
	userCnt int
}

// inventoryParse collects the inventory lines of one run.
type inventoryParse struct {
	started, nicsEnded, ended bool
	privileged                bool
	tools                     Tools
	sysfs, ipJSON, ipText     []rawNIC
	engines                   []*engineState
	containers                []rawContainer
	hostNS                    string
	ctrNS                     map[int]string
	ctrIfs                    map[int][]containerIf
	ctrAddrs                  map[int][]containerAddr
	podNames                  map[string]string // "<engine> <as> <id, 12 digits>" → Podman's pod name
	findStatus                string            // FindContainer: the inspect's exit status
	findErr                   string            // FindContainer: its first line that was no container
	sockets, procs            []string
	addrNIC                   string              // the interface of the ip addr lines that follow
	addrs                     map[string][]string // interface → its addresses
	routes, routes6           []defaultRoute
}

// defaultRoute is one default route of /proc/net/route or ipv6_route.
type defaultRoute struct {
	dev    string
	metric uint64
}

func (ps *inventoryParse) line(key, val string) {
	switch key {
	case "v":
		ps.started = val == "1"
		return
	}
	if !ps.started {
		return
	}
	switch key {
	case "priv":
		ps.privileged = val == "1"
	case "tcpdumpv":
		if v, ok := strings.CutPrefix(val, "tcpdump version "); ok {
			ps.tools.TcpdumpVersion = cleanInventoryText(firstField(v))
		} else if v, ok := strings.CutPrefix(val, "libpcap version "); ok {
			ps.tools.LibpcapVersion = cleanInventoryText(firstField(v))
		}
	case "ip":
		ps.tools.IP = cleanInventoryText(val)
	case "ipv":
		ps.tools.IPVersion = ipVersion(val)
	case "pkg":
		if v := cleanInventoryText(val); v != "" && !slices.Contains(ps.tools.PackageManagers, v) {
			ps.tools.PackageManagers = append(ps.tools.PackageManagers, v)
		}
	case "nic":
		if n, ok := parseSysfsNIC(val); ok && len(ps.sysfs) < maxInventoryNICs {
			ps.sysfs = append(ps.sysfs, n)
		}
	case "ipjson":
		ps.ipJSON = parseIPJSON(val)
	case "iplink":
		if n, ok := parseIPLinkLine(val); ok && len(ps.ipText) < maxInventoryNICs {
			ps.ipText = append(ps.ipText, n)
		}
	case "addr":
		ps.addrLine(val)
	case "route", "route6":
		// <dev> <metric> <flags>: the metric is decimal in route, hex
		// in ipv6_route; the flags are hex in both.
		f := strings.Fields(val)
		if len(f) != 3 || !validNICName(f[0]) {
			return
		}
		base := 10
		if key == "route6" {
			base = 16
		}
		metric, e1 := strconv.ParseUint(f[1], base, 32)
		flags, e2 := strconv.ParseUint(f[2], 16, 32)
		const rtfUp, rtfReject = 0x1, 0x200
		if e1 != nil || e2 != nil || flags&rtfUp == 0 || flags&rtfReject != 0 {
			return
		}
		r := defaultRoute{dev: f[0], metric: metric}
		if key == "route" && len(ps.routes) < maxInventoryRoutes {
			ps.routes = append(ps.routes, r)
		} else if key == "route6" && len(ps.routes6) < maxInventoryRoutes {
			ps.routes6 = append(ps.routes6, r)
		}
	case "nics.end":
		ps.nicsEnded = val == "1"
	case "sock":
		ps.sockets = appendBounded(ps.sockets, cleanInventoryText(val))
	case "proc":
		ps.procs = appendBounded(ps.procs, cleanInventoryText(val))
	case "engine":
		name, path, _ := strings.Cut(val, " ")
		if es := ps.engine(name); es != nil {
			es.e.Path = cleanInventoryText(path)
		}
	case "einfo":
		f := strings.SplitN(val, " ", 3)
		if len(f) == 3 && f[1] == "user" {
			if es := ps.engine(f[0]); es != nil {
				es.userRL = strings.Contains(f[2], "rootless")
			}
		}
	case "eps":
		f := strings.SplitN(val, " ", 4)
		if len(f) < 3 {
			return
		}
		es := ps.engine(f[0])
		if es == nil || (f[1] != "root" && f[1] != "user") {
			return
		}
		if f[2] == "0" {
			es.listed[f[1]] = true
		} else {
			why := ""
			if len(f) == 4 {
				why = cleanInventoryText(f[3])
			}
			if why == "" {
				why = "exit status " + cleanInventoryText(f[2])
			}
			es.errs[f[1]] = why
		}
	case "ctr":
		if rc, ok := parseCtrLine(val, ps.engine); ok && len(ps.containers) < maxInventoryContainers {
			ps.containers = append(ps.containers, rc)
		}
	case "cpod":
		// <engine> <root|user> <short id> <pod name> (Podman's ps)
		f := strings.Fields(val)
		if len(f) != 4 || len(f[2]) < 12 || !isHex(f[2]) || len(ps.podNames) >= maxInventoryContainers {
			return
		}
		if ps.podNames == nil {
			ps.podNames = map[string]string{}
		}
		ps.podNames[f[0]+" "+f[1]+" "+f[2][:12]] = cleanInventoryText(f[3])
	case "fstatus":
		ps.findStatus = cleanInventoryText(val)
	case "ferr":
		if ps.findErr == "" {
			ps.findErr = cleanInventoryText(val)
		}
	case "hostns":
		ps.hostNS = cleanInventoryText(val)
	case "ctrns":
		pid, ns, _ := strings.Cut(val, " ")
		if n, err := strconv.Atoi(pid); err == nil && n > 0 {
			if ps.ctrNS == nil {
				ps.ctrNS = map[int]string{}
			}
			if _, known := ps.ctrNS[n]; known || len(ps.ctrNS) < maxInventoryPIDs {
				ps.ctrNS[n] = cleanInventoryText(ns)
			}
		}
	case "ctrif":
		// <pid> <name> <ifindex> <iflink> [<type>] (older scripts
		// printed no type)
		f := strings.Fields(val)
		if len(f) != 4 && len(f) != 5 {
			return
		}
		pid, e1 := strconv.Atoi(f[0])
		idx, e2 := strconv.Atoi(f[2])
		link, e3 := strconv.Atoi(f[3])
		typ := 0
		if len(f) == 5 {
			typ, _ = strconv.Atoi(f[4])
		}
		if e1 == nil && e2 == nil && e3 == nil && validNICName(f[1]) {
			ps.addCtrIf(pid, containerIf{name: f[1], index: idx, iflink: link, loopback: typ == 772})
		}
	case "ctrip":
		pid, rest, _ := strings.Cut(val, " ")
		n, err := strconv.Atoi(pid)
		if l, ok := parseIPLinkLine(rest); ok && err == nil {
			ps.addCtrIf(n, containerIf{name: l.name, index: l.index, iflink: l.iflink, loopback: l.arpType == 772})
		}
	case "ctraddr":
		pid, rest, _ := strings.Cut(val, " ")
		n, err := strconv.Atoi(pid)
		if a, ok := parseCtrAddr(rest); ok && err == nil {
			ps.addCtrAddr(n, a)
		}
	case "end":
		ps.ended = val == "1"
	}
}

// maxInventoryPIDs bounds the processes whose namespace lines are kept
// (a container's PID is listed once per engine that lists it).
const maxInventoryPIDs = 2 * maxInventoryContainers

// maxContainerNICs bounds the interfaces kept per container, and
// maxContainerAddrs the address lines per container.
const (
	maxContainerNICs  = 64
	maxContainerAddrs = 256
)

func (ps *inventoryParse) addCtrIf(pid int, ci containerIf) {
	if pid <= 0 {
		return
	}
	if ps.ctrIfs == nil {
		ps.ctrIfs = map[int][]containerIf{}
	}
	list, known := ps.ctrIfs[pid]
	if !known && len(ps.ctrIfs) >= maxInventoryPIDs {
		return
	}
	if len(list) < maxContainerNICs && !slices.ContainsFunc(list, func(o containerIf) bool { return o.name == ci.name }) {
		ps.ctrIfs[pid] = append(list, ci)
	}
}

func (ps *inventoryParse) addCtrAddr(pid int, a containerAddr) {
	if pid <= 0 {
		return
	}
	if ps.ctrAddrs == nil {
		ps.ctrAddrs = map[int][]containerAddr{}
	}
	list, known := ps.ctrAddrs[pid]
	if !known && len(ps.ctrAddrs) >= maxInventoryPIDs {
		return
	}
	if len(list) < maxContainerAddrs && !slices.Contains(list, a) {
		ps.ctrAddrs[pid] = append(list, a)
	}
}

// parseCtrLine reads "<engine> <root|user> <pid> <fields>": the fields are
// the inspect template's (see tmplDocker), each free-form value a Go-quoted
// string, then the engine's addresses; or, from older scripts, "<name>
// <id> <image>" as bare words. The name loses Docker's leading "/".
func parseCtrLine(val string, engine func(string) *engineState) (rawContainer, bool) {
	f := strings.SplitN(val, " ", 4)
	if len(f) < 4 {
		return rawContainer{}, false
	}
	pid, err := strconv.Atoi(f[2])
	es := engine(f[0])
	if err != nil || pid < 0 || es == nil || (f[1] != "root" && f[1] != "user") {
		return rawContainer{}, false
	}
	rc := rawContainer{engine: es.e.Name, as: f[1], pid: pid}
	rest := strings.TrimLeft(f[3], " ")
	var vals []string
	var addrs []string
	if strings.HasPrefix(rest, `"`) {
		for len(vals) < 8 {
			rest = strings.TrimLeft(rest, " ")
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			v, err := strconv.Unquote(q)
			if err != nil {
				break
			}
			vals = append(vals, v)
			rest = rest[len(q):]
		}
		if len(vals) == 8 {
			addrs = strings.Fields(rest)
		}
	} else {
		vals = strings.Fields(rest)
		vals = vals[:min(len(vals), 3)]
	}
	if len(vals) < 2 {
		return rawContainer{}, false
	}
	vals = append(vals, make([]string, 8)...) // the fields an older line lacks are ""
	for i := range vals {
		vals[i] = cleanInventoryText(vals[i])
	}
	rc.c = Container{Engine: es.e.Name, Name: cleanInventoryText(strings.TrimPrefix(vals[0], "/")), ID: vals[1], Image: vals[2]}
	if rc.c.Name == "" || rc.c.ID == "" {
		return rawContainer{}, false
	}
	if vals[3] != "" && vals[4] != "" {
		rc.compose = cleanInventoryText(vals[3] + "/" + vals[4])
	}
	switch {
	case vals[5] != "" && vals[6] != "":
		rc.pod = cleanInventoryText(vals[5] + "/" + vals[6])
	case vals[6] != "":
		rc.pod = vals[6]
	}
	rc.network = vals[7]
	for _, s := range addrs {
		if p, ok := parseIfAddr(s); ok && p.Addr().IsValid() && !p.Addr().IsUnspecified() && len(rc.engineAddrs) < maxNICAddrs && !slices.Contains(rc.engineAddrs, p.String()) {
			rc.engineAddrs = append(rc.engineAddrs, p.String())
		}
	}
	return rc, true
}

// parseCtrAddr reads one line of `ip -o addr show` run in a container's
// namespace: "2: eth0    inet 172.17.0.2/16 brd ... scope global eth0\ ...".
func parseCtrAddr(line string) (containerAddr, bool) {
	m := ipAddrHeader().FindStringSubmatch(line)
	if m == nil || !validNICName(m[2]) {
		return containerAddr{}, false
	}
	idx, err := strconv.Atoi(m[1])
	f := strings.Fields(strings.ReplaceAll(m[3], `\`, " "))
	if err != nil || idx <= 0 || len(f) < 2 || (f[0] != "inet" && f[0] != "inet6") {
		return containerAddr{}, false
	}
	a, ok := parseIfAddr(f[1])
	if !ok || (f[0] == "inet") != a.Addr().Is4() {
		return containerAddr{}, false
	}
	return containerAddr{name: m[2], index: idx, addr: a.String()}, true
}

// engine returns the state of a known engine, nil for anything else.
func (ps *inventoryParse) engine(name string) *engineState {
	switch name {
	case "docker", "podman", "nerdctl":
	default:
		return nil
	}
	for _, es := range ps.engines {
		if es.e.Name == name {
			return es
		}
	}
	es := &engineState{e: Engine{Name: name}, seen: map[string]bool{}, listed: map[string]bool{}, errs: map[string]string{}}
	ps.engines = append(ps.engines, es)
	return es
}

// nics merges the sources: sysfs when it answered, else iproute2's JSON,
// else ip's text output.
func (ps *inventoryParse) nics() []NIC {
	raw := ps.sysfs
	switch {
	case len(raw) > 0:
	case len(ps.ipJSON) > 0:
		raw = ps.ipJSON
	default:
		raw = ps.ipText
	}
	byName := map[string]int{}
	for _, r := range raw {
		byName[r.name] = r.index
	}
	out := make([]NIC, 0, len(raw))
	seen := map[string]bool{}
	for _, r := range raw {
		if seen[r.name] {
			continue
		}
		seen[r.name] = true
		if r.peerName != "" && r.iflink == 0 {
			r.iflink = byName[r.peerName] // busybox names a peer by a local index's name
		}
		n := NIC{Name: r.name, Index: r.index, State: r.state, MAC: r.mac, Master: r.master, ARPType: r.arpType}
		if r.iflink != 0 && r.iflink != r.index {
			n.PeerIndex = r.iflink
		}
		if n.State == "" {
			n.State = stateFromFlags(r.flags)
		}
		n.Kind = nicKind(r, n)
		n.Addrs = ps.addrs[r.name]
		out = append(out, n)
	}
	// Text output names no kinds, but an interface that others have as
	// their master is a bridge (a bond's ports would be devices, not veths).
	masters := map[string]bool{}
	for _, n := range out {
		if n.Kind == "veth" && n.Master != "" {
			masters[n.Master] = true
		}
	}
	for i, n := range out {
		if masters[n.Name] && n.Kind == "virtual" {
			out[i].Kind = "bridge"
		}
	}
	return out
}

// ipAddrHeader is the start of a line of `ip -o addr show` (iproute2 and
// busybox), "4: eth0    inet 10.0.2.15/24 brd ... scope global eth0\ ...",
// or the header of an interface in ip's multi-line output, "4: eth0@if3:
// <BROADCAST,...> mtu ...", whose address lines follow ("    inet ...").
var ipAddrHeader = lazyre.New(`^\s*(\d+):\s+([^:@\s]+)(?:@[^:\s]*)?:?(?:\s+(.*))?$`)

// addrLine reads one line of ip's address listing: an address of the
// interface the line (or the header before it) names.
func (ps *inventoryParse) addrLine(line string) {
	rest := line
	if m := ipAddrHeader().FindStringSubmatch(line); m != nil {
		ps.addrNIC = ""
		if validNICName(m[2]) {
			ps.addrNIC = m[2]
		}
		rest = m[3]
	}
	f := strings.Fields(strings.ReplaceAll(rest, `\`, " "))
	if ps.addrNIC == "" || len(f) < 2 || (f[0] != "inet" && f[0] != "inet6") {
		return
	}
	a, ok := parseIfAddr(f[1])
	if !ok || (f[0] == "inet") != a.Addr().Is4() {
		return
	}
	if ps.addrs == nil {
		ps.addrs = map[string][]string{}
	}
	list, known := ps.addrs[ps.addrNIC]
	if (!known && len(ps.addrs) >= maxInventoryNICs) || len(list) >= maxNICAddrs || slices.Contains(list, a.String()) {
		return
	}
	ps.addrs[ps.addrNIC] = append(list, a.String())
}

// parseIfAddr reads an interface's own address as ip prints it, with its
// prefix length ("10.0.2.15/24", "fe80::1/64") or, before "peer" on a
// point-to-point link, without ("10.8.0.1": a /32).
func parseIfAddr(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p, err == nil && !p.Addr().Is4In6()
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// defaultRoute is the interface of the default route, among the
// interfaces found: IPv4's with the lowest metric (the first of equals, as
// the kernel lists them), else IPv6's; "" when there is none.
func (ps *inventoryParse) defaultRoute(nics []NIC) string {
	known := map[string]bool{}
	for _, n := range nics {
		known[n.Name] = n.Kind != "loopback"
	}
	for _, routes := range [][]defaultRoute{ps.routes, ps.routes6} {
		best := -1
		for i, r := range routes {
			if known[r.dev] && (best < 0 || r.metric < routes[best].metric) {
				best = i
			}
		}
		if best >= 0 {
			return routes[best].dev
		}
	}
	return ""
}

// nicKind names what an interface is from whatever its source said.
func nicKind(r rawNIC, n NIC) string {
	switch {
	case r.kind == "ifb", r.kind == "dummy":
		return "virtual"
	case r.kind != "":
		return r.kind
	case r.arpType == 772:
		return "loopback"
	case r.devtype != "":
		return r.devtype
	case r.device:
		return "device"
	case n.PeerIndex != 0 && !r.lower:
		// A link to another interface and nothing stacked on a lower
		// one (vlan, macvlan have lower_*): the end of a veth pair.
		return "veth"
	}
	return "virtual"
}

func stateFromFlags(flags []string) string {
	if len(flags) == 0 {
		return ""
	}
	switch {
	case !slices.Contains(flags, "UP"):
		return "down"
	case slices.Contains(flags, "NO-CARRIER"):
		return "down"
	case slices.Contains(flags, "LOWER_UP"):
		return "up"
	}
	return "unknown"
}

// parseSysfsNIC reads "name=eth0 index=2 iflink=2 type=1 state=up mac=...
// master= kind= devtype= device=1 lower=". Values never hold spaces: the
// kernel forbids whitespace in interface names.
func parseSysfsNIC(val string) (rawNIC, bool) {
	var r rawNIC
	for _, f := range strings.Fields(val) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "name":
			r.name = v
		case "index":
			r.index, _ = strconv.Atoi(v)
		case "iflink":
			r.iflink, _ = strconv.Atoi(v)
		case "type":
			r.arpType, _ = strconv.Atoi(v)
		case "state":
			r.state = strings.ToLower(cleanInventoryText(v))
		case "mac":
			r.mac = cleanInventoryText(v)
		case "master":
			if validNICName(v) {
				r.master = v
			}
		case "kind":
			r.kind = knownKind(v)
		case "devtype":
			r.devtype = knownKind(v)
		case "device":
			r.device = v == "1"
		case "lower":
			r.lower = v == "1"
		}
	}
	if !validNICName(r.name) || r.index <= 0 {
		return rawNIC{}, false
	}
	if r.iflink < 0 {
		r.iflink = 0
	}
	return r, true
}

// ipJSONLink is the part of one `ip -d -j link` entry vmdump reads.
type ipJSONLink struct {
	IfIndex   int    `json:"ifindex"`
	IfName    string `json:"ifname"`
	LinkIndex int    `json:"link_index"`
	Link      any    `json:"link"` // peer name in the same namespace, or null
	Master    string `json:"master"`
	OperState string `json:"operstate"`
	LinkType  string `json:"link_type"`
	Address   string `json:"address"`
	LinkInfo  struct {
		InfoKind string `json:"info_kind"`
	} `json:"linkinfo"`
}

func parseIPJSON(val string) []rawNIC {
	var links []ipJSONLink
	if err := json.Unmarshal([]byte(val), &links); err != nil {
		return nil
	}
	var out []rawNIC
	for _, l := range links {
		if !validNICName(l.IfName) || l.IfIndex <= 0 || len(out) >= maxInventoryNICs {
			continue
		}
		r := rawNIC{name: l.IfName, index: l.IfIndex, iflink: max(l.LinkIndex, 0),
			state: strings.ToLower(cleanInventoryText(l.OperState)), mac: cleanInventoryText(l.Address),
			kind: knownKind(l.LinkInfo.InfoKind), arpType: arpTypeOf(l.LinkType)}
		if validNICName(l.Master) {
			r.master = l.Master
		}
		if peer, ok := l.Link.(string); ok && validNICName(peer) {
			r.peerName = peer
		}
		if r.kind == "" && r.arpType == 772 {
			r.kind = "loopback"
		}
		out = append(out, r)
	}
	return out
}

// ipLinkLine is one line of `ip -o link` (iproute2 or busybox):
// "3: veth1a2b3c4@if2: <BROADCAST,...> mtu 1500 ... master docker0 state UP ...\    link/ether 6e:... brd ...".
var ipLinkLine = lazyre.New(`^\s*(\d+):\s+([^:@\s]+)(?:@([^:\s]+))?:\s+<([^>]*)>(.*)$`)

func parseIPLinkLine(line string) (rawNIC, bool) {
	m := ipLinkLine().FindStringSubmatch(line)
	if m == nil || !validNICName(m[2]) {
		return rawNIC{}, false
	}
	idx, err := strconv.Atoi(m[1])
	if err != nil || idx <= 0 {
		return rawNIC{}, false
	}
	r := rawNIC{name: m[2], index: idx, flags: strings.Split(m[4], ",")}
	switch peer := m[3]; {
	case peer == "" || peer == "NONE":
	case strings.HasPrefix(peer, "if") && isDigits(peer[2:]):
		r.iflink, _ = strconv.Atoi(peer[2:])
	case validNICName(peer):
		r.peerName = peer
	}
	f := strings.Fields(strings.ReplaceAll(m[5], `\`, " "))
	for i := 0; i+1 < len(f); i++ {
		switch v := f[i+1]; f[i] {
		case "master":
			if validNICName(v) {
				r.master = v
			}
		case "state":
			r.state = strings.ToLower(cleanInventoryText(v))
		default:
			if typ, ok := strings.CutPrefix(f[i], "link/"); ok {
				r.arpType = arpTypeOf(typ)
				if r.arpType == 772 {
					r.kind = "loopback"
				}
				r.mac = cleanInventoryText(v)
			}
		}
	}
	return r, true
}

// arpTypeOf maps ip's link type names to sysfs's numbers.
func arpTypeOf(name string) int {
	switch name {
	case "ether":
		return 1
	case "loopback":
		return 772
	case "none":
		return 65534
	case "ieee802.11":
		return 801
	case "sit":
		return 776
	case "gre":
		return 778
	case "ipip":
		return 768
	}
	return 0
}

// knownKind keeps an interface kind only if it is a plain word.
func knownKind(s string) string {
	s = strings.ToLower(s)
	if s == "" || len(s) > 32 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return ""
		}
	}
	return s
}

// engineList finishes the engines: container counts and listing errors.
func (ps *inventoryParse) engineList() []Engine {
	for _, rc := range ps.containers {
		es := ps.engine(rc.engine)
		if !es.seen[rc.c.ID] {
			es.seen[rc.c.ID] = true
			es.e.Containers++
		}
		if rc.as == "user" {
			es.userCnt++
		}
	}
	var out []Engine
	for _, es := range ps.engines {
		switch es.e.Name {
		case "docker":
			es.e.Rootless = es.listed["user"] && es.userRL
		default:
			// podman and nerdctl run by a user other than root are
			// rootless (short of a remote connection).
			es.e.Rootless = es.listed["user"]
		}
		if !es.listed["root"] && !es.listed["user"] {
			es.e.Error = cmp.Or(es.errs["root"], es.errs["user"])
		}
		out = append(out, es.e)
	}
	return out
}

// matchContainers puts each root-engine container on the VM's veth whose
// index its interface's iflink names, and whose own iflink names it back.
func (ps *inventoryParse) matchContainers(nics []NIC) {
	byIndex := map[int]int{}
	for i, n := range nics {
		byIndex[n.Index] = i
	}
	for _, rc := range ps.containers {
		if rc.as != "root" || rc.pid <= 0 {
			continue
		}
		if ns := ps.ctrNS[rc.pid]; ns != "" && ns == ps.hostNS {
			continue // --network host: the VM's own interfaces
		}
		for _, ci := range ps.ctrIfs[rc.pid] {
			i, ok := vmPeer(nics, byIndex, ci)
			if !ok {
				continue
			}
			if !slices.ContainsFunc(nics[i].Containers, func(c Container) bool { return c.ID == rc.c.ID }) {
				nics[i].Containers = append(nics[i].Containers, rc.c)
			}
			if nics[i].Kind == "virtual" || nics[i].Kind == "" {
				nics[i].Kind = "veth"
			}
		}
	}
}

// vmPeer is the index in nics of the VM's end of the container interface
// ci: the VM interface whose ifindex ci's iflink names, and whose own iflink
// (when it has one) names ci back.
func vmPeer(nics []NIC, byIndex map[int]int, ci containerIf) (int, bool) {
	if ci.iflink == 0 || ci.iflink == ci.index {
		return 0, false
	}
	i, ok := byIndex[ci.iflink]
	if !ok || (nics[i].PeerIndex != 0 && nics[i].PeerIndex != ci.index) {
		return 0, false
	}
	return i, true
}

// containerList is every container listed, once (an engine listed both as
// root and as the user, the Docker group's case, gives each container
// twice: the first listing counts), with what its namespace lines said.
// rootless says which came from the user's rootless engine: their
// interfaces' iflinks are indexes in another namespace than the VM's, so
// they are never matched to the VM's veths.
func (ps *inventoryParse) containerList(nics []NIC, rootless func(rawContainer) bool) []Container {
	byIndex := map[int]int{}
	for i, n := range nics {
		byIndex[n.Index] = i
	}
	type key struct {
		engine, id string
		rootless   bool
	}
	seen := map[key]bool{}
	var out []Container
	for _, rc := range ps.containers {
		c := rc.c
		c.Rootless = rootless(rc)
		k := key{c.Engine, c.ID, c.Rootless}
		if seen[k] {
			continue
		}
		seen[k] = true
		c.Compose, c.Pod, c.Network, c.PID = rc.compose, rc.pod, rc.network, rc.pid
		if c.Pod == "" && len(c.ID) >= 12 {
			c.Pod = ps.podNames[rc.engine+" "+rc.as+" "+c.ID[:12]]
		}
		if rc.pid > 0 {
			c.NetNS = ps.ctrNS[rc.pid]
			c.HostNetwork = c.NetNS != "" && c.NetNS == ps.hostNS
		}
		if c.NetNS == "" && c.Network == "host" && !c.Rootless {
			// Its namespace was out of reach (a Docker group user
			// without sudo), but a root engine's host network is the
			// VM's. (A rootless Docker's is rootlesskit's.)
			c.HostNetwork = true
		}
		if rc.pid > 0 && !c.HostNetwork {
			c.NICs = ps.containerNICs(rc.pid, nics, byIndex, !c.Rootless)
		}
		c.EngineAddrs = rc.engineAddrs
		// Without ip inside the namespace (no nsenter, no rights), a
		// container with one interface gets the engine's addresses.
		if len(c.NICs) == 1 && len(c.NICs[0].Addrs) == 0 && len(rc.engineAddrs) > 0 {
			c.NICs[0].Addrs = slices.Clone(rc.engineAddrs)
		}
		out = append(out, c)
	}
	return out
}

// containerNICs are the interfaces in the namespace of pid, loopback left
// out: those its sysfs (or ip link) listed, in that order, then those only
// its addresses name; withPeer: name the VM's end of each veth.
func (ps *inventoryParse) containerNICs(pid int, nics []NIC, byIndex map[int]int, withPeer bool) []ContainerNIC {
	var out []ContainerNIC
	at := map[string]int{}
	skip := map[string]bool{"lo": true}
	for _, ci := range ps.ctrIfs[pid] {
		if ci.loopback || skip[ci.name] {
			skip[ci.name] = true
			continue
		}
		n := ContainerNIC{Name: ci.name, Index: ci.index}
		if i, ok := vmPeer(nics, byIndex, ci); ok && withPeer {
			n.VMPeer = nics[i].Name
		}
		at[ci.name] = len(out)
		out = append(out, n)
	}
	for _, a := range ps.ctrAddrs[pid] {
		if skip[a.name] {
			continue
		}
		i, ok := at[a.name]
		if !ok {
			if p, err := netip.ParsePrefix(a.addr); err != nil || p.Addr().IsLoopback() || len(out) >= maxContainerNICs {
				continue
			}
			i = len(out)
			at[a.name] = i
			out = append(out, ContainerNIC{Name: a.name, Index: a.index})
		}
		if len(out[i].Addrs) < maxNICAddrs && !slices.Contains(out[i].Addrs, a.addr) {
			out[i].Addrs = append(out[i].Addrs, a.addr)
		}
	}
	return out
}

// notes are what the user should know about the engines.
func (ps *inventoryParse) notes(inv Inventory) []string {
	var notes []string
	rootless := false
	for _, e := range inv.Engines {
		if !e.Rootless {
			continue
		}
		rootless = true
		es := ps.engine(e.Name)
		if es.userCnt == 0 && es.listed["root"] {
			continue // a rootful engine is in use; the user's own is idle
		}
		n := "rootless " + engineTitle(e.Name) + ": "
		switch es.userCnt {
		case 0:
			n += "the containers it starts have their"
		case 1:
			n += "its running container has its"
		default:
			n += "its " + strconv.Itoa(es.userCnt) + " running containers have their"
		}
		notes = append(notes, n+" network outside the VM's namespace, with no interface of their own in the VM; their traffic to the outside passes the VM's interface")
	}
	if !rootless && (slices.Contains(ps.procs, "rootlesskit") || slices.ContainsFunc(ps.sockets, func(s string) bool {
		return strings.HasSuffix(s, "/containerd-rootless") || (strings.HasPrefix(s, "/run/user/") && strings.HasSuffix(s, "/docker.sock"))
	})) {
		notes = append(notes, "a rootless container engine runs (rootlesskit): its containers' network is outside the VM's namespace")
	}
	unmatched := 0
	for _, rc := range ps.containers {
		if rc.as == "user" && !ps.engine(rc.engine).e.Rootless && !inv.Privileged {
			unmatched++
		}
	}
	if unmatched > 0 {
		notes = append(notes, strconv.Itoa(unmatched)+" running containers are not matched to their interfaces: that needs root or passwordless sudo in the VM")
	}
	if inv.Partial {
		notes = append(notes, "the container engines did not answer in time: containers are not matched to their interfaces")
	}
	return notes
}

func engineTitle(name string) string {
	switch name {
	case "docker":
		return "Docker"
	case "podman":
		return "Podman"
	case "nerdctl":
		return "containerd (nerdctl)"
	}
	return name
}

// ipVersion shortens `ip -V`: "ip utility, iproute2-6.1.0, libbpf 1.1.2"
// → "iproute2 6.1.0"; "BusyBox v1.35.0 (...) multi-call binary." →
// "busybox 1.35.0".
func ipVersion(v string) string {
	if m := iproute2Version().FindStringSubmatch(v); m != nil {
		return "iproute2 " + cleanInventoryText(m[1])
	}
	if m := busyboxVersion().FindStringSubmatch(v); m != nil {
		return "busybox " + cleanInventoryText(m[1])
	}
	return cleanInventoryText(v)
}

var (
	iproute2Version = lazyre.New(`iproute2-([^\s,]+)`)
	busyboxVersion  = lazyre.New(`BusyBox v(\S+)`)
)

// validNICName accepts what Linux accepts as an interface name: 1-15 bytes,
// no whitespace, '/' or ':' (dev_valid_name), and nothing unprintable.
func validNICName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if r == '/' || r == ':' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// cleanInventoryText is s as one printable line of bounded length.
func cleanInventoryText(s string) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(s)
	if len(s) > maxInventoryText {
		s = s[:maxInventoryText]
		s = strings.ToValidUTF8(s, "")
	}
	return s
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return s != ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func appendBounded(list []string, v string) []string {
	if v == "" || len(list) >= 64 || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}
