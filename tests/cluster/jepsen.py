#!/usr/bin/env python3
"""A Jepsen-style check of a three-node Caseline cluster (docs/cluster.md).

Three hosts, each a network namespace joined to a bridge by a veth pair, each
running one etcd member and one caselined, each with its copy of one KEK
file (the clients' payloads are encrypted). Clients in the root namespace
(tests/cluster/cluster_workload.cc) append with exact and `any` expected
versions and retry identically when an answer is lost, while the demo care
network (`caseline demo`) is loaded through the care-record commands, and a
nemesis SIGKILLs caselined nodes (the sequencer first), SIGKILLs etcd members,
cuts hosts off the network (`ip link set ... down`) and makes asymmetric
partitions with tc filters: a node cut off its peers' channel but not etcd,
a node whose caselined reaches no etcd member, and a one-way cut from the
sequencer's host to another host. Afterwards everything is healed and the
checker requires: every acknowledged append present exactly once on every
node at the position it was acknowledged with, no refused append stored, the
same log and hash chain on every node, each chain verifying, the projections
of every node at the same head, and the same views (findings, caseloads,
measures, worklists, referral lists, client summaries and gaps) on every
node. Also: after the sequencer is killed, writes through the other nodes
succeed within 5 s; a node that reaches no etcd member acknowledges no write,
loses the sequencer role, and takes writes again after the heal.

Usage (root; ctest cluster_jepsen runs it):
  jepsen.py --build BUILD_DIR [--seconds 36] [--seed N] [--keep]
Prints one JSON line of figures; exits 0 when nothing was violated, 77 when
this machine cannot run it (not root, no network namespaces, no tc u32
classifier with the mirred action, or no ifb device), 1 otherwise. The work
directory keeps each host's etcd and caselined log, the clients' history,
nemesis.log (what was done when) and views-N.jsonl (each node's views).
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"

ETCD_CLIENT_PORT = 2379
PEER_PORT = 7001  # caselined's peer channel (--cluster_peer_listen)

# The demo's organisations (tools/demo/network.h). The demo acts as each of
# them, so the access file gives each the agency role.
DEMO_ORGS = [
    "org-mercy-general", "org-eastside-health", "org-harbor-behavioral",
    "org-new-dawn-recovery", "org-cityhome-housing", "org-metro-legal-aid",
    "org-county-court-parole", "org-state-corrections",
    "org-riverside-schools", "org-statewide-health-plan",
    "org-county-social-services", "org-homecare-partners",
    "org-community-action"]
DEMO_CLIENTS = 10  # synthetic clients a network, besides the scenarios
DEMO_DAY = "2026-01-05"  # the demo's default --base-date; views judged then


def views(demo_seed):
    """Read-only view commands compared across the nodes after the heal.
    Each prints JSON lines. Worklists, summaries and gaps take --at, so "now"
    does not enter them; caseloads count open cases and take no time.
    Synthetic clients are named s<seed>-c<index> (tools/demo)."""
    synthetic = f"s{demo_seed}-c00003"
    return [
        ["findings", "--status", "open,resolved,dismissed"],
        ["caseload"],
        ["measures", "--from", "2025-01-01", "--to", DEMO_DAY],
        ["worklist", "--org", "org-mercy-general", "--at", DEMO_DAY],
        ["worklist", "--org", "org-community-action", "--at", DEMO_DAY],
        ["referrals", "--org", "org-new-dawn-recovery", "--status",
         "requested,received,accepted,declined,on-hold,in-progress,completed,"
         "failed,cancelled"],
        ["summary", "--client", "scenario-stroke", "--at", DEMO_DAY],
        ["summary", "--client", "scenario-veteran", "--at", DEMO_DAY],
        ["summary", "--client", synthetic, "--at", DEMO_DAY],
        ["gaps", "--client", "scenario-veteran", "--at", DEMO_DAY],
        ["gaps", "--client", "scenario-reentry", "--at", DEMO_DAY],
    ]


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True,
                          text=True)


def tcp(port_field, port):
    """u32 matches for TCP with the given port ("sport" or "dport")."""
    return ["match", "ip", "protocol", "6", "0xff",
            "match", "ip", port_field, str(port), "0xffff"]


class Host:
    def __init__(self, tag, index, subnet, work):
        self.index = index
        self.name = f"node-{index}"
        self.ns = f"cj{tag}n{index}"
        self.veth = f"cj{tag}v{index}"
        self.ip = f"{subnet}.{10 + index}"
        self.work = work
        self.etcd = None
        self.node = None
        self.isolated = False

    @property
    def grpc(self):
        return f"{self.ip}:50051"

    def spawn(self, argv, log_name):
        log = open(os.path.join(self.work, log_name), "ab")
        return subprocess.Popen(["ip", "netns", "exec", self.ns] + argv,
                                stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)


class Cut:
    """One asymmetric partition: tc filters that drop what they match."""

    def __init__(self, kind, description):
        self.kind = kind
        self.description = description
        self.filters = []  # (namespace or None, device, hook)


class Cluster:
    # Packets a cut drops are redirected (tc's mirred action) to an ifb
    # device that is never set up, which drops them: this kernel has tc's u32
    # classifier and mirred action but no gact ("action drop"), and neither
    # nft nor iptables is installed.
    DROP = "cjdrop"  # the ifb device in each host's namespace

    def __init__(self, build, work, seed):
        self.build = build
        self.work = work
        self.tag = f"{os.getpid() % 10000}"
        self.subnet = f"10.{random.Random(seed).randint(64, 127)}.{os.getpid() % 250}"
        self.bridge = f"cj{self.tag}br"
        self.root_drop = f"cj{self.tag}dr"  # the ifb device in the root one
        self.hosts = [Host(self.tag, i, self.subnet, work) for i in (1, 2, 3)]
        self.cuts = []
        self.log = open(os.path.join(work, "nemesis.log"), "a")
        self.start = time.monotonic()

    def note(self, what):
        self.log.write(f"{time.monotonic() - self.start:7.2f} {what}\n")
        self.log.flush()

    # The network: a bridge in the root namespace (the clients' side) and a
    # namespace per host behind a veth pair. Every device a cut filters gets
    # its clsact qdisc now, so a cut only adds filters and a heal removes
    # them.
    def up(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        sh("ip", "link", "add", self.root_drop, "type", "ifb")
        for h in self.hosts:
            sh("ip", "netns", "add", h.ns)
            sh("ip", "link", "add", h.veth, "type", "veth", "peer", "name",
               "eth0", "netns", h.ns)
            sh("ip", "link", "set", h.veth, "master", self.bridge)
            sh("ip", "link", "set", h.veth, "up")
            sh("tc", "qdisc", "add", "dev", h.veth, "clsact")
            sh("ip", "-n", h.ns, "link", "set", "lo", "up")
            sh("ip", "-n", h.ns, "addr", "add", f"{h.ip}/24", "dev", "eth0")
            sh("ip", "-n", h.ns, "link", "set", "eth0", "up")
            sh("ip", "-n", h.ns, "link", "add", self.DROP, "type", "ifb")
            for dev in ("eth0", "lo"):
                sh("tc", "-n", h.ns, "qdisc", "add", "dev", dev, "clsact")

    def down(self):
        for h in self.hosts:
            for p in (h.node, h.etcd):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
            sh("ip", "netns", "del", h.ns, check=False)
            sh("ip", "link", "del", h.veth, check=False)
        sh("ip", "link", "del", self.root_drop, check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def endpoints(self):
        return ",".join(f"{h.ip}:{ETCD_CLIENT_PORT}" for h in self.hosts)

    def start_etcd(self, h):
        initial = ",".join(f"e{x.index}=http://{x.ip}:2380" for x in self.hosts)
        h.etcd = h.spawn([
            ETCD, "--name", f"e{h.index}",
            "--data-dir", os.path.join(self.work, f"etcd-{h.index}"),
            "--listen-client-urls", f"http://{h.ip}:{ETCD_CLIENT_PORT}",
            "--advertise-client-urls", f"http://{h.ip}:{ETCD_CLIENT_PORT}",
            "--listen-peer-urls", f"http://{h.ip}:2380",
            "--initial-advertise-peer-urls", f"http://{h.ip}:2380",
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--initial-cluster-token", "caseline-jepsen",
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--pre-vote"],
            f"etcd-{h.index}.log")
        self.note(f"start etcd e{h.index}")

    def node_kek(self, h):
        """h's copy of the cluster's one KEK file (docs/cluster.md
        "Encryption"), made once and copied to every node, so that the
        clients' payloads are encrypted and every node reads them."""
        shared = os.path.join(self.work, "cluster.kek")
        if not os.path.exists(shared):
            with open(os.open(shared, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                              0o600), "wb") as f:
                f.write(os.urandom(32))
        path = os.path.join(self.work, f"node-{h.index}.kek")
        if not os.path.exists(path):
            shutil.copyfile(shared, path)
            os.chmod(path, 0o600)
        return path

    def start_node(self, h):
        h.node = h.spawn([
            os.path.join(self.build, "server", "caselined"),
            "--data_dir", os.path.join(self.work, f"node-{h.index}"),
            "--kek_file", self.node_kek(h),
            "--listen", h.grpc, "--insecure_non_loopback",
            "--access_config", os.path.join(self.work, "access.json"),
            "--cluster_etcd", self.endpoints(),
            "--cluster_node_id", h.name,
            "--cluster_peer_listen", f"{h.ip}:{PEER_PORT}"],
            f"node-{h.index}.log")
        self.note(f"start {h.name}")

    def kill(self, proc, what):
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self.note(f"SIGKILL {what}")

    def isolate(self, h, cut):
        sh("ip", "link", "set", h.veth, "down" if cut else "up")
        h.isolated = cut
        self.note(f"{'cut off' if cut else 'reconnect'} host of {h.name}")

    # Asymmetric partitions.
    def _drop(self, cut, ns, dev, hook, matches):
        prefix = ["tc", "-n", ns] if ns else ["tc"]
        sh(*prefix, "filter", "add", "dev", dev, hook, "protocol", "ip",
           "prio", "1", "u32", *matches, "action", "mirred", "egress",
           "redirect", "dev", self.DROP if ns else self.root_drop)
        cut.filters.append((ns, dev, hook))

    def cut_peer_channel(self, h):
        """h's caselined and its peers' exchange nothing on the peer channel
        (forwarded appends, backups), in either direction; etcd (2379, 2380)
        and the clients (50051) still reach h, and h reaches them."""
        cut = Cut("peer_channel", f"{h.name} off its peers' channel")
        for hook in ("egress", "ingress"):
            for field in ("dport", "sport"):
                self._drop(cut, h.ns, "eth0", hook, tcp(field, PEER_PORT))
        return self._applied(cut)

    def cut_etcd_client(self, h):
        """h's caselined and every etcd member's client port (2379) exchange
        nothing, in either direction: on eth0, what leaves for port 2379
        (the other members) and what comes in from it; on lo, both
        directions of h's own member, which h reaches at the namespace's own
        address. (Dropping only what h sends is not enough: an established
        watch keeps delivering the member's events to h, which then applies
        groups it cannot acknowledge to etcd.) The other nodes still reach
        h's member (their packets come in to port 2379, its answers leave
        from it), the members still talk on 2380, and peers and clients
        still reach h. The one other user of port 2379 on h's lo is h's
        member's own HTTP gateway, which serves none of the gRPC API the
        nodes use."""
        cut = Cut("etcd_client", f"{h.name} off every etcd member")
        self._drop(cut, h.ns, "eth0", "egress", tcp("dport", ETCD_CLIENT_PORT))
        self._drop(cut, h.ns, "eth0", "ingress", tcp("sport", ETCD_CLIENT_PORT))
        self._drop(cut, h.ns, "lo", "egress", tcp("dport", ETCD_CLIENT_PORT))
        self._drop(cut, h.ns, "lo", "egress", tcp("sport", ETCD_CLIENT_PORT))
        return self._applied(cut)

    def cut_one_way(self, src, dst):
        """Every packet from src's host to dst's host is dropped as it enters
        the bridge (ingress of src's veth, root side); dst to src is
        delivered."""
        cut = Cut("one_way", f"{src.name} -> {dst.name} dropped")
        self._drop(cut, None, src.veth, "ingress",
                   ["match", "ip", "dst", f"{dst.ip}/32"])
        return self._applied(cut)

    def _applied(self, cut):
        self.cuts.append(cut)
        self.note(f"cut: {cut.description}")
        return cut

    def dropped(self, cut):
        """Packets the cut's filters dropped so far."""
        total = 0
        for ns, dev, hook in cut.filters:
            prefix = ["tc", "-n", ns] if ns else ["tc"]
            out = sh(*prefix, "-s", "filter", "show", "dev", dev, hook,
                     check=False).stdout
            total += sum(int(n) for n in re.findall(r"Sent \d+ bytes (\d+) pkt",
                                                    out))
        return total

    def heal(self, cut):
        """Removes the cut's filters; answers the packets they dropped."""
        dropped = self.dropped(cut)
        for ns, dev, hook in set(cut.filters):
            prefix = ["tc", "-n", ns] if ns else ["tc"]
            sh(*prefix, "filter", "del", "dev", dev, hook, "prio", "1",
               check=False)
        self.cuts.remove(cut)
        self.note(f"heal: {cut.description} ({dropped} packets dropped)")
        return dropped

    def sequencer(self):
        """The node index etcd names as sequencer, or None."""
        for _ in range(50):
            r = subprocess.run(
                [ETCDCTL, "--endpoints", self.endpoints(),
                 "--command-timeout", "1s", "get",
                 "/caseline/caseline/sequencer", "--print-value-only"],
                capture_output=True, text=True,
                env=dict(os.environ, ETCDCTL_API="3"))
            value = r.stdout.strip()
            if r.returncode == 0 and value.startswith("node-"):
                return int(value.split()[0][len("node-"):])
            time.sleep(0.1)
        return None

    def workload(self, *args):
        return ([os.path.join(self.build, "tests", "cluster_workload")] +
                list(args) + ["--org", "jepsen-ops"])

    def cli(self, h, *args, timeout=30):
        return [os.path.join(self.build, "tools", "caseline"),
                "--server", h.grpc, "--timeout", str(timeout)] + list(args)

    def holds_probe(self, h, position):
        """Whether h's own log holds the probe acknowledged at `position`
        (read from h alone: a node answers an append forwarded for it only
        once it has applied it, docs/cluster.md guarantee 5)."""
        r = subprocess.run(
            self.cli(h, "--as-org", "jepsen-ops", "read-stream", "--stream",
                     "jepsen-probe", timeout=5),
            capture_output=True, text=True, timeout=30)
        positions = set()
        for line in r.stdout.splitlines():
            try:
                positions.add(int(json.loads(line).get("global_position", 0)))
            except ValueError:
                pass
        return position in positions

    def evidence(self, h, name, lines):
        """Writes what h's namespace shows of its TCP connections, with
        `lines`, to `name` in the work directory."""
        ss = sh("ip", "netns", "exec", h.ns, "ss", "-tnpi", check=False)
        with open(os.path.join(self.work, name), "w") as f:
            f.write("\n".join(lines) + "\n\n" + ss.stdout)

    def nodes(self, hosts=None):
        return ",".join(h.grpc for h in (hosts or self.hosts))


class DemoLoader:
    """Keeps care-record commands flowing while the nemesis runs: `caseline
    demo` through one node after another. A run a fault stops is started
    again from the beginning at the next node (the demo is idempotent: a
    command already applied is answered so, by its command id); once a run
    completes, the next one loads the network of the next seed (new
    synthetic clients; the organisations and scenario clients are already
    there). Every node's views are later compared over all of it."""

    def __init__(self, cluster, seed):
        self.cluster = cluster
        self.first_seed = seed
        self.seed = seed  # the network being loaded
        self.runs = 0
        self.stopped_runs = 0
        self.completed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def argv(self, h, call_timeout):
        return self.cluster.cli(
            h, "demo", "--clients", str(DEMO_CLIENTS), "--seed",
            str(self.seed), "--concurrency", "2", timeout=call_timeout)

    def _run(self):
        at = self.seed % 3
        while not self.stop.is_set():
            h = self.cluster.hosts[at % 3]
            at += 1
            self.runs += 1
            what = f"demo run {self.runs} (seed {self.seed}) through {h.name}"
            self.cluster.note(what)
            proc = subprocess.Popen(self.argv(h, 5), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            # A run still going when the nemesis ends is stopped; finish()
            # completes its network.
            deadline = time.monotonic() + 60
            while True:
                try:
                    _, err = proc.communicate(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    if self.stop.is_set() or time.monotonic() > deadline:
                        proc.kill()
                        _, err = proc.communicate()
                        break
            if proc.returncode == 0:
                self.completed += 1
                self.cluster.note(f"{what}: completed")
                self.seed += 1
                continue
            self.stopped_runs += 1
            self.cluster.note(f"{what}: stopped: {err.strip()[-200:]}")
            self.stop.wait(0.5)

    def finish(self, deadline_s=60):
        """After the heal: the network being loaded, completed through the
        sequencer's node (retried until deadline_s); answers its summary."""
        self.stop.set()
        self.thread.join(timeout=15)
        end = time.monotonic() + deadline_s
        while True:
            s = self.cluster.sequencer()
            h = self.cluster.hosts[(s or 1) - 1]
            r = subprocess.run(self.argv(h, 10), capture_output=True,
                               text=True, timeout=120)
            if r.returncode == 0:
                self.cluster.note(f"demo (seed {self.seed}) completed after "
                                  f"the heal through {h.name}")
                return json.loads(r.stdout.strip().splitlines()[-1])
            if time.monotonic() > end:
                raise RuntimeError(f"the demo does not complete after the "
                                   f"heal: {r.stderr.strip()[-500:]}")
            time.sleep(1)


def without_view_position(value):
    """`view_position` is the log position a node had applied when it
    answered. Every view read by an auditor appends access records
    (docs/access.md), so the head moves between the reads at different
    nodes, and this field legitimately differs; nothing else may."""
    if isinstance(value, dict):
        return {k: without_view_position(v) for k, v in value.items()
                if k != "view_position"}
    if isinstance(value, list):
        return [without_view_position(v) for v in value]
    return value


def compare_views(cluster, queries, head):
    """Every node's answer to each of `queries`, read once it has applied
    `head`; answers the list of differences. The raw answers go to
    views-N.jsonl in the work directory."""
    problems = []
    answers = {}
    for h in cluster.hosts:
        out = open(os.path.join(cluster.work, f"views-{h.index}.jsonl"), "w")
        for view in queries:
            r = subprocess.run(
                cluster.cli(h, "--as-org", "jepsen-ops", *view,
                            "--min-position", str(head)),
                capture_output=True, text=True, timeout=60)
            key = " ".join(view)
            out.write(f"# {key}: exit {r.returncode}\n{r.stdout}")
            if r.returncode != 0:
                problems.append(f"{h.name}: `{key}` failed: "
                                f"{r.stderr.strip()[-300:]}")
                continue
            lines = [l for l in r.stdout.splitlines() if l.strip()]
            answers.setdefault(key, {})[h.index] = [
                without_view_position(json.loads(l)) for l in lines]
        out.close()
    for key, by_node in answers.items():
        first = by_node.get(1)
        for index, answer in by_node.items():
            if first is not None and answer != first:
                problems.append(f"node-{index}'s `{key}` differs from "
                                f"node-1's ({len(answer)} and {len(first)} "
                                f"lines)")
        if all(not a for a in by_node.values()):
            problems.append(f"`{key}` is empty on every node")
    return problems


def missing_capability():
    """Why this machine cannot run the check (None: it can): it needs root,
    network namespaces, and tc's u32 classifier with the mirred action and
    an ifb device (the cuts)."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"needs `{tool}` (iproute2)"
    name = f"cjprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name],
                      capture_output=True).returncode != 0:
        return "cannot make network namespaces (`ip netns add`)"
    try:
        for argv, what in (
                (["ip", "-n", name, "link", "add", Cluster.DROP, "type",
                  "ifb"], "an ifb device"),
                (["tc", "-n", name, "qdisc", "add", "dev", "lo", "clsact"],
                 "tc's clsact qdisc"),
                (["tc", "-n", name, "filter", "add", "dev", "lo", "egress",
                  "protocol", "ip", "prio", "1", "u32"] + tcp("dport", 9) +
                 ["action", "mirred", "egress", "redirect", "dev",
                  Cluster.DROP], "tc's u32 classifier and mirred action")):
            if subprocess.run(argv, capture_output=True).returncode != 0:
                return f"the kernel offers no {what}"
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--seconds", type=int, default=36)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (logs, data)")
    args = parser.parse_args()
    missing = missing_capability()
    if missing is not None:
        print(f"cluster_jepsen: {missing}; skipped")
        return 77
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="caseline-jepsen-")
    cluster = Cluster(os.path.abspath(args.build), work, args.seed)
    figures = {"seed": args.seed, "kills": 0, "etcd_kills": 0,
               "partitions": 0, "asymmetric_partitions": 0,
               "partitions_by_kind": {"host": 0, "peer_channel": 0,
                                      "etcd_client": 0, "one_way": 0},
               "cut_packets_dropped": {}}
    failures = []
    started = time.monotonic()
    try:
        organizations = {org: ["agency"] for org in DEMO_ORGS}
        organizations["jepsen-ops"] = ["admin", "auditor"]
        with open(os.path.join(work, "access.json"), "w") as f:
            json.dump({"organizations": organizations}, f)
        cluster.up()
        for h in cluster.hosts:
            cluster.start_etcd(h)
        time.sleep(1.0)
        for h in cluster.hosts:
            cluster.start_node(h)
        history = os.path.join(work, "history.jsonl")
        # Wait for a sequencer, then start the clients and the demo.
        if cluster.sequencer() is None:
            raise RuntimeError("no sequencer was elected")
        probe = subprocess.run(cluster.workload(
            "probe", "--nodes", cluster.nodes(), "--history", "/dev/null"),
            capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            raise RuntimeError(f"the cluster takes no writes: {probe.stdout}")
        clients = subprocess.Popen(cluster.workload(
            "run", "--nodes", cluster.nodes(), "--seconds", str(args.seconds),
            "--clients", "6", "--streams", "8", "--history", history),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        clients_started = time.monotonic()
        demo = DemoLoader(cluster, args.seed % 1000 + 1)
        demo.thread.start()
        # The schedule below is 11 pauses of one step and 4 cuts (the etcd
        # cut at least 5 s), plus the probes (about 2 s after the
        # sequencer's kill, well under 1 s after the etcd cut's heal): with
        # --seconds 36, 1.4 s steps and 4 s cuts, about 35 s, within the
        # clients' run. A cut lasts at least twice the lease TTL (2 s), so
        # that another node takes over and works for a while before the heal.
        step = args.seconds / 26.0
        cut_for = max(2 * step, 4.0)

        def partitioned(kind, asymmetric=True):
            figures["partitions"] += 1
            figures["partitions_by_kind"][kind] += 1
            if asymmetric:
                figures["asymmetric_partitions"] += 1

        def healed(cut):
            dropped = cluster.heal(cut)
            figures["cut_packets_dropped"][cut.kind] = dropped
            if dropped == 0:
                failures.append(f"the cut `{cut.description}` dropped no "
                                f"packet: the harness's filter is wrong")

        # 1. SIGKILL the sequencer; writes through the others within 5 s.
        time.sleep(step)
        s = cluster.sequencer()
        victim = cluster.hosts[(s or 1) - 1]
        cluster.kill(victim.node, f"{victim.name} (the sequencer)")
        figures["kills"] += 1
        others = [h for h in cluster.hosts if h is not victim]
        probe = subprocess.run(cluster.workload(
            "probe", "--nodes", cluster.nodes(others), "--history", "/dev/null"),
            capture_output=True, text=True, timeout=60)
        failover = json.loads(probe.stdout or "{}").get("ms")
        figures["failover_ms"] = failover
        if probe.returncode != 0 or failover is None or failover > 5000:
            failures.append(f"writes did not resume within 5 s of killing "
                            f"the sequencer: {probe.stdout.strip()}")
        time.sleep(step)
        cluster.start_node(victim)

        # 2. Cut the (new) sequencer's host off the network, then heal.
        time.sleep(step)
        s = cluster.sequencer()
        victim = cluster.hosts[(s or 1) - 1]
        cluster.isolate(victim, True)
        partitioned("host", asymmetric=False)
        time.sleep(cut_for)
        cluster.isolate(victim, False)

        # 3. SIGKILL an etcd member, then restart it.
        time.sleep(step)
        member = rng.choice(cluster.hosts)
        cluster.kill(member.etcd, f"etcd e{member.index}")
        figures["etcd_kills"] += 1
        time.sleep(step)
        cluster.start_etcd(member)

        # 4. Cut a follower's host off, and SIGKILL a random node meanwhile.
        time.sleep(step)
        s = cluster.sequencer()
        follower = rng.choice([h for h in cluster.hosts if h.index != s])
        cluster.isolate(follower, True)
        partitioned("host", asymmetric=False)
        time.sleep(step)
        victim = rng.choice(cluster.hosts)
        cluster.kill(victim.node, victim.name)
        figures["kills"] += 1
        time.sleep(step)
        cluster.isolate(follower, False)
        cluster.start_node(victim)

        # 5. A random node off its peers' channel, etcd still reachable:
        # appends forwarded from it (a follower) or to it (the sequencer)
        # get no answer, and the clients retry them at other nodes.
        time.sleep(step)
        s = cluster.sequencer()
        target = rng.choice(cluster.hosts)
        role = "sequencer" if target.index == s else "follower"
        figures["peer_channel_cut"] = f"{target.name} ({role})"
        cut = cluster.cut_peer_channel(target)
        partitioned("peer_channel")
        time.sleep(cut_for)
        healed(cut)

        # 6. The sequencer's caselined off every etcd member, its peers and
        # clients still reaching it. It must acknowledge nothing (it can
        # neither commit nor apply), lose the sequencer key when its lease
        # expires, and take writes again after the heal.
        time.sleep(step)
        s = cluster.sequencer()
        target = cluster.hosts[(s or 1) - 1]
        cut = cluster.cut_etcd_client(target)
        partitioned("etcd_client")
        cut_at = time.monotonic()
        lone = subprocess.Popen(cluster.workload(
            "probe", "--nodes", target.grpc, "--history", "/dev/null"),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        moved_ms = None
        cut_until = cut_at + max(cut_for, 5.0)
        while time.monotonic() < cut_until:
            now = cluster.sequencer()
            if moved_ms is None and now is not None and now != target.index:
                moved_ms = int((time.monotonic() - cut_at) * 1000)
            time.sleep(0.1)
        try:
            out, _ = lone.communicate(timeout=0.1)
            acknowledged = lone.returncode == 0
        except subprocess.TimeoutExpired:
            lone.kill()
            out, _ = lone.communicate()
            acknowledged = False
        figures["etcd_cut"] = target.name
        figures["etcd_cut_sequencer_moved_ms"] = moved_ms
        if acknowledged:
            position = json.loads(out or "{}").get("position", 0)
            held = cluster.holds_probe(target, position)
            cluster.evidence(target, "etcd-cut-evidence.txt", [
                f"probe answer: {out.strip()}",
                f"{target.name} holds position {position}: {held}",
                f"dropped so far: {cluster.dropped(cut)}"])
            failures.append(f"{target.name} acknowledged a write while it "
                            f"reached no etcd member: {out.strip()} (held "
                            f"there when checked: {held})")
        if s is not None and moved_ms is None:
            failures.append(f"{target.name} still held the sequencer key "
                            f"{cut_until - cut_at:.1f} s after it lost etcd")
        healed(cut)
        rejoin = subprocess.run(cluster.workload(
            "probe", "--nodes", target.grpc, "--history", "/dev/null"),
            capture_output=True, text=True, timeout=60)
        figures["etcd_cut_rejoin_ms"] = json.loads(
            rejoin.stdout or "{}").get("ms")
        if rejoin.returncode != 0:
            failures.append(f"{target.name} took no write within 30 s of "
                            f"reaching etcd again: {rejoin.stdout.strip()}")
        elif not cluster.holds_probe(
                target, json.loads(rejoin.stdout).get("position", 0)):
            failures.append(f"{target.name} acknowledged a write it does not "
                            f"hold: {rejoin.stdout.strip()}")

        # 7. One way: the sequencer's host's packets to another host are
        # dropped, that host's packets to it delivered.
        time.sleep(step)
        s = cluster.sequencer()
        src = cluster.hosts[(s or 1) - 1]
        dst = rng.choice([h for h in cluster.hosts if h is not src])
        figures["one_way_cut"] = f"{src.name} -> {dst.name}"
        cut = cluster.cut_one_way(src, dst)
        partitioned("one_way")
        time.sleep(cut_for)
        healed(cut)
        # From the clients' start to the last heal.
        figures["nemesis_s"] = round(time.monotonic() - clients_started, 1)

        out, _ = clients.communicate(timeout=args.seconds + 60)
        if clients.returncode != 0:
            failures.append(f"the clients failed: {out.strip()[-2000:]}")
        # Healed: every host reachable, every filter gone, every process
        # running.
        for cut in list(cluster.cuts):
            healed(cut)
        for h in cluster.hosts:
            if h.isolated:
                cluster.isolate(h, False)
            if h.etcd.poll() is not None:
                cluster.start_etcd(h)
            if h.node.poll() is not None:
                cluster.start_node(h)
        summary = demo.finish()
        figures["demo_networks"] = demo.seed - demo.first_seed + 1
        figures["demo_runs"] = demo.runs
        figures["demo_runs_stopped"] = demo.stopped_runs
        figures["demo_commands_after_heal"] = summary.get("commands")
        figures["demo_written_after_heal"] = summary.get("events_written")
        check = subprocess.run(cluster.workload(
            "check", "--nodes", cluster.nodes(), "--history", history),
            capture_output=True, text=True, timeout=180)
        try:
            result = json.loads(check.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            result = {"problems": [check.stdout + check.stderr]}
        figures.update(result)
        if check.returncode != 0:
            failures.append("the checker found violations")
        # The check saw every node's projections at the same head: the
        # views read there must be the same on every node.
        queries = views(demo.first_seed)
        view_problems = compare_views(cluster, queries, result.get("head", 0))
        figures["views_compared"] = len(queries)
        figures["views_identical"] = not view_problems
        figures["view_problems"] = view_problems
        if view_problems:
            failures.append("the nodes' views differ")
    except Exception as e:  # a broken harness fails the test, loudly
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        cluster.down()
        figures["seconds"] = round(time.monotonic() - started, 1)
        figures["failures"] = failures
        figures["work"] = work if (failures or args.keep) else None
        print(json.dumps(figures))
        if not failures and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
