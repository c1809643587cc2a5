#!/usr/bin/env python3
"""A Jepsen-style check of a three-node Caseline cluster (docs/cluster.md).

Three hosts, each a network namespace joined to a bridge by a veth pair, each
running one etcd member and one caselined. Clients in the root namespace
(tests/cluster/cluster_workload.cc) append with exact and `any` expected
versions and retry identically when an answer is lost, while a nemesis
SIGKILLs caselined nodes (the sequencer first), SIGKILLs etcd members and cuts
hosts off the network (`ip link set ... down`). Afterwards everything is
healed and the checker requires: every acknowledged append present exactly
once on every node at the position it was acknowledged with, no refused
append stored, the same log and hash chain on every node, each chain
verifying, and the projections of every node at the same head. Also: after
the sequencer is killed, writes through the other nodes succeed within 5 s.

Usage (root; ctest cluster_jepsen runs it):
  jepsen.py --build BUILD_DIR [--seconds 36] [--keep]
Prints one JSON line of figures; exits 0 when nothing was violated, 77 when
network namespaces cannot be made here (not root), 1 otherwise.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True,
                          text=True)


class Host:
    def __init__(self, tag, index, subnet, work):
        self.index = index
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


class Cluster:
    def __init__(self, build, work, seed):
        self.build = build
        self.work = work
        self.tag = f"{os.getpid() % 10000}"
        self.subnet = f"10.{random.Random(seed).randint(64, 127)}.{os.getpid() % 250}"
        self.bridge = f"cj{self.tag}br"
        self.hosts = [Host(self.tag, i, self.subnet, work) for i in (1, 2, 3)]

    # The network: a bridge in the root namespace (the clients' side) and a
    # namespace per host behind a veth pair.
    def up(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for h in self.hosts:
            sh("ip", "netns", "add", h.ns)
            sh("ip", "link", "add", h.veth, "type", "veth", "peer", "name",
               "eth0", "netns", h.ns)
            sh("ip", "link", "set", h.veth, "master", self.bridge)
            sh("ip", "link", "set", h.veth, "up")
            sh("ip", "netns", "exec", h.ns, "ip", "link", "set", "lo", "up")
            sh("ip", "netns", "exec", h.ns, "ip", "addr", "add",
               f"{h.ip}/24", "dev", "eth0")
            sh("ip", "netns", "exec", h.ns, "ip", "link", "set", "eth0", "up")

    def down(self):
        for h in self.hosts:
            for p in (h.node, h.etcd):
                if p is not None and p.poll() is None:
                    p.kill()
                    p.wait()
            sh("ip", "netns", "del", h.ns, check=False)
            sh("ip", "link", "del", h.veth, check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def endpoints(self):
        return ",".join(f"{h.ip}:2379" for h in self.hosts)

    def start_etcd(self, h):
        initial = ",".join(f"e{x.index}=http://{x.ip}:2380" for x in self.hosts)
        h.etcd = h.spawn([
            ETCD, "--name", f"e{h.index}",
            "--data-dir", os.path.join(self.work, f"etcd-{h.index}"),
            "--listen-client-urls", f"http://{h.ip}:2379",
            "--advertise-client-urls", f"http://{h.ip}:2379",
            "--listen-peer-urls", f"http://{h.ip}:2380",
            "--initial-advertise-peer-urls", f"http://{h.ip}:2380",
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--initial-cluster-token", "caseline-jepsen",
            "--heartbeat-interval", "50", "--election-timeout", "500"],
            f"etcd-{h.index}.log")

    def start_node(self, h):
        h.node = h.spawn([
            os.path.join(self.build, "server", "caselined"),
            "--data_dir", os.path.join(self.work, f"node-{h.index}"),
            "--listen", h.grpc, "--insecure_non_loopback",
            "--access_config", os.path.join(self.work, "access.json"),
            "--cluster_etcd", self.endpoints(),
            "--cluster_node_id", f"node-{h.index}",
            "--cluster_peer_listen", f"{h.ip}:7001"],
            f"node-{h.index}.log")

    def kill(self, proc):
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def isolate(self, h, cut):
        sh("ip", "link", "set", h.veth, "down" if cut else "up")
        h.isolated = cut

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

    def nodes(self, hosts=None):
        return ",".join(h.grpc for h in (hosts or self.hosts))


def can_make_namespaces():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"cjprobe{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name],
                        capture_output=True).returncode == 0
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--seconds", type=int, default=36)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (logs, data)")
    args = parser.parse_args()
    if not can_make_namespaces():
        print("cluster_jepsen: needs root and `ip netns` (iproute2); skipped")
        return 77
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="caseline-jepsen-")
    cluster = Cluster(os.path.abspath(args.build), work, args.seed)
    figures = {"seed": args.seed, "kills": 0, "etcd_kills": 0,
               "partitions": 0}
    failures = []
    try:
        with open(os.path.join(work, "access.json"), "w") as f:
            json.dump({"organizations": {"jepsen-ops": ["admin", "auditor"]}},
                      f)
        cluster.up()
        for h in cluster.hosts:
            cluster.start_etcd(h)
        time.sleep(1.0)
        for h in cluster.hosts:
            cluster.start_node(h)
        history = os.path.join(work, "history.jsonl")
        # Wait for a sequencer, then start the clients.
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
        step = args.seconds / 12.0

        # 1. SIGKILL the sequencer; writes through the others within 5 s.
        time.sleep(step)
        s = cluster.sequencer()
        victim = cluster.hosts[s - 1]
        cluster.kill(victim.node)
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
        figures["partitions"] += 1
        time.sleep(2 * step)
        cluster.isolate(victim, False)

        # 3. SIGKILL an etcd member, then restart it.
        time.sleep(step)
        member = rng.choice(cluster.hosts)
        cluster.kill(member.etcd)
        figures["etcd_kills"] += 1
        time.sleep(step)
        cluster.start_etcd(member)

        # 4. Cut a follower's host off, and SIGKILL a random node meanwhile.
        time.sleep(step)
        s = cluster.sequencer()
        follower = rng.choice([h for h in cluster.hosts if h.index != s])
        cluster.isolate(follower, True)
        figures["partitions"] += 1
        time.sleep(step)
        victim = rng.choice(cluster.hosts)
        cluster.kill(victim.node)
        figures["kills"] += 1
        time.sleep(step)
        cluster.isolate(follower, False)
        cluster.start_node(victim)

        out, _ = clients.communicate(timeout=args.seconds + 60)
        if clients.returncode != 0:
            failures.append(f"the clients failed: {out.strip()[-2000:]}")
        # Healed: every host reachable, every process running.
        for h in cluster.hosts:
            if h.isolated:
                cluster.isolate(h, False)
            if h.etcd.poll() is not None:
                cluster.start_etcd(h)
            if h.node.poll() is not None:
                cluster.start_node(h)
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
    except Exception as e:  # a broken harness fails the test, loudly
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        cluster.down()
        figures["failures"] = failures
        figures["work"] = work if (failures or args.keep) else None
        print(json.dumps(figures))
        if not failures and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
